/**
 * Cost curves: `npm run bench:scale [-- --quick] [--backlog N] [--only routes,clients,size,backlog] [--rounds 3] [--out docs/img]`.
 * The routed, durable path of the real hub (bench/hub-support.ts: the hub as `edgeport run`
 * composes it, SQLite store, MQTT.js clients over loopback, SAS logins) as functions of
 *  (a) routes in the table: 1, 100, 1 000, each `WHERE sensor = 's<k>'`, only the last one
 *      matching (the worst place for it), the others into modules that are not connected;
 *  (b) connected clients (registered modules) each sending at a low rate (`--client-rate`, 1 msg/s,
 *      for `--client-seconds`, 10 s);
 *  (c) message size: 1 KB, 64 KB and the largest body IoT Hub's 256 KB limit accepts;
 *  (d) a backlog of N/100, N/10 and N messages queued to module B while it is offline, then
 *      drained when it connects (replay rate and time).
 * Beside each point, a baseline measured in the same run: bare aedes with the same clients, body
 * and load for (a)-(c); for (d), the live routed rate of the same hub before the backlog.
 * Throughput is a closed loop (`window` publishes in flight); p99 is publish-to-receipt in an open
 * loop. Prints a markdown table and writes one SVG per curve (`scale-<curve>.svg`) into `--out`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { MAX_MESSAGE_SIZE_BYTES } from '../domain/messages/limits.js';
import { messageSize, SystemProperty } from '../domain/messages/message.js';
import { closedLoop, connectMany, endAll, openLoop, publishAll, startBare, startHub, EDGE, type Broker, type LoadResult } from './hub-support.js';
import { renderChart, type Chart } from './scale-plot.js';

export type Curve = 'routes' | 'clients' | 'size' | 'backlog';
export const CURVES: readonly Curve[] = ['routes', 'clients', 'size', 'backlog'];

export interface ScaleConfig {
  routes: readonly number[];
  clients: readonly number[];
  /** Body sizes in bytes; `MAX_BODY` stands for the largest accepted body. */
  sizes: readonly number[];
  backlog: readonly number[];
  only: readonly Curve[];
  /** Closed-loop messages per round (1 KB; fewer for larger bodies, see `bytesPerRound`). */
  messages: number;
  window: number;
  /** Bytes per closed-loop round at most (large bodies send fewer messages). */
  bytesPerRound: number;
  rounds: number;
  /** Open-loop rate of the routes curve (msg/s) and of the size curve. */
  rate: number;
  sizeRate: number;
  /** Per-client rate of the clients curve (msg/s), and how long it is measured. */
  clientRate: number;
  clientSeconds: number;
  seconds: number;
  warmup: number;
  /** Where the SVGs go (null: none written). */
  out: string | null;
  log: (line: string) => void;
}

/** Stands for "the largest body the hub accepts" in `sizes`. */
export const MAX_BODY = -1;

export const FULL: ScaleConfig = {
  routes: [1, 100, 1000],
  clients: [10, 100, 1000],
  sizes: [1024, 64 * 1024, MAX_BODY],
  backlog: [10_000, 100_000, 1_000_000],
  only: CURVES,
  messages: 20_000,
  window: 500,
  bytesPerRound: 200 * 1024 * 1024,
  rounds: 3,
  rate: 1000,
  sizeRate: 100,
  clientRate: 1,
  clientSeconds: 10,
  seconds: 5,
  warmup: 1,
  out: 'docs/img',
  log: (line) => console.log(line),
};

/** `--quick`: the same points with small loads (a smoke run of a minute or two). */
export const QUICK: ScaleConfig = { ...FULL, backlog: [20, 200, 2000], messages: 2000, bytesPerRound: 16 * 1024 * 1024, rounds: 1, seconds: 1, clientSeconds: 2, warmup: 0.5, rate: 500, sizeRate: 50, out: null };

export interface Point {
  curve: Curve;
  x: number;
  label: string;
  routed: LoadResult;
  base: LoadResult;
  /** What the curve's extra column says (drain time, fill rate, halves). */
  note: string;
  /** Extra numbers for the plots. */
  extra: Record<string, number>;
}

/** The largest body a module's `output1` message with `properties` can have under IoT Hub's 256 KB. */
export function maxBody(properties: Record<string, string>, moduleId: string): number {
  const systemProperties = {
    [SystemProperty.outputName]: 'output1',
    [SystemProperty.connectionDeviceId]: EDGE,
    [SystemProperty.connectionModuleId]: moduleId,
    [SystemProperty.edgeMessageId]: '00000000-0000-0000-0000-000000000000',
  };
  return MAX_MESSAGE_SIZE_BYTES - messageSize({ body: new Uint8Array(0), properties, systemProperties });
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Median of each field over rounds. */
function medianOf(results: readonly LoadResult[]): LoadResult {
  return { rate: median(results.map((r) => r.rate)), p50: median(results.map((r) => r.p50)), p99: median(results.map((r) => r.p99)), cpuPerMessage: median(results.map((r) => r.cpuPerMessage)), cpuPercent: 0 };
}

interface Rig {
  broker: Broker;
  publisher: Awaited<ReturnType<Broker['connect']>>;
  subscriber: Awaited<ReturnType<Broker['connect']>>;
  topic: string;
  close(): Promise<void>;
}

async function rig(broker: Broker, properties: Record<string, string>): Promise<Rig> {
  const subscriber = await broker.connect('B');
  await subscriber.subscribeAsync(broker.inputFilter, { qos: 1 });
  const publisher = await broker.connect('A');
  return {
    broker,
    publisher,
    subscriber,
    topic: broker.topic('A', properties),
    async close() {
      await endAll([publisher, subscriber]);
      await broker.close();
    },
  };
}

/** Closed-loop rounds (bare and routed alternating) then one open loop each; medians of the rounds. */
async function paired(config: ScaleConfig, routed: Rig, bare: Rig, body: number, rate: number): Promise<{ routed: LoadResult; base: LoadResult }> {
  const messages = Math.max(10, Math.min(config.messages, Math.floor(config.bytesPerRound / body)));
  const window = Math.max(4, Math.min(config.window, Math.floor((4 * 1024 * 1024) / body)));
  const buffer = Buffer.alloc(body, 0x41);
  const r: LoadResult[] = [];
  const b: LoadResult[] = [];
  // Unrecorded: JIT, the first SQLite pages, socket buffers.
  const warm = Math.max(10, Math.floor(messages / 4));
  await closedLoop(bare.publisher, bare.subscriber, bare.topic, buffer, warm, window);
  await closedLoop(routed.publisher, routed.subscriber, routed.topic, buffer, warm, window);
  for (let round = 0; round < config.rounds; round++) {
    b.push(await closedLoop(bare.publisher, bare.subscriber, bare.topic, buffer, messages, window));
    r.push(await closedLoop(routed.publisher, routed.subscriber, routed.topic, buffer, messages, window));
  }
  const open = async (x: Rig): Promise<LoadResult> => await openLoop([{ client: x.publisher, topic: x.topic }], x.subscriber, body, rate, config.seconds, config.warmup);
  const bOpen = await open(bare);
  const rOpen = await open(routed);
  return { routed: { ...medianOf(r), p50: rOpen.p50, p99: rOpen.p99 }, base: { ...medianOf(b), p50: bOpen.p50, p99: bOpen.p99 } };
}

/** (a) `n` routes with WHERE conditions on an application property; the last one matches. */
export function routeTable(n: number): Record<string, string> {
  const routes: Record<string, string> = {};
  for (let k = 0; k < n; k++) {
    const sink = k === n - 1 ? 'B' : `m${k}`;
    routes[`r${k}`] = `FROM /messages/modules/A/outputs/output1 WHERE sensor = 's${k}' INTO BrokeredEndpoint("/modules/${sink}/inputs/input1")`;
  }
  return routes;
}

async function routesPoint(config: ScaleConfig, n: number): Promise<Point> {
  const properties = { sensor: `s${n - 1}` };
  const routed = await rig(await startHub({ routes: routeTable(n), modules: ['A', 'B'] }), properties);
  const bare = await rig(await startBare(), properties);
  try {
    const result = await paired(config, routed, bare, 1024, config.rate);
    return { curve: 'routes', x: n, label: `${n} routes`, ...result, note: `1 KB, p99 at ${config.rate} msg/s`, extra: {} };
  } finally {
    await routed.close();
    await bare.close();
  }
}

/** (b) `n` connected modules `c<i>` each sending `clientRate` msg/s (taking turns), one receiver. */
async function clientsPoint(config: ScaleConfig, n: number): Promise<Point> {
  const ids = Array.from({ length: n }, (_, i) => `c${i}`);
  const run = async (broker: Broker): Promise<LoadResult> => {
    try {
      const subscriber = await broker.connect('B');
      await subscriber.subscribeAsync(broker.inputFilter, { qos: 1 });
      const clients = await connectMany(broker, ids);
      const result = await openLoop(clients.map((client, i) => ({ client, topic: broker.topic(ids[i]!) })), subscriber, 1024, n * config.clientRate, config.clientSeconds, Math.max(2 * config.warmup, 1 / config.clientRate));
      await endAll([...clients, subscriber]);
      return result;
    } finally {
      await broker.close();
    }
  };
  const base = await run(await startBare());
  const routed = await run(await startHub({ routes: { r: 'FROM /messages/modules/* INTO BrokeredEndpoint("/modules/B/inputs/input1")' }, modules: [...ids, 'B'] }));
  return { curve: 'clients', x: n, label: `${n} clients`, routed, base, note: `1 KB, ${config.clientRate} msg/s each (${n * config.clientRate} msg/s); CPU ${routed.cpuPercent.toFixed(0)}% of a core (bare ${base.cpuPercent.toFixed(0)}%)`, extra: {} };
}

async function sizePoint(config: ScaleConfig, size: number): Promise<Point> {
  const properties = { sensor: 's0' };
  const body = size === MAX_BODY ? maxBody(properties, 'A') : size;
  const routed = await rig(await startHub({ routes: routeTable(1), modules: ['A', 'B'] }), properties);
  const bare = await rig(await startBare(), properties);
  try {
    const result = await paired(config, routed, bare, body, config.sizeRate);
    const mb = (r: LoadResult): string => ((r.rate * body) / 1024 / 1024).toFixed(1);
    let note = `${mb(result.routed)} MB/s (bare ${mb(result.base)}), p99 at ${config.sizeRate} msg/s`;
    if (size === MAX_BODY) {
      if (!(await refused(routed, body + 1))) throw new Error(`the hub accepted a ${body + 1}-byte body: maxBody() is not the largest accepted body`);
      note += `; largest accepted (1 B more closes the connection)`;
    }
    const label = size === MAX_BODY ? `${body} B (max)` : `${body / 1024} KB`;
    return { curve: 'size', x: body, label, ...result, note, extra: {} };
  } finally {
    await routed.close();
    await bare.close();
  }
}

/** CPU time of the process (all threads) since `before`, µs. */
function cpuSince(before: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(before);
  return used.user + used.system;
}

/** Whether the hub refuses a body of `size` bytes: no PUBACK, the connection closes (MQTT 3.1.1 cannot refuse otherwise). */
async function refused(rig: Rig, size: number): Promise<boolean> {
  return await new Promise((resolve) => {
    rig.publisher.once('close', () => resolve(true));
    rig.publisher.publish(rig.topic, Buffer.alloc(size, 0x41), { qos: 1 }, (error) => resolve(error !== undefined && error !== null));
  });
}

/** Rate over the first and the second half of a timed sequence of counts (flat: about 1). */
function halves(samples: ReadonlyArray<readonly [number, number]>, total: number): number {
  const mid = samples.find(([, count]) => count >= total / 2);
  const end = samples.at(-1);
  if (mid === undefined || end === undefined || mid[0] <= 0 || end[0] <= mid[0]) return 1;
  return (mid[1] / mid[0]) / ((end[1] - mid[1]) / (end[0] - mid[0]));
}

/**
 * (d) Module B subscribes and goes away (its session stays); module A sends `n` messages, stored
 * for B; B connects again and the pump replays them. The live routed rate of the same hub with
 * B connected, measured first, is the baseline.
 */
async function backlogPoint(config: ScaleConfig, n: number): Promise<Point> {
  const hub = await startHub({ routes: routeTable(1), modules: ['A', 'B'] });
  const properties = { sensor: 's0' };
  const live = await rig(hub, properties);
  const body = Buffer.alloc(1024, 0x41);
  try {
    const liveMessages = Math.min(config.messages, Math.max(n, 1000));
    await closedLoop(live.publisher, live.subscriber, live.topic, body, Math.ceil(liveMessages / 4), config.window);
    const base = await closedLoop(live.publisher, live.subscriber, live.topic, body, liveMessages, config.window);
    await live.subscriber.endAsync(true);
    let acked = 0;
    const fillSamples: Array<[number, number]> = [];
    const fillStart = performance.now();
    const fillCpu = process.cpuUsage();
    // Another byte than the live phase's: a live message B had not acknowledged before it left comes
    // again, and must not count.
    const fill = publishAll(live.publisher, live.topic, Buffer.alloc(1024, 0x42), n, config.window, () => void acked++);
    const fillTimer = setInterval(() => fillSamples.push([performance.now() - fillStart, acked]), 250);
    await fill;
    clearInterval(fillTimer);
    const fillSeconds = (performance.now() - fillStart) / 1000;
    const fillCpuUs = cpuSince(fillCpu) / n;
    fillSamples.push([fillSeconds * 1000, n]);
    let received = 0;
    const samples: Array<[number, number]> = [];
    const start = performance.now();
    const drainCpu = process.cpuUsage();
    let finish: () => void = () => {};
    const drained = new Promise<void>((resolve) => (finish = resolve));
    const subscriber = await hub.connect('B', (_topic, payload) => {
      if (payload[0] === 0x42 && ++received === n) finish();
    });
    await subscriber.subscribeAsync(hub.inputFilter, { qos: 1 });
    const timer = setInterval(() => samples.push([performance.now() - start, received]), 250);
    await drained;
    clearInterval(timer);
    const seconds = (performance.now() - start) / 1000;
    const drainCpuUs = cpuSince(drainCpu) / n;
    samples.push([seconds * 1000, n]);
    await subscriber.endAsync(true);
    const routed: LoadResult = { rate: n / seconds, p50: 0, p99: 0, cpuPerMessage: drainCpuUs, cpuPercent: 0 };
    const note = `drain ${seconds.toFixed(1)} s (rate 1st/2nd half ${halves(samples, n).toFixed(2)}); fill ${(n / fillSeconds).toFixed(0)} msg/s, ${fillCpuUs.toFixed(0)} µs CPU/msg (rate 1st/2nd half ${halves(fillSamples, n).toFixed(2)})`;
    return { curve: 'backlog', x: n, label: `${n} queued`, routed, base, note, extra: { drainSeconds: seconds, fillRate: n / fillSeconds, fillCpu: fillCpuUs } };
  } finally {
    await live.publisher.endAsync(true);
    await hub.close();
  }
}

const POINT: Record<Curve, (config: ScaleConfig, x: number) => Promise<Point>> = { routes: routesPoint, clients: clientsPoint, size: sizePoint, backlog: backlogPoint };

function xsOf(config: ScaleConfig, curve: Curve): readonly number[] {
  return curve === 'routes' ? config.routes : curve === 'clients' ? config.clients : curve === 'size' ? config.sizes : config.backlog;
}

const HEADER = '| curve | point | routed msg/s | baseline msg/s | ratio | routed p99 ms | baseline p99 ms | CPU µs/msg routed | CPU µs/msg baseline | notes |';

export function tableRow(p: Point): string {
  const f = (v: number, d = 0): string => (v > 0 ? v.toFixed(d) : '-');
  const cells = [p.curve, p.label, f(p.routed.rate), f(p.base.rate), (p.routed.rate / p.base.rate).toFixed(2), f(p.routed.p99, 2), f(p.base.p99, 2), f(p.routed.cpuPerMessage), f(p.base.cpuPerMessage), p.note];
  return `| ${cells.join(' | ')} |`;
}

export function table(points: readonly Point[]): string {
  return [HEADER, `|${'---|'.repeat(10)}`, ...points.map(tableRow)].join('\n');
}

const TITLES: Record<Curve, [string, string, string]> = {
  routes: ['Routed throughput and p99 by number of routes (1 KB)', 'routes in the table (one matches)', 'bare aedes'],
  clients: ['Delivered rate, p99 and CPU per message by connected clients (1 KB, low rate each)', 'connected clients', 'bare aedes'],
  size: ['Routed throughput and p99 by message size', 'body size', 'bare aedes'],
  backlog: ['Backlog replay by queued messages (1 KB)', 'messages queued while the consumer is offline', 'live routed rate'],
};

export function chart(curve: Curve, points: readonly Point[]): Chart {
  const [title, xLabel, baseName] = TITLES[curve];
  const xs = points.map((p) => p.x);
  const xTicks = points.map((p) => (curve === 'size' ? `${Math.round(p.x / 1024)} KB` : p.x >= 1_000_000 ? `${p.x / 1_000_000}M` : p.x >= 1000 ? `${p.x / 1000}k` : String(p.x)));
  const rate = { yLabel: curve === 'size' ? 'MB/s' : 'msg/s', series: [
    { name: curve === 'backlog' ? 'replay' : 'routed', values: points.map((p) => (curve === 'size' ? (p.routed.rate * p.x) / 1048576 : p.routed.rate)) },
    { name: baseName, values: points.map((p) => (curve === 'size' ? (p.base.rate * p.x) / 1048576 : p.base.rate)), dashed: true },
    ...(curve === 'backlog' ? [{ name: 'fill (consumer offline)', values: points.map((p) => p.extra['fillRate'] ?? 0) }] : []),
  ] };
  const second =
    curve === 'backlog'
      ? { yLabel: 'drain time per 100 000 messages (s)', series: [{ name: 'drain time / 100k (flat = linear)', values: points.map((p) => ((p.extra['drainSeconds'] ?? 0) * 100_000) / p.x) }] }
      : { yLabel: 'p99 latency (ms)', series: [{ name: 'routed p99', values: points.map((p) => p.routed.p99) }, { name: 'bare p99', values: points.map((p) => p.base.p99), dashed: true }] };
  const cpu = { yLabel: 'CPU µs per message (flat = linear cost)', series: [{ name: 'routed', values: points.map((p) => p.routed.cpuPerMessage) }, { name: 'bare', values: points.map((p) => p.base.cpuPerMessage), dashed: true }] };
  const backlogCpu = { yLabel: 'CPU µs per message (flat = linear cost)', series: [{ name: 'replay', values: points.map((p) => p.routed.cpuPerMessage) }, { name: 'live routed', values: points.map((p) => p.base.cpuPerMessage), dashed: true }, { name: 'fill', values: points.map((p) => p.extra['fillCpu'] ?? 0) }] };
  return { title: `${title}; log x axis`, xLabel, xs, xTicks, panels: curve === 'backlog' ? [rate, second, backlogCpu] : [rate, second, cpu] };
}

/** Runs every point of `config.only`, prints each row as it comes, then the table; writes the SVGs. */
export async function runScale(config: ScaleConfig): Promise<{ points: Point[]; table: string; plots: string[] }> {
  const points: Point[] = [];
  const plots: string[] = [];
  for (const curve of config.only) {
    const curvePoints: Point[] = [];
    for (const x of xsOf(config, curve)) {
      const point = await POINT[curve](config, x);
      config.log(tableRow(point));
      curvePoints.push(point);
    }
    points.push(...curvePoints);
    if (config.out !== null && curvePoints.length > 0) {
      await mkdir(config.out, { recursive: true });
      const file = join(config.out, `scale-${curve}.svg`);
      await writeFile(file, renderChart(chart(curve, curvePoints)));
      plots.push(file);
    }
  }
  const text = table(points);
  config.log(`\n${text}`);
  return { points, table: text, plots };
}

/** `--name N` or `--name=N` (both spellings; `bench-args` reads only the second). */
function option(argv: readonly string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${name}`) return argv[i + 1];
    if (argv[i]!.startsWith(`--${name}=`)) return argv[i]!.slice(name.length + 3);
  }
  return undefined;
}

export function configFromArgs(argv: readonly string[]): ScaleConfig {
  const config: ScaleConfig = { ...(argv.includes('--quick') ? QUICK : FULL) };
  const backlog = option(argv, 'backlog');
  if (backlog !== undefined) {
    const n = Number(backlog);
    if (!Number.isInteger(n) || n < 100) throw new Error(`--backlog ${backlog}: give a whole number of messages, at least 100`);
    config.backlog = [n / 100, n / 10, n].map(Math.round);
  }
  const only = option(argv, 'only');
  if (only !== undefined) {
    const curves = only.split(',');
    const unknown = curves.filter((c) => !CURVES.includes(c as Curve));
    if (unknown.length > 0) throw new Error(`--only ${only}: unknown curve ${unknown.join(', ')} (curves: ${CURVES.join(', ')})`);
    config.only = curves as Curve[];
  }
  for (const key of ['messages', 'window', 'rounds', 'rate', 'seconds', 'warmup'] as const) {
    const v = option(argv, key);
    if (v !== undefined) config[key] = Number(v);
  }
  const clientRate = option(argv, 'client-rate');
  if (clientRate !== undefined) config.clientRate = Number(clientRate);
  const clientSeconds = option(argv, 'client-seconds');
  if (clientSeconds !== undefined) config.clientSeconds = Number(clientSeconds);
  const out = option(argv, 'out');
  if (out !== undefined) config.out = out;
  return config;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runScale(configFromArgs(process.argv.slice(2))).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
