import { ContainerModule } from 'inversify';
import { Clock } from '../../application/ports/clock.js';
import { HostedService } from '../../application/ports/hosted-service.js';
import { Logger } from '../../application/ports/logger.js';
import { Metrics } from '../../application/ports/metrics.js';
import { SystemClock } from '../../adapters/clock/system-clock.js';
import { MetricsHttpServer } from '../../adapters/metrics/metrics-http-server.js';
import { PrometheusMetrics } from '../../adapters/metrics/prometheus-metrics.js';
import type { EdgeportConfig } from '../config/load-config.js';

/** Clock, logging and metrics: what every other part depends on. */
export function coreModule(config: EdgeportConfig, logger: Logger): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(Logger).toConstantValue(logger);
    bind(Clock).to(SystemClock).inSingletonScope();
    bind(PrometheusMetrics).toSelf().inSingletonScope();
    bind(Metrics).toService(PrometheusMetrics);
    if (config.metrics.enabled) {
      bind(HostedService)
        .toDynamicValue((context) => new MetricsHttpServer(context.get(PrometheusMetrics), { host: config.metrics.host, port: config.metrics.port, setting: 'metrics.port' }))
        .inSingletonScope();
    }
  });
}
