/**
 * Hub benchmark: `npm run bench:hub [-- --messages=20000 --window=500 --body=1024 --rounds=3 --rate=1000 --seconds=5 --warmup=1 --idle=1000]`
 * (diagnostics: `--diag=1`, `--skip=bare|routed`, `--nodelay=1`, `--batch=N`, `--sync=full`; docs/mqtt-hub.md;
 * `--only=memory`: only the RSS of a spawned `edgeport run`, idle and after `--rss-messages`, `--allocator=jemalloc` to
 * preload jemalloc into it; docs/performance.md).
 * Same transport (plain TCP, `noDelay`), same MQTT.js 5 clients (3.1.1, QoS 1), same process:
 * - bare: an aedes 1.2 broker with default in-memory persistence; a publisher and a subscriber on
 *   one topic; QoS 1 both ways.
 * - routed: Edgeport's MQTT head with the real pipeline on a temporary SQLite file: module A
 *   publishes outputs, the route `FROM /messages/modules/A/outputs/output1 INTO
 *   BrokeredEndpoint("/modules/B/inputs/input1")` stores each message durably before the PUBACK,
 *   and the pump delivers to module B, checkpointing after B's PUBACKs.
 * Throughput: `--messages` messages with `--window` publishes in flight, timed from the first
 * publish to the last message received. Bare and routed alternate over `--rounds`; medians are
 * reported. Idle clients: `--idle` authenticated MQTT clients connect to a hub in a child process,
 * whose heap and RSS growth per client is printed. Latency: routed path, open loop at `--rate` msg/s
 * for `--seconds` after `--warmup` unrecorded seconds, publish to receipt.
 * The last line is `hub: routed/bare = R (routed N msg/s, bare M msg/s, mosquitto Q msg/s, routed/mosquitto = S,
 * p99 at 1000 msg/s = L ms, p99 at 10000 msg/s = L2 ms, idle RSS = I MB)`.
 */
// `--transport amqp`: the AMQP vs MQTT routed comparison, bench/hub-amqp.ts (it exits when done).
if (/(^| )--transport[= ]amqp( |$)/.test(process.argv.slice(2).join(' '))) await import('./hub-amqp.js');
import 'reflect-metadata';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Socket, connect, createServer, type Server } from 'node:net';
import { fork, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { PerformanceObserver, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { MessageStore } from '../application/ports/message-store.js';
import { randomBytes } from 'node:crypto';
import { Aedes } from 'aedes';
import { Container } from 'inversify';
import { connectAsync, type MqttClient } from 'mqtt';
import { parseIdentity } from '../domain/identity/identity.js';
import { Clock } from '../application/ports/clock.js';
import { HostedService } from '../application/ports/hosted-service.js';
import { IdentityStore } from '../application/ports/identity-store.js';
import { Logger } from '../application/ports/logger.js';
import { Metrics } from '../application/ports/metrics.js';
import { RouteConfig } from '../application/hub/route-config.js';
import { ClientDirectory } from '../application/hub/client-directory.js';
import { SystemClock } from '../adapters/clock/system-clock.js';
import { InMemoryMetrics } from '../test/support/in-memory-metrics.js';
import { freePort } from '../test/support/free-port.js';
import { hubModule } from '../infrastructure/composition/hub-module.js';
import { storageModule } from '../infrastructure/composition/storage-module.js';
import { secretsModule } from '../infrastructure/composition/secrets-module.js';
import { arg } from './bench-args.js';
import { dashboardCost } from './hub-dashboard.js';
import { allocatorEnv, idleRuntimeRss, routedRuntimeRss, startRoutedRuntime } from './hub-runtime.js';
import { HUB, QuietLogger, sas } from './hub-support.js';

const MESSAGES = arg('messages', 20_000);
const WINDOW = arg('window', 500);
const BODY = arg('body', 1024);
const ROUNDS = arg('rounds', 3);
/** Open-loop rates of the latency runs: `--rates=1000,10000` (`--rate=N`: that one rate only). */
const RATES = process.argv.some((a) => a.startsWith('--rate='))
  ? [arg('rate', 1000)]
  : (process.argv.find((a) => a.startsWith('--rates='))?.slice('--rates='.length) ?? '1000,10000').split(',').map(Number);
/** Messages routed through a spawned `edgeport run` before its RSS is compared with idle (0: skip the runtime memory part). */
const RSS_MESSAGES = arg('rss-messages', 100_000);
/** `--mosquitto=0`: skip the Mosquitto baseline (e.g. where the binary is missing). */
const MOSQUITTO = arg('mosquitto', 1) === 1;
const SECONDS = arg('seconds', 5);
/** The pump's `deliveryBatchSize` (0: the pipeline default). */
const BATCH = arg('batch', 0);
/** Open-loop seconds before latency is recorded (JIT, first queue, page cache). */
const WARMUP = arg('warmup', 1);
/** Idle connected clients whose hub-side cost is measured (0: skip). */
const IDLE = arg('idle', 1000);
const NO_DELAY = arg('nodelay', 0) === 1;
/** `--sync=full`: the hub's `storage.sync` (default normal, as in `edgeport run`). */
const SYNC = process.argv.includes('--sync=full') ? 'full' : 'normal';
/** `--only=memory`: only the runtime memory part (idle RSS, RSS after `--rss-messages`), no throughput, latency or dashboard rounds. */
const ONLY_MEMORY = process.argv.includes('--only=memory');
/** `--allocator=jemalloc`: the runtime memory part with jemalloc preloaded (default `glibc`, as the launcher runs it). */
const ALLOCATOR = process.argv.find((a) => a.startsWith('--allocator='))?.slice('--allocator='.length) ?? 'glibc';

interface Path {
  diag?: () => string;
  publisher: MqttClient;
  subscriber: MqttClient;
  topic: string;
  close(): Promise<void>;
}

/** MQTT.js (like the SDK's) leaves Nagle on; `--nodelay=1` turns it off on the bench clients too. */
function tune(client: MqttClient): MqttClient {
  if (NO_DELAY) (client.stream as unknown as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
  return client;
}

/** A QoS 1 subscriber on `bench/topic` and a publisher, plain MQTT 3.1.1, on a broker without authentication. */
async function plainPair(port: number): Promise<{ publisher: MqttClient; subscriber: MqttClient }> {
  const subscriber = tune(await connectAsync({ host: '127.0.0.1', port, protocolVersion: 4, clientId: 'sub', clean: false, reconnectPeriod: 0 }));
  await subscriber.subscribeAsync('bench/topic', { qos: 1 });
  const publisher = tune(await connectAsync({ host: '127.0.0.1', port, protocolVersion: 4, clientId: 'pub', clean: false, reconnectPeriod: 0 }));
  return { publisher, subscriber };
}

async function barePath(): Promise<Path> {
  const broker = await Aedes.createBroker();
  const server: Server = createServer({ noDelay: true }, (socket) => broker.handle(socket));
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return plainPath(await plainPair(port), async () => {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
}

/** The path of a client pair on `bench/topic`; `close` ends both clients, then runs `stop`. */
function plainPath(pair: { publisher: MqttClient; subscriber: MqttClient }, stop: () => Promise<void>): Path {
  return {
    ...pair,
    topic: 'bench/topic',
    async close() {
      await pair.publisher.endAsync(true);
      await pair.subscriber.endAsync(true);
      await stop();
    },
  };
}

/**
 * The Mosquitto baseline: a private `mosquitto` (the system's binary, `MOSQUITTO_BIN` to override) on
 * a free loopback port, `persistence false`, anonymous; the same clients, topic and loader as bare.
 */
async function mosquittoPath(): Promise<Path> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeport-bench-mosquitto-'));
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\nmax_queued_messages 0\n`);
  const child = spawn(process.env['MOSQUITTO_BIN'] ?? 'mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await Promise.race([
      spawnError,
      new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      }),
    ]);
    if (up) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`mosquitto did not start on port ${port}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return plainPath(await plainPair(port), async () => {
    child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  });
}

interface Hub {
  port: number;
  container: Container;
  stop(): Promise<void>;
}

/**
 * The hub as `edgeport run` composes it (MQTT head, pipeline, SQLite store), plain TCP on a free port;
 * `extra` loads more modules into its container before it starts (the dashboard-cost measurement).
 */
async function startHub(extra?: (container: Container, dir: string) => Promise<void>): Promise<Hub> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeport-bench-hub-'));
  const port = await freePort();
  const container = new Container({ defaultScope: 'Singleton' });
  container.bind(Logger).toConstantValue(new QuietLogger());
  container.bind(Clock).to(SystemClock).inSingletonScope();
  container.bind(Metrics).to(InMemoryMetrics).inSingletonScope();
  container.load(storageModule({ kind: 'sqlite', path: join(dir, 'edgeport.db'), sync: SYNC }));
  container.load(secretsModule({ keyFile: join(dir, 'secrets', 'master.key') }));
  container.load(
    hubModule({
      edgeDeviceId: 'edge1',
      iotHubHostname: HUB,
      // No TLS listener (no certificate given): plain TCP like the bare broker.
      mqtt: { enabled: true, host: '127.0.0.1', port: 8883, plainPort: port },
      pipeline: { timeToLiveSecs: 7200, maxStoreBytes: 0, ...(BATCH > 0 ? { deliveryBatchSize: BATCH } : {}) },
    }),
  );
  await extra?.(container, dir);
  const services = container.getAll(HostedService);
  for (const s of services) await s.start();
  return {
    port,
    container,
    async stop() {
      for (const s of [...services].reverse()) await s.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function routedPath(extra?: (container: Container, dir: string) => Promise<void>): Promise<Path> {
  const { port, container, stop } = await startHub(extra);
  const store = container.get(MessageStore);
  const appendTimes: number[] = [];
  const sizes: number[] = [];
  const original = store.append.bind(store);
  store.append = async (items) => {
    const t0 = performance.now();
    const r = await original(items);
    appendTimes.push(performance.now() - t0);
    sizes.push(items.length);
    return r;
  };
  // Diagnostics: WAL checkpoints the writer thread ran (SqliteWorkerMessageTables.request).
  const walCheckpoints: string[] = [];
  const tables = (store as unknown as { tables?: { request?: (req: { op: string; mode?: string }, transfer?: unknown) => Promise<unknown> } }).tables;
  const request = tables?.request?.bind(tables);
  if (DIAG && tables !== undefined && request !== undefined) {
    tables.request = (req, transfer) => {
      const t0 = performance.now();
      const result = request(req, transfer);
      if (req.op === 'walCheckpoint') void result.then((r) => walCheckpoints.push(`${req.mode} ${(r as { log: number }).log} frames ${(performance.now() - t0).toFixed(1)} ms`));
      return result;
    };
  }
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
    diag() {
      const a = [...appendTimes].sort((x, y) => x - y);
      const at = (q: number): string => (a[Math.min(a.length - 1, Math.floor(q * a.length))] ?? 0).toFixed(2);
      const wal = walCheckpoints.splice(0);
      const out = `WAL checkpoints: ${wal.length} (${wal.slice(0, 6).join(', ')}${wal.length > 6 ? ', ...' : ''}); appends ${a.length} (mean ${(sizes.reduce((x, y) => x + y, 0) / Math.max(1, sizes.length)).toFixed(1)} msgs): p50 ${at(0.5)} p90 ${at(0.9)} p99 ${at(0.99)} max ${at(1)} ms`;
      appendTimes.length = 0;
      sizes.length = 0;
      return out;
    },
    async close() {
      await publisher.endAsync(true);
      await subscriber.endAsync(true);
      await stop();
    },
  };
}

/** `--diag=1`: socket writes (syscalls) per message, by counting `Socket` writes. */
const DIAG = process.argv.includes('--diag=1');
let socketWrites = 0;
let serverWrites = 0;
if (DIAG) {
  const proto = Socket.prototype as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
  for (const name of ['_write', '_writev'] as const) {
    const original = proto[name];
    proto[name] = function (this: unknown, ...args: unknown[]) {
      socketWrites++;
      if ((this as { server?: unknown }).server) serverWrites++;
      return original.apply(this, args);
    };
  }
}

/**
 * CPU time of the whole process (all threads: clients, broker or hub, writer thread) per message of
 * the last throughput run, in microseconds: less sensitive to other jobs than msg/s.
 */
let lastCpuPerMessage = 0;

/** Closed loop: `WINDOW` publishes in flight until `MESSAGES` were received. Returns msg/s. */
async function throughput(path: Path, messages = MESSAGES): Promise<number> {
  const MESSAGES = messages;
  const body = Buffer.alloc(BODY, 0x41);
  let received = 0;
  let sent = 0;
  const done = new Promise<void>((resolve) => {
    path.subscriber.on('message', () => {
      if (++received === MESSAGES) resolve();
    });
  });
  const cpuBefore = process.cpuUsage();
  const writesBefore = socketWrites;
  const serverBefore = serverWrites;
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
  const cpu = process.cpuUsage(cpuBefore);
  lastCpuPerMessage = (cpu.user + cpu.system) / MESSAGES;
  if (DIAG) console.log(`diag: ${((socketWrites - writesBefore) / MESSAGES).toFixed(2)} socket writes per message (${((serverWrites - serverBefore) / MESSAGES).toFixed(2)} by the broker); ${path.diag?.() ?? ''}`);
  path.subscriber.removeAllListeners('message');
  return MESSAGES / seconds;
}

/** Open loop at `RATE` msg/s for `SECONDS`: publish-to-receipt latency percentiles (ms). */
async function latency(path: Path, RATE: number): Promise<{ p50: number; p99: number; count: number; ackP50: number; ackP99: number }> {
  const skip = Math.round(RATE * WARMUP);
  const total = skip + RATE * SECONDS;
  const latencies: number[] = [];
  /** Publish-to-PUBACK (the durable commit as the sender sees it). */
  const acks: number[] = [];
  let received = 0;
  const done = new Promise<void>((resolve) => {
    path.subscriber.on('message', (_topic, payload) => {
      if (payload.readUInt32LE(8) >= skip) latencies.push(performance.now() - payload.readDoubleLE(0));
      if (++received === total) resolve();
    });
  });
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const gcs: number[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push(e.duration);
  });
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    if (i === skip) {
      obs.observe({ entryTypes: ['gc'] });
      path.diag?.();
      loop.enable();
    }
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const body = Buffer.alloc(BODY, 0x41);
    const sentAt = performance.now();
    body.writeDoubleLE(sentAt, 0);
    body.writeUInt32LE(i, 8);
    path.publisher.publish(path.topic, body, { qos: 1 }, () => {
      if (i >= skip) acks.push(performance.now() - sentAt);
    });
  }
  await done;
  loop.disable();
  obs.disconnect();
  if (DIAG) {
    gcs.sort((a, b) => b - a);
    console.log(`diag: event-loop delay p50 ${(loop.percentile(50) / 1e6).toFixed(2)} p99 ${(loop.percentile(99) / 1e6).toFixed(2)} max ${(loop.max / 1e6).toFixed(2)} ms; GC ${gcs.length} pauses, total ${gcs.reduce((a, b) => a + b, 0).toFixed(1)} ms, worst ${gcs.slice(0, 5).map((g) => g.toFixed(1)).join(' ')} ms; ${path.diag?.() ?? ''}`);
    const worst = latencies.map((l, i) => [l, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 60).map(([, i]) => Math.floor(i / RATE * 10) / 10);
    console.log(`diag: when the 60 worst happened (s): ${[...new Set(worst)].sort((a, b) => a - b).join(' ')}`);
  }
  path.subscriber.removeAllListeners('message');
  latencies.sort((a, b) => a - b);
  acks.sort((a, b) => a - b);
  const at = (values: number[], q: number): number => values[Math.min(values.length - 1, Math.floor(q * values.length))]!;
  return { p50: at(latencies, 0.5), p99: at(latencies, 0.99), count: latencies.length, ackP50: at(acks, 0.5), ackP99: at(acks, 0.99) };
}

type IdleRequest = { type: 'measure' } | { type: 'stop' };
type IdleReply = { type: 'ready'; port: number; key: string } | { type: 'memory'; heapUsed: number; rss: number; connected: number };

/**
 * `--idle-hub` child: a hub with `IDLE` module identities (`edge1/idle<i>`, one key) that reports its
 * memory after forced GCs whenever the parent asks. The hub runs in its own process so that the
 * client objects of the parent never count.
 */
async function idleHubChild(): Promise<void> {
  const send = (reply: IdleReply): void => void process.send!(reply);
  const hub = await startHub();
  const key = randomBytes(32).toString('base64');
  const identities = hub.container.get(IdentityStore);
  for (let i = 0; i < IDLE; i++) await identities.put(parseIdentity(`edge1/idle${i}`), { primaryKey: key, secondaryKey: key });
  const gc = (globalThis as { gc?: () => void }).gc!;
  process.on('message', (req: IdleRequest) => {
    if (req.type === 'stop') {
      void hub.stop().then(() => process.exit(0));
      return;
    }
    void (async () => {
      // Several times, with turns in between, so that weak callbacks and finalizers run.
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 50));
      }
      const connected = hub.container.get(ClientDirectory).connected().length;
      const m = process.memoryUsage();
      send({ type: 'memory', heapUsed: m.heapUsed, rss: m.rss, connected });
    })();
  });
  send({ type: 'ready', port: hub.port, key });
}

/**
 * Hub-side memory of `IDLE` connected, authenticated, subscribed MQTT clients: the hub runs in a
 * child process (`--idle-hub`); the clients (MQTT.js, SAS tokens, clean=false sessions, each
 * subscribed to its module inputs like the SDK's ModuleClient) connect from this process over the
 * same plain TCP as the benchmark. Heap and RSS of the child are read after forced GCs before and
 * after; the difference divided by the client count is the cost per client.
 */
async function idleClients(): Promise<{ heapPerClient: number; rssPerClient: number; detail: string }> {
  const child = fork(fileURLToPath(import.meta.url), ['--idle-hub', `--idle=${IDLE}`], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const replies: IdleReply[] = [];
  let wake: (() => void) | null = null;
  child.on('message', (reply: IdleReply) => {
    replies.push(reply);
    wake?.();
  });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`idle hub exited with code ${code}`))));
  const next = async <T extends IdleReply['type']>(type: T): Promise<Extract<IdleReply, { type: T }>> => {
    while (replies.length === 0) await Promise.race([new Promise<void>((r) => (wake = r)), exited]);
    const reply = replies.shift()!;
    if (reply.type !== type) throw new Error(`idle hub: expected ${type}, got ${reply.type}`);
    return reply as Extract<IdleReply, { type: T }>;
  };
  const { port, key } = await next('ready');
  child.send({ type: 'measure' } satisfies IdleRequest);
  const before = await next('memory');
  const clients: MqttClient[] = [];
  const connectOne = async (i: number): Promise<void> => {
    const id = `idle${i}`;
    const client = await connectAsync({ host: '127.0.0.1', port, protocolVersion: 4, clientId: `edge1/${id}`, clean: false, reconnectPeriod: 0, keepalive: 240, username: `${HUB}/edge1/${id}/?api-version=2021-04-12`, password: sas('edge1', id, key) });
    await client.subscribeAsync(`devices/edge1/modules/${id}/inputs/#`, { qos: 1 });
    clients.push(client);
  };
  for (let i = 0; i < IDLE; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, IDLE - i) }, (_, j) => connectOne(i + j)));
  }
  // Let session writes and socket buffers settle before measuring.
  await new Promise((r) => setTimeout(r, 1000));
  child.send({ type: 'measure' } satisfies IdleRequest);
  const after = await next('memory');
  await Promise.all(clients.map((c) => c.endAsync(true)));
  child.send({ type: 'stop' } satisfies IdleRequest);
  await new Promise((r) => child.once('exit', r));
  const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
  return {
    heapPerClient: (after.heapUsed - before.heapUsed) / IDLE / 1024,
    rssPerClient: (after.rss - before.rss) / IDLE / 1024,
    detail: `${after.connected} connected; hub heap ${mb(before.heapUsed)} -> ${mb(after.heapUsed)} MB, RSS ${mb(before.rss)} -> ${mb(after.rss)} MB`,
  };
}

const median = (values: number[]): number => (values.length === 0 ? Number.NaN : [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!);

/** The runtime memory part: idle RSS of `edgeport run`, then RSS after `RSS_MESSAGES` routed through it. Returns the idle figure (MB). */
async function runtimeMemory(): Promise<number> {
  const env = allocatorEnv(ALLOCATOR);
  if (ALLOCATOR !== 'glibc') console.log(`runtime: allocator ${ALLOCATOR} (${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')})`);
  const idle = await idleRuntimeRss({ env });
  console.log(`runtime: edgeport run (embedded defaults, agent.runtime = process, no modules) idles at ${idle.idleMb.toFixed(1)} MB RSS (first start, creating its certificates: ${idle.firstStartMb.toFixed(1)} MB; ${idle.detail})`);
  if (process.argv.includes('--docker-rss=1')) {
    const docker = await idleRuntimeRss({ docker: true, env });
    console.log(`runtime: with agent.runtime = auto and a Docker engine answering (dockerode loaded): ${docker.idleMb.toFixed(1)} MB RSS`);
  }
  const after = await routedRuntimeRss(RSS_MESSAGES, throughput, 60, env);
  const growth = (after.afterMb / after.idleMb - 1) * 100;
  console.log(`runtime: ${RSS_MESSAGES} messages routed A -> B at ${after.rate.toFixed(0)} msg/s: RSS idle ${after.idleMb.toFixed(1)} MB (2 clients connected), peak ${after.peakMb.toFixed(1)} MB, after ${after.afterMb.toFixed(1)} MB ${after.seconds.toFixed(1)} s later (${growth >= 0 ? '+' : ''}${growth.toFixed(1)} %, ${Math.abs(growth) <= 10 ? 'within' : 'NOT within'} 10 % of idle)`);
  console.log(`runtime: resident parts: idle ${after.parts.idle}; at the last message ${after.parts.end}; after ${after.parts.after}`);
  return idle.idleMb;
}

async function main(): Promise<void> {
  if (ONLY_MEMORY) {
    const idleMb = await runtimeMemory();
    console.log(`hub: memory only (idle RSS = ${idleMb.toFixed(0)} MB)`);
    return;
  }
  const bare: number[] = [];
  const routed: number[] = [];
  const mosquitto: number[] = [];
  const bareCpu: number[] = [];
  const routedCpu: number[] = [];
  const mosquittoCpu: number[] = [];
  /** The routed path in a spawned `edgeport run` (its own process, like Mosquitto): the numerator of routed/mosquitto. */
  const own: number[] = [];
  const ownRuntime = MOSQUITTO && ROUNDS > 0 ? await startRoutedRuntime() : undefined;
  for (let round = 1; round <= ROUNDS; round++) {
    // `--skip=bare|routed` (diagnostics, e.g. to profile one path): the skipped path reports 1 msg/s.
    if (process.argv.includes('--skip=bare')) bare.push(1);
    else {
      const b = await barePath();
      bare.push(await throughput(b));
      bareCpu.push(lastCpuPerMessage);
      await b.close();
    }
    if (process.argv.includes('--skip=routed')) routed.push(1);
    else {
      const r = await routedPath();
      routed.push(await throughput(r));
      routedCpu.push(lastCpuPerMessage);
      await r.close();
    }
    if (MOSQUITTO) {
      const m = await mosquittoPath();
      mosquitto.push(await throughput(m));
      // Mosquitto's own CPU is in its process, not counted here: this is the clients' share only.
      mosquittoCpu.push(lastCpuPerMessage);
      await m.close();
      own.push(await throughput(ownRuntime!.path));
    }
    const mosq = MOSQUITTO ? `, mosquitto ${mosquitto.at(-1)!.toFixed(0)} msg/s, routed in edgeport run's own process ${own.at(-1)!.toFixed(0)} msg/s` : '';
    console.log(`round ${round}: bare ${bare.at(-1)!.toFixed(0)} msg/s, routed ${routed.at(-1)!.toFixed(0)} msg/s${mosq} (${MESSAGES} x ${BODY} B, window ${WINDOW}; CPU per message in this process: bare ${(bareCpu.at(-1) ?? 0).toFixed(0)} us, routed ${(routedCpu.at(-1) ?? 0).toFixed(0)} us${MOSQUITTO ? `, mosquitto clients only ${(mosquittoCpu.at(-1) ?? 0).toFixed(0)} us` : ''})`);
  }
  // The same open loops against `edgeport run` in its own process (the deployed layout: clients in
  // other processes, the launcher's node flags), printed beside the in-process figures.
  for (const rate of ownRuntime === undefined ? [] : RATES) {
    const lat = await latency(ownRuntime!.path, rate);
    console.log(`routed latency in edgeport run's own process at ${rate} msg/s for ${SECONDS} s (after ${WARMUP} s warm-up): p50 ${lat.p50.toFixed(2)} ms, p99 ${lat.p99.toFixed(2)} ms (${lat.count} messages); publish-to-PUBACK p50 ${lat.ackP50.toFixed(2)} ms, p99 ${lat.ackP99.toFixed(2)} ms`);
  }
  await ownRuntime?.stop();
  if (IDLE > 0) {
    const idle = await idleClients();
    console.log(`idle: ${IDLE} authenticated MQTT clients (SAS, clean=false, one subscription each) cost the hub ${idle.heapPerClient.toFixed(1)} KB heap, ${idle.rssPerClient.toFixed(1)} KB RSS per client (${idle.detail})`);
  }
  const p99 = new Map<number, number>();
  for (const rate of RATES) {
    const r = await routedPath();
    const lat = await latency(r, rate);
    await r.close();
    p99.set(rate, lat.p99);
    console.log(`routed latency at ${rate} msg/s for ${SECONDS} s (after ${WARMUP} s warm-up): p50 ${lat.p50.toFixed(2)} ms, p99 ${lat.p99.toFixed(2)} ms (${lat.count} messages); publish-to-PUBACK p50 ${lat.ackP50.toFixed(2)} ms, p99 ${lat.ackP99.toFixed(2)} ms`);
  }
  const idleRss = RSS_MESSAGES > 0 ? await runtimeMemory() : Number.NaN;
  const bareMedian = median(bare);
  const routedMedian = median(routed);
  const mosquittoMedian = MOSQUITTO ? median(mosquitto) : Number.NaN;
  const ownMedian = MOSQUITTO ? median(own) : Number.NaN;
  // Mosquitto runs in its own process, so routed/mosquitto compares it with Edgeport in its own process.
  if (MOSQUITTO) console.log(`mosquitto: routed in edgeport run's own process ${ownMedian.toFixed(0)} msg/s vs mosquitto ${mosquittoMedian.toFixed(0)} msg/s (medians, same loader): routed/mosquitto = ${(ownMedian / mosquittoMedian).toFixed(2)}; routed in the bench process / mosquitto = ${(routedMedian / mosquittoMedian).toFixed(2)}`);
  if (DASHBOARD_ROUNDS > 0) await dashboardCost((extra) => routedPath(extra), throughput, DASHBOARD_ROUNDS);
  const latencies = RATES.map((rate) => `p99 at ${rate} msg/s = ${p99.get(rate)!.toFixed(1)} ms`).join(', ');
  console.log(`hub: routed/bare = ${(routedMedian / bareMedian).toFixed(2)} (routed ${routedMedian.toFixed(0)} msg/s, bare ${bareMedian.toFixed(0)} msg/s, mosquitto ${mosquittoMedian.toFixed(0)} msg/s, routed/mosquitto = ${(ownMedian / mosquittoMedian).toFixed(2)}, ${latencies}, idle RSS = ${idleRss.toFixed(0)} MB)`);
}

/** `--dashboard=N`: rounds of routed throughput with and without the dashboard and a browser on it (0: skip). */
const DASHBOARD_ROUNDS = arg('dashboard', 3);

(process.argv.includes('--idle-hub') ? idleHubChild() : main()).then(
  () => {
    if (!process.argv.includes('--idle-hub')) process.exit(0);
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
