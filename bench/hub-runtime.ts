/**
 * Memory of `edgeport run` as a device runs it (bench/hub.ts): its own process, started with the
 * node flags of the CLI launcher (the `#!` line of infrastructure/cli/bin.js), every listener on a
 * free loopback port, `agent.runtime = "process"` (so the figure does not depend on whether a Docker
 * engine answers; with one, `auto` also loads dockerode, printed separately with `--docker-rss=1`).
 * - idle: embedded defaults, no modules, after the first start created the data directory and the
 *   certificates (a device's steady state; the first start's figure is printed too), sampled for at
 *   least 35 s (past the store's first 30 s sweep) and until the RSS holds still;
 * - routed: the same runtime with a local manifest holding only the `$edgeHub` route A -> B and two
 *   module identities, `messages` routed by the caller's loader, then RSS sampled until it is back
 *   within 10 % of the idle figure with the two clients connected (or `settleSeconds` passed).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createHmac, randomBytes } from 'node:crypto';
import { connectAsync, type MqttClient } from 'mqtt';
import { EDGEPORT_BIN, REPO_ROOT, RuntimeProcess } from '../test/support/runtime-process.js';
import { freePort } from '../test/support/free-port.js';
import { loopbackListeners } from '../test/support/cli/edgeport-cli.js';

const HUB = 'bench.azure-devices.net';
const DEVICE = 'edge1';
const MB = 1024 * 1024;

export interface LoadPath {
  publisher: MqttClient;
  subscriber: MqttClient;
  topic: string;
  close(): Promise<void>;
}

/** The node flags of the launcher's `#!/usr/bin/env -S node <flags>` line. */
export function launcherNodeFlags(): string[] {
  const first = readFileSync(EDGEPORT_BIN, 'utf8').split('\n', 1)[0] ?? '';
  const match = /^#!\S*env(?: -S)? node(.*)$/.exec(first);
  return (match?.[1] ?? '').split(' ').filter((a) => a !== '');
}

/**
 * Environment that makes the runtime allocate with `allocator`: `glibc` (the system's malloc, as
 * the launcher runs it) or `jemalloc` (preloaded from the system's libjemalloc2, with a background
 * thread that returns freed pages to the system; docs/operations.md "Memory").
 */
export function allocatorEnv(allocator: string): Record<string, string> {
  if (allocator === 'glibc') return {};
  if (allocator !== 'jemalloc') throw new Error(`--allocator=${allocator}: expected glibc or jemalloc`);
  const candidates = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib/arm-linux-gnueabihf', '/usr/lib64', '/usr/lib'].map((d) => join(d, 'libjemalloc.so.2'));
  const lib = candidates.find((f) => existsSync(f));
  if (lib === undefined) throw new Error(`--allocator=jemalloc: no libjemalloc.so.2 in ${candidates.join(', ')} (apt-get install libjemalloc2)`);
  return { LD_PRELOAD: lib, MALLOC_CONF: JEMALLOC_CONF };
}

/** The jemalloc settings measured (docs/performance.md "Memory after a burst"). */
export const JEMALLOC_CONF = 'background_thread:true,dirty_decay_ms:5000,muzzy_decay_ms:0';

async function loopbackEnv(dir: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  return {
    EDGEPORT_DATA_DIR: dir,
    EDGEPORT_DEVICE_ID: DEVICE,
    EDGEPORT_IOT_HUB_HOSTNAME: HUB,
    EDGEPORT_AGENT_RUNTIME: 'process',
    ...(await loopbackListeners()),
    ...extra,
  };
}

async function started(env: Record<string, string>, dir: string): Promise<RuntimeProcess> {
  const runtime = new RuntimeProcess(dir, env, [], launcherNodeFlags());
  try {
    await runtime.until('edgeport running', 60_000, () => (runtime.lines.some((l) => String(l['msg']).startsWith('edgeport running')) ? true : undefined));
  } catch (error) {
    await runtime.stop();
    throw error;
  }
  return runtime;
}

/** Samples RSS every 500 ms until `done(samples)` or `maxSeconds`; returns the last sample (bytes) and the seconds it took. */
async function sampleRss(runtime: RuntimeProcess, maxSeconds: number, done: (samples: number[]) => boolean): Promise<{ rss: number; seconds: number }> {
  const samples: number[] = [];
  const start = performance.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    const rss = runtime.rssBytes();
    if (rss === undefined) throw new Error(`no RSS for the runtime process\n${runtime.context()}`);
    samples.push(rss);
    const seconds = (performance.now() - start) / 1000;
    if (done(samples) || seconds >= maxSeconds) return { rss, seconds };
  }
}

/**
 * Where a process's resident memory is (`/proc/<pid>/smaps`, MB): `[heap]` is glibc's main arena
 * (the main thread's malloc), `anon` every other anonymous mapping (the V8 heap, thread arenas,
 * stacks), `file` the mapped node binary and libraries; and its thread count.
 */
export function rssParts(pid: number): string {
  try {
    const parts = { heap: 0, anon: 0, file: 0 };
    let kind: keyof typeof parts = 'anon';
    for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
      const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (head) kind = head[1] === '[heap]' ? 'heap' : head[1]!.startsWith('/') ? 'file' : 'anon';
      const rss = /^Rss:\s+(\d+) kB/.exec(line);
      if (rss) parts[kind] += Number(rss[1]) / 1024;
    }
    const threads = /^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return `[heap] ${parts.heap.toFixed(1)}, anon ${parts.anon.toFixed(1)}, file ${parts.file.toFixed(1)} MB, ${threads} threads`;
  } catch {
    return 'no /proc';
  }
}

/** Settled: the last 6 samples (3 s) within 1 MB of each other, after at least 4 s. */
const steady = (samples: number[]): boolean => {
  if (samples.length < 8) return false;
  const last = samples.slice(-6);
  return Math.max(...last) - Math.min(...last) < MB;
};

/** Idle RSS of `edgeport run` with embedded defaults: first start (creates the data directory), then the measured second start. */
export async function idleRuntimeRss(options: { docker?: boolean; env?: Record<string, string> } = {}): Promise<{ idleMb: number; firstStartMb: number; detail: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeport-bench-rss-'));
  try {
    const extra: Record<string, string> = { ...options.env, ...(options.docker === true ? { EDGEPORT_AGENT_RUNTIME: 'auto', EDGEPORT_AGENT_DOCKER_INSTANCE: 'perf-bench' } : {}) };
    const first = await started(await loopbackEnv(dir, extra), dir);
    const firstRss = await sampleRss(first, 20, steady);
    await first.stop();
    const second = await started(await loopbackEnv(dir, extra), dir);
    // Past the first periodic store sweep (30 s after start), so that what it starts is counted.
    const idle = await sampleRss(second, 70, (samples) => samples.length >= 70 && steady(samples));
    await second.stop();
    return { idleMb: idle.rss / MB, firstStartMb: firstRss.rss / MB, detail: `settled after ${idle.seconds.toFixed(1)} s; node flags ${launcherNodeFlags().join(' ') || '(none)'}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function sas(moduleId: string, key: string): string {
  const sr = encodeURIComponent(`${HUB}/devices/${DEVICE}/modules/${moduleId}`);
  const se = Math.floor(Date.now() / 1000) + 3600;
  const sig = encodeURIComponent(createHmac('sha256', Buffer.from(key, 'base64')).update(`${sr}\n${se}`).digest('base64'));
  return `SharedAccessSignature sr=${sr}&sig=${sig}&se=${se}`;
}

/** A spawned `edgeport run` with the route A -> B (local manifest) and modules A and B connected over plain MQTT. */
export interface RoutedRuntime {
  path: LoadPath;
  runtime: RuntimeProcess;
  stop(): Promise<void>;
}

/** `extraEnv`: more environment for the runtime process (e.g. `allocatorEnv`). */
export async function startRoutedRuntime(extraEnv: Record<string, string> = {}): Promise<RoutedRuntime> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeport-bench-rss-'));
  let runtime: RuntimeProcess | undefined;
  const clients: MqttClient[] = [];
  const stop = async (): Promise<void> => {
    for (const c of clients) await c.endAsync(true);
    await runtime?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const manifest = join(dir, 'deployment.json');
    const route = 'FROM /messages/modules/A/outputs/output1 INTO BrokeredEndpoint("/modules/B/inputs/input1")';
    await writeFile(manifest, JSON.stringify({ modulesContent: { $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', modules: {} } }, $edgeHub: { 'properties.desired': { schemaVersion: '1.1', routes: { r: route }, storeAndForwardConfiguration: { timeToLiveSecs: 7200 } } } } }));
    const plainPort = await freePort();
    const env = await loopbackEnv(dir, { ...extraEnv, EDGEPORT_AGENT_MANIFEST: manifest, EDGEPORT_HUB_MQTT_PLAIN_PORT: String(plainPort) });
    const key = randomBytes(32).toString('base64');
    const base: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EDGEPORT_')) base[k] = v;
    for (const id of ['A', 'B']) {
      await promisify(execFile)(process.execPath, [EDGEPORT_BIN, 'identity', 'add', `${DEVICE}/${id}`, '--primary-key', key, '--secondary-key', key], { cwd: REPO_ROOT, env: { ...base, ...env } });
    }
    runtime = await started(env, dir);
    const connect = async (id: string): Promise<MqttClient> => {
      const client = await connectAsync({ host: '127.0.0.1', port: plainPort, protocolVersion: 4, clientId: `${DEVICE}/${id}`, clean: false, reconnectPeriod: 0, username: `${HUB}/${DEVICE}/${id}/?api-version=2021-04-12`, password: sas(id, key) });
      // `--nodelay=1` (bench/hub.ts): Nagle off on these clients too.
      if (process.argv.includes('--nodelay=1')) (client.stream as unknown as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
      clients.push(client);
      return client;
    };
    const subscriber = await connect('B');
    await subscriber.subscribeAsync(`devices/${DEVICE}/modules/B/inputs/#`, { qos: 1 });
    const publisher = await connect('A');
    const topic = `devices/${DEVICE}/modules/A/messages/events/%24.on=output1/`;
    // The route comes from the manifest: wait until a probe message arrives.
    let routed = false;
    subscriber.once('message', () => (routed = true));
    const probe = setInterval(() => void publisher.publishAsync(topic, 'probe', { qos: 1 }).catch(() => undefined), 500);
    try {
      await runtime.until('the route from the manifest', 60_000, () => (routed ? true : undefined));
    } finally {
      clearInterval(probe);
    }
    // Let the probes still in flight arrive before a loader counts receipts.
    await new Promise((r) => setTimeout(r, 1000));
    return { path: { publisher, subscriber, topic, close: async () => {} }, runtime, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * RSS of `edgeport run` idle with two connected module clients, after `messages` routed A -> B
 * through it by `load`, and once it settled back (within 10 % of idle, at most `settleSeconds`).
 */
export async function routedRuntimeRss(
  messages: number,
  load: (path: LoadPath, messages: number) => Promise<number>,
  settleSeconds = 60,
  env: Record<string, string> = {},
): Promise<{ idleMb: number; peakMb: number; afterMb: number; rate: number; seconds: number; parts: { idle: string; end: string; after: string } }> {
  const { path, runtime, stop } = await startRoutedRuntime(env);
  try {
    const idle = await sampleRss(runtime, 30, steady);
    const idleParts = rssParts(runtime.pid);
    let peak = 0;
    const peakTimer = setInterval(() => (peak = Math.max(peak, runtime.rssBytes() ?? 0)), 250);
    const rate = await load(path, messages);
    clearInterval(peakTimer);
    const end = rssParts(runtime.pid);
    const after = await sampleRss(runtime, settleSeconds, (samples) => (samples.at(-1) ?? Infinity) <= idle.rss * 1.1 && samples.length >= 4);
    return { idleMb: idle.rss / MB, peakMb: peak / MB, afterMb: after.rss / MB, rate, seconds: after.seconds, parts: { idle: idleParts, end, after: rssParts(runtime.pid) } };
  } finally {
    await stop();
  }
}
