import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Container } from 'inversify';
import { type Identity, formatIdentity, parseIdentity } from '../../../domain/identity/identity.js';
import type { RouteSpec } from '../../../domain/routing/index.js';
import { Clock } from '../../../application/ports/clock.js';
import { HostedService, ListenError } from '../../../application/ports/hosted-service.js';
import { IdentityStore } from '../../../application/ports/identity-store.js';
import { Logger } from '../../../application/ports/logger.js';
import { Metrics } from '../../../application/ports/metrics.js';
import { RouteConfig } from '../../../application/hub/route-config.js';
import type { CloudToDeviceOptions } from '../../../application/hub/cloud-to-device-service.js';
import type { X509AuthOptions } from '../../../application/hub/authenticate-certificate.js';
import type { X509Authentication } from '../../../domain/identity/x509.js';
import { SystemClock } from '../../../adapters/clock/system-clock.js';
import { InMemoryMetrics } from '../in-memory-metrics.js';
import { ensureEdgeCertificates } from '../../../infrastructure/certs/edge-certificates.js';
import { hubModule } from '../../../infrastructure/composition/hub-module.js';
import { storageModule } from '../../../infrastructure/composition/storage-module.js';
import { secretsModule } from '../../../infrastructure/composition/secrets-module.js';
import { freePort } from '../free-port.js';
import { SilentLogger } from '../pipeline-harness.js';

export const IOT_HUB = 'edgeport-test.azure-devices.net';
export const EDGE_DEVICE = 'edge1';

export interface HubOptions {
  plain?: boolean;
  dir?: string;
  port?: number;
  routes?: Record<string, RouteSpec>;
  /** AMQP credit window per link (`AmqpHeadOptions.creditWindow`). */
  amqpCreditWindow?: number;
  /** Fixed AMQP port (a restart keeps it); default a free one. */
  amqpPort?: number;
  /** Also start the HTTPS listener (module methods, MQTT over WebSocket) on a free port. */
  https?: boolean;
  /** Shorter C2D limits for tests. */
  c2d?: Partial<CloudToDeviceOptions>;
  /** X.509 client authentication (`hub.x509.*`): trusted CA PEMs, revocation check interval. */
  x509?: Partial<X509AuthOptions>;
}

export interface Hub {
  readonly container: Container;
  readonly port: number;
  /** 0 when not requested. */
  readonly plainPort: number;
  /** The AMQP (TLS) port; `addIdentity(...).amqpConnectionString` points there. */
  readonly amqpPort: number;
  /** HTTPS listener port; 0 when not requested. */
  readonly httpsPort: number;
  /** Edge CA PEM: pass to the SDK with `setOptions({ ca })`. */
  readonly ca: string;
  readonly logger: SilentLogger;
  readonly dir: string;
  /** Registers `dev` or `dev/mod` with a random key; returns the key and an SDK connection string through this hub. */
  addIdentity(id: string): Promise<{ identity: Identity; key: string; connectionString: string; amqpConnectionString: string }>;
  /** Registers `dev` or `dev/mod` as an X.509 identity; returns `x509=true` connection strings through this hub. */
  addX509Identity(id: string, x509: X509Authentication): Promise<{ identity: Identity; connectionString: string; amqpConnectionString: string }>;
  setRoutes(routes: Record<string, RouteSpec>): void;
  get<T>(token: abstract new (...args: never[]) => T): T;
  /** Stops every service; keeps the database (see `restart`). */
  stop(): Promise<void>;
  /** Stops and removes the temp directory. */
  close(): Promise<void>;
}

/**
 * The real hub for end-to-end tests: core bindings, SQLite storage in a temp dir, the edge
 * certificates, `hubModule` with TLS on a free port (and optionally plain TCP), all services
 * started in binding order.
 */
export async function startHub(options: HubOptions = {}): Promise<Hub> {
  // freePort() is racy across parallel test files: retry with fresh ports when a bind fails.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startHubOnce(options);
    } catch (error) {
      if (!(error instanceof ListenError) || options.port !== undefined || options.amqpPort !== undefined || attempt >= 5) throw error;
    }
  }
}

async function startHubOnce(options: HubOptions): Promise<Hub> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'edgeport-mqtt-')));
  const certs = await ensureEdgeCertificates({ dir: join(dir, 'certs'), hostname: 'localhost' });
  const port = options.port ?? (await freePort());
  const plainPort = options.plain === true ? await freePort() : 0;
  const amqpPort = options.amqpPort ?? (await freePort());
  const httpsPort = options.https === true ? await freePort() : 0;
  const logger = new SilentLogger();
  const container = new Container({ defaultScope: 'Singleton' });
  container.bind(Logger).toConstantValue(logger);
  container.bind(Clock).to(SystemClock).inSingletonScope();
  container.bind(Metrics).to(InMemoryMetrics).inSingletonScope();
  container.load(storageModule({ kind: 'sqlite', path: join(dir, 'edgeport.db') }));
  container.load(secretsModule({ keyFile: join(dir, 'secrets', 'master.key') }));
  container.load(
    hubModule({
      edgeDeviceId: EDGE_DEVICE,
      iotHubHostname: IOT_HUB,
      edgeHostname: 'localhost',
      mqtt: { enabled: true, host: '127.0.0.1', port, plainPort, tls: { cert: certs.serverCertPem, key: certs.serverKeyPem } },
      amqp: { enabled: true, host: '127.0.0.1', port: amqpPort, tls: { cert: certs.serverCertPem, key: certs.serverKeyPem }, ...(options.amqpCreditWindow !== undefined ? { creditWindow: options.amqpCreditWindow } : {}) },
      pipeline: { timeToLiveSecs: 7200, maxStoreBytes: 0 },
      https: { enabled: httpsPort !== 0, host: '127.0.0.1', port: httpsPort, tls: { cert: certs.serverCertPem, key: certs.serverKeyPem } },
      ...(options.c2d !== undefined ? { c2d: options.c2d } : {}),
      ...(options.x509 !== undefined ? { x509: options.x509 } : {}),
    }),
  );
  const services = container.getAll(HostedService);
  const started: HostedService[] = [];
  try {
    for (const s of services) {
      await s.start();
      started.push(s);
    }
  } catch (error) {
    for (const s of started.reverse()) await s.stop();
    if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
    throw error;
  }
  if (options.routes !== undefined) {
    const update = container.get(RouteConfig).replace(options.routes);
    if (!update.ok) throw new Error(update.error);
  }
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const s of [...started].reverse()) await s.stop();
  };
  return {
    container,
    port,
    plainPort,
    amqpPort,
    httpsPort,
    ca: certs.caCertPem,
    logger,
    dir,
    async addIdentity(id) {
      const identity = parseIdentity(id);
      const key = randomBytes(32).toString('base64');
      await container.get(IdentityStore).put(identity, { primaryKey: key, secondaryKey: randomBytes(32).toString('base64') });
      const ids = identity.kind === 'device' ? `DeviceId=${identity.deviceId}` : `DeviceId=${identity.deviceId};ModuleId=${identity.moduleId}`;
      const base = `HostName=${IOT_HUB};${ids};SharedAccessKey=${key};GatewayHostName=localhost:`;
      return { identity, key, connectionString: `${base}${port}`, amqpConnectionString: `${base}${amqpPort}` };
    },
    async addX509Identity(id, x509) {
      const identity = parseIdentity(id);
      await container.get(IdentityStore).put(identity, { primaryKey: '', secondaryKey: '', x509 });
      const ids = identity.kind === 'device' ? `DeviceId=${identity.deviceId}` : `DeviceId=${identity.deviceId};ModuleId=${identity.moduleId}`;
      const base = `HostName=${IOT_HUB};${ids};x509=true;GatewayHostName=localhost:`;
      return { identity, connectionString: `${base}${port}`, amqpConnectionString: `${base}${amqpPort}` };
    },
    setRoutes(routes) {
      const update = container.get(RouteConfig).replace(routes);
      if (!update.ok) throw new Error(update.error);
    },
    get(token) {
      return container.get(token as never);
    },
    stop,
    async close() {
      await stop();
      if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Rejects after `ms` with a message naming `what`; clears its timer when `promise` settles. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export { formatIdentity };
