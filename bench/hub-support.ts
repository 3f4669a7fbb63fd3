/**
 * What bench/scale.ts and bench/hub.ts share (bench/hub.ts runs its benchmark when imported, so the
 * shared pieces live here): the hub as `edgeport run` composes it (MQTT head, pipeline, SQLite
 * store, plain TCP on a free loopback port), a bare aedes broker, SAS-authenticated module clients,
 * a quiet logger, and open/closed-loop load loops.
 */
import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createHmac, randomBytes } from 'node:crypto';
import { Aedes } from 'aedes';
import { Container } from 'inversify';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { parseIdentity } from '../domain/identity/identity.js';
import type { RouteSpec } from '../domain/routing/index.js';
import { Clock } from '../application/ports/clock.js';
import { HostedService } from '../application/ports/hosted-service.js';
import { IdentityStore } from '../application/ports/identity-store.js';
import { Logger, type LogFields } from '../application/ports/logger.js';
import { Metrics } from '../application/ports/metrics.js';
import { RouteConfig } from '../application/hub/route-config.js';
import { SystemClock } from '../adapters/clock/system-clock.js';
import { InMemoryMetrics } from '../test/support/in-memory-metrics.js';
import { freePort } from '../test/support/free-port.js';
import { hubModule } from '../infrastructure/composition/hub-module.js';
import { storageModule } from '../infrastructure/composition/storage-module.js';
import { secretsModule } from '../infrastructure/composition/secrets-module.js';

export const HUB = 'bench.azure-devices.net';
export const EDGE = 'edge1';

export class QuietLogger extends Logger {
  debug(): void {}
  info(): void {}
  warn(message: string, fields?: LogFields): void {
    process.stderr.write(`warn: ${message} ${JSON.stringify(fields ?? {})}\n`);
  }
  error(message: string, fields?: LogFields): void {
    process.stderr.write(`error: ${message} ${JSON.stringify(fields ?? {})}\n`);
  }
  child(): Logger {
    return this;
  }
}

export function sas(deviceId: string, moduleId: string, key: string): string {
  const sr = encodeURIComponent(`${HUB}/devices/${deviceId}/modules/${moduleId}`);
  const se = Math.floor(Date.now() / 1000) + 3600;
  const sig = encodeURIComponent(createHmac('sha256', Buffer.from(key, 'base64')).update(`${sr}\n${se}`).digest('base64'));
  return `SharedAccessSignature sr=${sr}&sig=${sig}&se=${se}`;
}

export interface Broker {
  port: number;
  /**
   * Connects the module `edge1/<id>` (hub) or the client `<id>` (bare); `onMessage` listens from
   * before the CONNACK (a resumed session may deliver at once).
   */
  connect(id: string, onMessage?: (topic: string, payload: Buffer) => void): Promise<MqttClient>;
  /** The topic module `<id>` publishes its output `output1` to, with application properties. */
  topic(id: string, properties?: Record<string, string>): string;
  /** The subscription that receives what the routes send to module B (hub) or everything (bare). */
  inputFilter: string;
  close(): Promise<void>;
}

export interface HubOptions {
  routes: Record<string, RouteSpec>;
  /** Module ids registered with one key (SAS). */
  modules: readonly string[];
}

/**
 * The hub as `edgeport run` composes it, with durable SQLite storage (sync normal, the default) in a
 * temporary directory. The per-source connection limit is lifted: every bench client comes from
 * 127.0.0.1, and the 1 000-client point needs more than the default 1 000 from one address.
 */
export async function startHub(options: HubOptions): Promise<Broker & { container: Container }> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeport-bench-scale-'));
  const port = await freePort();
  const container = new Container({ defaultScope: 'Singleton' });
  container.bind(Logger).toConstantValue(new QuietLogger());
  container.bind(Clock).to(SystemClock).inSingletonScope();
  container.bind(Metrics).to(InMemoryMetrics).inSingletonScope();
  container.load(storageModule({ kind: 'sqlite', path: join(dir, 'edgeport.db'), sync: 'normal' }));
  container.load(secretsModule({ keyFile: join(dir, 'secrets', 'master.key') }));
  container.load(
    hubModule({
      edgeDeviceId: EDGE,
      iotHubHostname: HUB,
      mqtt: { enabled: true, host: '127.0.0.1', port: 8883, plainPort: port },
      pipeline: { timeToLiveSecs: 7200, maxStoreBytes: 0 },
      trafficReportIntervalMs: 0,
      limits: { maxConnectionsPerSource: 0 },
    }),
  );
  const services = container.getAll(HostedService);
  for (const s of services) await s.start();
  const applied = container.get(RouteConfig).replace(options.routes);
  if (!applied.ok) throw new Error(applied.error);
  const key = randomBytes(32).toString('base64');
  const identities = container.get(IdentityStore);
  for (const id of options.modules) await identities.put(parseIdentity(`${EDGE}/${id}`), { primaryKey: key, secondaryKey: key });
  return {
    port,
    container,
    connect: (id, onMessage) =>
      open(
        {
          host: '127.0.0.1',
          port,
          protocolVersion: 4,
          clientId: `${EDGE}/${id}`,
          clean: false,
          reconnectPeriod: 0,
          keepalive: 240,
          username: `${HUB}/${EDGE}/${id}/?api-version=2021-04-12`,
          password: sas(EDGE, id, key),
        },
        onMessage,
      ),
    topic: (id, properties = {}) => `devices/${EDGE}/modules/${id}/messages/events/${bag({ '$.on': 'output1', ...properties })}/`,
    inputFilter: `devices/${EDGE}/modules/B/inputs/#`,
    async close() {
      for (const s of [...services].reverse()) await s.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function open(options: IClientOptions, onMessage?: (topic: string, payload: Buffer) => void): Promise<MqttClient> {
  const client = connect(options);
  if (onMessage !== undefined) client.on('message', onMessage);
  return new Promise((resolve, reject) => {
    client.once('connect', () => {
      client.removeListener('error', reject);
      resolve(client);
    });
    client.once('error', reject);
  });
}

function bag(properties: Record<string, string>): string {
  return Object.entries(properties)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
}

/** An aedes 1.2 broker with its default in-memory persistence, plain TCP (`noDelay`), no authentication. */
export async function startBare(): Promise<Broker> {
  const broker = await Aedes.createBroker();
  const server: Server = createServer({ noDelay: true }, (socket) => broker.handle(socket));
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    connect: (id, onMessage) => open({ host: '127.0.0.1', port, protocolVersion: 4, clientId: id, clean: false, reconnectPeriod: 0, keepalive: 240 }, onMessage),
    topic: () => 'bench/topic',
    inputFilter: 'bench/topic',
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Connects the clients `ids` 50 at a time (the hub's pending-login limit per source is 100). */
export async function connectMany(broker: Broker, ids: readonly string[]): Promise<MqttClient[]> {
  const clients: MqttClient[] = [];
  for (let i = 0; i < ids.length; i += 50) {
    clients.push(...(await Promise.all(ids.slice(i, i + 50).map((id) => broker.connect(id)))));
  }
  return clients;
}

export async function endAll(clients: readonly MqttClient[]): Promise<void> {
  await Promise.all(clients.map((c) => c.endAsync(true)));
}

export interface LoadResult {
  /** Messages received per second, first publish to last receipt. */
  rate: number;
  /** Publish-to-receipt percentiles (ms); 0 for a closed loop. */
  p50: number;
  p99: number;
  /** CPU time of the whole process (all threads: clients, broker or hub, SQLite writer) per message, µs. */
  cpuPerMessage: number;
  /** CPU time per wall-clock time, in % of one core (open loop only; 0 otherwise). */
  cpuPercent: number;
}

/** Closed loop: `window` publishes in flight until `messages` were received. */
export async function closedLoop(publisher: MqttClient, subscriber: MqttClient, topic: string, body: Buffer, messages: number, window: number): Promise<LoadResult> {
  let received = 0;
  const done = new Promise<void>((resolve) => {
    subscriber.on('message', () => {
      if (++received === messages) resolve();
    });
  });
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  await publishAll(publisher, topic, body, messages, window);
  await done;
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  subscriber.removeAllListeners('message');
  return { rate: messages / seconds, p50: 0, p99: 0, cpuPerMessage: (cpu.user + cpu.system) / messages, cpuPercent: 0 };
}

/** Publishes `messages` copies of `body` with `window` in flight; resolves when all were acknowledged. */
export async function publishAll(publisher: MqttClient, topic: string, body: Buffer, messages: number, window: number, onAck?: () => void): Promise<void> {
  let sent = 0;
  await new Promise<void>((resolve, reject) => {
    let inFlight = 0;
    const pump = (): void => {
      while (inFlight < window && sent < messages) {
        inFlight++;
        sent++;
        publisher.publish(topic, body, { qos: 1 }, (error) => {
          if (error) return reject(error);
          inFlight--;
          onAck?.();
          if (sent === messages && inFlight === 0) resolve();
          else pump();
        });
      }
    };
    pump();
  });
}

/**
 * Open loop at `rate` msg/s in total for `warmup + seconds`, the publishers taking turns (each sends
 * at `rate / publishers.length`); latencies of the messages after the warm-up. Bodies carry their
 * send time and index in their first 12 bytes.
 */
export async function openLoop(publishers: ReadonlyArray<{ client: MqttClient; topic: string }>, subscriber: MqttClient, size: number, rate: number, seconds: number, warmup: number): Promise<LoadResult> {
  const skip = Math.round(rate * warmup);
  const total = skip + Math.max(1, Math.round(rate * seconds));
  const latencies: number[] = [];
  let received = 0;
  let cpuBefore = process.cpuUsage();
  let measuredFrom = performance.now();
  const done = new Promise<void>((resolve) => {
    subscriber.on('message', (_topic, payload: Buffer) => {
      if (payload.readUInt32LE(8) >= skip) latencies.push(performance.now() - payload.readDoubleLE(0));
      if (++received === total) resolve();
    });
  });
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    if (i === skip) {
      cpuBefore = process.cpuUsage();
      measuredFrom = performance.now();
    }
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const body = Buffer.alloc(size, 0x41);
    body.writeDoubleLE(performance.now(), 0);
    body.writeUInt32LE(i, 8);
    const p = publishers[i % publishers.length]!;
    p.client.publish(p.topic, body, { qos: 1 });
  }
  await done;
  const elapsed = (performance.now() - measuredFrom) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  subscriber.removeAllListeners('message');
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { rate: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), cpuPerMessage: (cpu.user + cpu.system) / latencies.length, cpuPercent: (cpu.user + cpu.system) / 1e4 / elapsed };
}
