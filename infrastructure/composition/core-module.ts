import { randomUUID } from 'node:crypto';
import { ContainerModule } from 'inversify';
import { Clock } from '../../application/ports/clock.js';
import { HostedService } from '../../application/ports/hosted-service.js';
import { Logger } from '../../application/ports/logger.js';
import { Metrics } from '../../application/ports/metrics.js';
import { SystemClock } from '../../adapters/clock/system-clock.js';
import { MetricsHttpServer } from '../../adapters/metrics/metrics-http-server.js';
import { PrometheusMetrics, PrometheusMetricsOptions } from '../../adapters/metrics/prometheus-metrics.js';
import type { EdgeportConfig } from '../config/load-config.js';

/**
 * Clock, logging and metrics: what every other part depends on. Every series carries Azure IoT
 * Edge's common labels (`iothub`, `edge_device`, `instance_number`: a new GUID each start).
 */
export function coreModule(config: EdgeportConfig, logger: Logger, metrics: { processModuleName?: string } = {}): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(Logger).toConstantValue(logger);
    bind(Clock).to(SystemClock).inSingletonScope();
    bind(PrometheusMetricsOptions).toConstantValue(
      new PrometheusMetricsOptions({ iothub: config.iotHubHostname, edge_device: config.deviceId, instance_number: randomUUID() }, metrics.processModuleName),
    );
    bind(PrometheusMetrics).toSelf().inSingletonScope();
    bind(Metrics).toService(PrometheusMetrics);
    if (config.metrics.enabled) {
      bind(HostedService)
        .toDynamicValue((context) => new MetricsHttpServer(context.get(PrometheusMetrics), { host: config.metrics.host, port: config.metrics.port, setting: 'metrics.port' }))
        .inSingletonScope();
    }
  });
}
