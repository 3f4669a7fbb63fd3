import 'reflect-metadata';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Container } from 'inversify';
import type { RouteSpec } from '../../../domain/routing/index.js';
import { Clock } from '../../../application/ports/clock.js';
import { HostedService, ListenError } from '../../../application/ports/hosted-service.js';
import { Logger } from '../../../application/ports/logger.js';
import { Metrics } from '../../../application/ports/metrics.js';
import { RouteConfig } from '../../../application/hub/route-config.js';
import { SystemClock } from '../../../adapters/clock/system-clock.js';
import { InMemoryMetrics } from '../in-memory-metrics.js';
import { ensureEdgeCertificates } from '../../../infrastructure/certs/edge-certificates.js';
import { deploymentModule } from '../../../infrastructure/composition/deployment-module.js';
import { agentHubModule } from '../../../infrastructure/composition/agent-hub-module.js';
import { agentModule } from '../../../infrastructure/composition/agent-module.js';
import { hubModule } from '../../../infrastructure/composition/hub-module.js';
import { managementModule } from '../../../infrastructure/composition/management-module.js';
import { runtimeSockets } from '../../../infrastructure/runtime-sockets.js';
import { storageModule } from '../../../infrastructure/composition/storage-module.js';
import { secretsModule } from '../../../infrastructure/composition/secrets-module.js';
import { MemoryLogger } from '../agent/memory-logger.js';
import { freePort } from '../free-port.js';

export const IOT_HUB = 'edgeport-test.azure-devices.net';
export const EDGE_DEVICE = 'edge1';

export interface RuntimeOptions {
  /** `$edgeAgent` modules of the manifest. */
  modules: Record<string, unknown>;
  /** Start the MQTT hub (TLS on a free port) too. */
  hub?: boolean;
  routes?: Record<string, RouteSpec>;
  /** managementModule's opt-in `legacyConnectionString` (EdgeHubConnectionString injection). */
  legacyConnectionString?: boolean;
}

export interface TestRuntime {
  readonly container: Container;
  readonly dir: string;
  readonly manifestPath: string;
  readonly sockets: { workload: string; management: string };
  /** MQTT TLS port (0 without hub). */
  readonly port: number;
  readonly ca: string;
  readonly logger: MemoryLogger;
  get<T>(token: abstract new (...args: never[]) => T): T;
  /** Stops the runtime's services and keeps its data dir (what a stopped runtime leaves on disk). */
  stop(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The runtime as `edgeport run` composes it (core, storage, [hub], management, agent; hosted
 * services in binding order), in a temp data dir, with the process module runtime.
 */
export async function startRuntime(options: RuntimeOptions): Promise<TestRuntime> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      if (!(error instanceof ListenError) || attempt >= 5) throw error;
    }
  }
}

async function startOnce(options: RuntimeOptions): Promise<TestRuntime> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeport-mgmt-'));
  const certsDir = join(dir, 'certs');
  const certs = await ensureEdgeCertificates({ dir: certsDir, hostname: 'localhost' });
  const manifestPath = join(dir, 'deployment.json');
  await writeFile(manifestPath, JSON.stringify({ modulesContent: { $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', modules: options.modules } } } }));
  const port = options.hub === true ? await freePort() : 0;
  const logger = new MemoryLogger();
  const container = new Container({ defaultScope: 'Singleton' });
  container.bind(Logger).toConstantValue(logger);
  container.bind(Clock).to(SystemClock).inSingletonScope();
  container.bind(Metrics).to(InMemoryMetrics).inSingletonScope();
  container.load(storageModule({ kind: 'sqlite', path: join(dir, 'edgeport.db') }));
  container.load(secretsModule({ keyFile: join(dir, 'secrets', 'master.key') }));
  if (options.hub === true) {
    container.load(
      hubModule({
        edgeDeviceId: EDGE_DEVICE,
        iotHubHostname: IOT_HUB,
        edgeHostname: 'localhost',
        mqtt: { enabled: true, host: '127.0.0.1', port, plainPort: 0, tls: { cert: certs.serverCertPem, key: certs.serverKeyPem } },
        pipeline: { timeToLiveSecs: 7200, maxStoreBytes: 0 },
      }),
    );
  }
  // Before the agent: the workload socket must exist when the first module starts.
  container.load(
    managementModule({
      dataDir: dir,
      deviceId: EDGE_DEVICE,
      caCertPath: certs.caCertPath,
      ...(options.legacyConnectionString === true ? { legacyConnectionString: { iotHubHostname: IOT_HUB, gatewayHostname: `localhost:${port}` } } : {}),
    }),
  );
  container.load(deploymentModule({ manifestPath, manifestPollIntervalMs: 100 }));
  container.load(
    agentModule({
      runtime: 'process',
      logsDir: join(dir, 'modules'),
      settings: {
        reconcileIntervalMs: 200,
        stopTimeoutMs: 2000,
        environment: { iothubHostname: IOT_HUB, deviceId: EDGE_DEVICE, gatewayHostname: `localhost:${port}`, apiVersion: '2022-08-03' },
      },
    }),
  );
  // As `edgeport run`: with the hub in-process, the agent's twin and methods live in it.
  if (options.hub === true) container.load(agentHubModule());
  const started: HostedService[] = [];
  const stop = async (): Promise<void> => {
    for (const s of started.splice(0).reverse()) await s.stop();
  };
  try {
    if (options.routes !== undefined) {
      const update = container.get(RouteConfig).replace(options.routes);
      if (!update.ok) throw new Error(update.error);
    }
    for (const s of container.getAll(HostedService)) {
      await s.start();
      started.push(s);
    }
  } catch (error) {
    await stop();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    container,
    dir,
    manifestPath,
    sockets: runtimeSockets(dir),
    port,
    ca: certs.caCertPem,
    logger,
    get(token) {
      return container.get(token as never);
    },
    stop,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
