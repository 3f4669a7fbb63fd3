/**
 * Hub benchmark: `npm run bench:hub [-- --messages=20000 --window=500 --body=1024 --rounds=3 --rate=1000 --seconds=5]`.
 * Same transport (plain TCP, `noDelay`), same MQTT.js 5 clients (3.1.1, QoS 1), same process:
 * - bare: an aedes 1.2 broker with default in-memory persistence; a publisher and a subscriber on
 *   one topic; QoS 1 both ways.
 * - routed: Edgeport's MQTT head with the real pipeline on a temporary SQLite file: module A
 *   publishes outputs, the route `FROM /messages/modules/A/outputs/output1 INTO
 *   BrokeredEndpoint("/modules/B/inputs/input1")` stores each message durably before the PUBACK,
 *   and the pump delivers to module B, checkpointing after B's PUBACKs.
 * Throughput: `--messages` messages with `--window` publishes in flight, timed from the first
 * publish to the last message received. Bare and routed alternate over `--rounds`; medians are
 * reported. Latency: routed path, open loop at `--rate` msg/s for `--seconds`, publish to receipt.
 * The last line is `hub: routed/bare = R (routed N msg/s, bare M msg/s, p99 at 1000 msg/s = L ms)`.
 */
// `--transport amqp`: the AMQP vs MQTT routed comparison, bench/hub-amqp.ts (it exits when done).
if (/(^| )--transport[= ]amqp( |$)/.test(process.argv.slice(2).join(' '))) await import('./hub-amqp.js');
import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createHmac, randomBytes } from 'node:crypto';
import { Aedes } from 'aedes';
import { Container } from 'inversify';
import { connectAsync, type MqttClient } from 'mqtt';
import { parseIdentity } from '../domain/identity/identity.js';
import { Clock } from '../application/ports/clock.js';
import { HostedService } from '../application/ports/hosted-service.js';
import { IdentityStore } from '../application/ports/identity-store.js';
import { Logger, type LogFields } from '../application/ports/logger.js';
import { Metrics } from '../application/ports/metrics.js';
import { RouteConfig } from '../application/hub/route-config.js';
import { SystemClock } from '../adapters/clock/system-clock.js';
import { InMemoryMetrics } from '../test/support/in-memory-metrics.js';
import { hubModule } from '../infrastructure/composition/hub-module.js';
import { storageModule } from '../infrastructure/composition/storage-module.js';

function arg(name: string, fallback: number): number {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit === undefined ? fallback : Number(hit.slice(name.length + 3));
}

const MESSAGES = arg('messages', 20_000);
const WINDOW = arg('window', 500);
const BODY = arg('body', 1024);
const ROUNDS = arg('rounds', 3);
const RATE = arg('rate', 1000);
const SECONDS = arg('seconds', 5);
/** The pump's `deliveryBatchSize` (0: the pipeline default). */
const BATCH = arg('batch', 0);
/** `--nudge=1`: MqttHeadOptions.nudgeAcks (PINGRESP after a PUBACK while more are due). */
const NUDGE = arg('nudge', 0) === 1;
const NO_DELAY = arg("nodelay", 0) === 1;
const HUB = 'bench.azure-devices.net';

class QuietLogger extends Logger {
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

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

interface Path {
  publisher: MqttClient;
  subscriber: MqttClient;
  topic: string;
  close(): Promise<void>;
}

function sas(deviceId: string, moduleId: string, key: string): string {
  const sr = encodeURIComponent(`${HUB}/devices/${deviceId}/modules/${moduleId}`);
  const se = Math.floor(Date.now() / 1000) + 3600;
  const sig = encodeURIComponent(createHmacBase64(key, `${sr}\n${se}`));
  return `SharedAccessSignature sr=${sr}&sig=${sig}&se=${se}`;
}

function createHmacBase64(key: string, data: string): string {
  return createHmac('sha256', Buffer.from(key, 'base64')).update(data).digest('base64');
}

/** MQTT.js (like the SDK's) leaves Nagle on; `--nodelay=1` turns it off on the bench clients too. */
function tune(client: MqttClient): MqttClient {
  if (NO_DELAY) (client.stream as unknown as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
  return client;
}

async function barePath(): Promise<Path> {
  const broker = await Aedes.createBroker();
  const server: Server = createServer({ noDelay: true }, (socket) => broker.handle(socket));
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const subscriber = tune(await connectAsync({ host: '127.0.0.1', port, protocolVersion: 4, clientId: 'sub', clean: false, reconnectPeriod: 0 }));
  await subscriber.subscribeAsync('bench/topic', { qos: 1 });
  const publisher = tune(await connectAsync({ host: '127.0.0.1', port, protocolVersion: 4, clientId: 'pub', clean: false, reconnectPeriod: 0 }));
  return {
    publisher,
    subscriber,
    topic: 'bench/topic',
    async close() {
      await publisher.endAsync(true);
      await subscriber.endAsync(true);
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function routedPath(): Promise<Path> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeport-bench-hub-'));
  const port = await freePort();
  const container = new Container({ defaultScope: 'Singleton' });
  container.bind(Logger).toConstantValue(new QuietLogger());
  container.bind(Clock).to(SystemClock).inSingletonScope();
  container.bind(Metrics).to(InMemoryMetrics).inSingletonScope();
  container.load(storageModule({ kind: 'sqlite', path: join(dir, 'edgeport.db') }));
  container.load(
    hubModule({
      edgeDeviceId: 'edge1',
      iotHubHostname: HUB,
      // No TLS listener (no certificate given): plain TCP like the bare broker.
      mqtt: { enabled: true, host: '127.0.0.1', port: 8883, plainPort: port, nudgeAcks: NUDGE },
      pipeline: { timeToLiveSecs: 7200, maxStoreBytes: 0, ...(BATCH > 0 ? { deliveryBatchSize: BATCH } : {}) },
    }),
  );
  const services = container.getAll(HostedService);
  for (const s of services) await s.start();
  const routes = container.get(RouteConfig).replace({ r: 'FROM /messages/modules/A/outputs/output1 INTO BrokeredEndpoint("/modules/B/inputs/input1")' });
  if (!routes.ok) throw new Error(routes.error);
  const keyA = randomBytes(32).toString('base64');
  const keyB = randomBytes(32).toString('base64');
  await container.get(IdentityStore).put(parseIdentity('edge1/A'), { primaryKey: keyA, secondaryKey: keyA });
  await container.get(IdentityStore).put(parseIdentity('edge1/B'), { primaryKey: keyB, secondaryKey: keyB });
  const connect = (id: string, key: string) =>
    connectAsync({ host: '127.0.0.1', port, protocolVersion: 4, clientId: `edge1/${id}`, clean: false, reconnectPeriod: 0, username: `${HUB}/edge1/${id}/?api-version=2021-04-12`, password: sas('edge1', id, key) });
  const subscriber = tune(await connect('B', keyB));
  await subscriber.subscribeAsync('devices/edge1/modules/B/inputs/#', { qos: 1 });
  const publisher = tune(await connect('A', keyA));
  return {
    publisher,
    subscriber,
    topic: 'devices/edge1/modules/A/messages/events/%24.on=output1/',
    async close() {
      await publisher.endAsync(true);
      await subscriber.endAsync(true);
      for (const s of [...services].reverse()) await s.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Closed loop: `WINDOW` publishes in flight until `MESSAGES` were received. Returns msg/s. */
async function throughput(path: Path): Promise<number> {
  const body = Buffer.alloc(BODY, 0x41);
  let received = 0;
  let sent = 0;
  const done = new Promise<void>((resolve) => {
    path.subscriber.on('message', () => {
      if (++received === MESSAGES) resolve();
    });
  });
  const start = performance.now();
  await new Promise<void>((resolve, reject) => {
    let inFlight = 0;
    const pump = (): void => {
      while (inFlight < WINDOW && sent < MESSAGES) {
        inFlight++;
        sent++;
        path.publisher.publish(path.topic, body, { qos: 1 }, (error) => {
          if (error) return reject(error);
          inFlight--;
          if (sent === MESSAGES && inFlight === 0) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  await done;
  const seconds = (performance.now() - start) / 1000;
  path.subscriber.removeAllListeners('message');
  return MESSAGES / seconds;
}

/** Open loop at `RATE` msg/s for `SECONDS`: publish-to-receipt latency percentiles (ms). */
async function latency(path: Path): Promise<{ p50: number; p99: number; count: number; ackP50: number; ackP99: number }> {
  const total = RATE * SECONDS;
  const latencies: number[] = [];
  /** Publish-to-PUBACK (the durable commit as the sender sees it). */
  const acks: number[] = [];
  const done = new Promise<void>((resolve) => {
    path.subscriber.on('message', (_topic, payload) => {
      latencies.push(performance.now() - payload.readDoubleLE(0));
      if (latencies.length === total) resolve();
    });
  });
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const body = Buffer.alloc(BODY, 0x41);
    const sentAt = performance.now();
    body.writeDoubleLE(sentAt, 0);
    path.publisher.publish(path.topic, body, { qos: 1 }, () => acks.push(performance.now() - sentAt));
  }
  await done;
  path.subscriber.removeAllListeners('message');
  latencies.sort((a, b) => a - b);
  acks.sort((a, b) => a - b);
  const at = (values: number[], q: number): number => values[Math.min(values.length - 1, Math.floor(q * values.length))]!;
  return { p50: at(latencies, 0.5), p99: at(latencies, 0.99), count: latencies.length, ackP50: at(acks, 0.5), ackP99: at(acks, 0.99) };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const bare: number[] = [];
  const routed: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const b = await barePath();
    bare.push(await throughput(b));
    await b.close();
    const r = await routedPath();
    routed.push(await throughput(r));
    await r.close();
    console.log(`round ${round}: bare ${bare.at(-1)!.toFixed(0)} msg/s, routed ${routed.at(-1)!.toFixed(0)} msg/s (${MESSAGES} x ${BODY} B, window ${WINDOW})`);
  }
  const r = await routedPath();
  const lat = await latency(r);
  await r.close();
  console.log(`routed latency at ${RATE} msg/s for ${SECONDS} s: p50 ${lat.p50.toFixed(2)} ms, p99 ${lat.p99.toFixed(2)} ms (${lat.count} messages); publish-to-PUBACK p50 ${lat.ackP50.toFixed(2)} ms, p99 ${lat.ackP99.toFixed(2)} ms`);
  const bareMedian = median(bare);
  const routedMedian = median(routed);
  console.log(`hub: routed/bare = ${(routedMedian / bareMedian).toFixed(2)} (routed ${routedMedian.toFixed(0)} msg/s, bare ${bareMedian.toFixed(0)} msg/s, p99 at ${RATE} msg/s = ${lat.p99.toFixed(1)} ms)`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
