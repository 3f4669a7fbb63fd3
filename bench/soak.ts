/**
 * Soak: `npm run soak -- --minutes N [--assert] [--rate R] [--senders S] [--churn C] [--sample SECS] [--warmup SECS]`
 * (docs/chaos-and-soak.md).
 *
 * `edgeport run` (a child process, SQLite store, plain MQTT on loopback) routes steady traffic for N
 * minutes: S module clients each publish R QoS 1 messages/s to an output that a route sends into
 * the input of a `sink` module client; C leaf devices connect, publish a few messages (routed to the
 * sink too) and leave, continually. Every `--sample` seconds it has the runtime collect its garbage
 * (through the inspector, which the runtime opens on a loopback port for the soak only) and prints
 * its RSS and V8 heap right after, then the slope per hour of each (least squares over the samples
 * after the warm-up) and the messages routed. Measuring after a full collection is what makes a
 * short run meaningful: without it the heap is a sawtooth of 40 MB over minutes (old-space growth
 * between major collections), which drowns any slope a few minutes can show. With `--assert` it exits
 * 1 when a slope is beyond the noise bound (printed with it), the runtime died, nothing was routed,
 * or a publish or connection was refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import WebSocket from 'ws';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { MqttClient } from 'mqtt';
import { EDGE_DEVICE, outputTopic, startEdge, topicBag, type EdgeUnderTest } from '../test/chaos/support/edge-under-test.js';

const { values } = parseArgs({
  args: process.argv.slice(2),
  strict: true,
  options: {
    minutes: { type: 'string', default: '2' },
    assert: { type: 'boolean', default: false },
    rate: { type: 'string', default: '50' },
    senders: { type: 'string', default: '4' },
    churn: { type: 'string', default: '4' },
    sample: { type: 'string' },
    warmup: { type: 'string' },
  },
});

const MINUTES = Number(values.minutes);
const RATE = Number(values.rate);
const SENDERS = Number(values.senders);
const CHURNERS = Number(values.churn);
const DURATION_S = MINUTES * 60;
/** About 100 samples per run, never more often than every 2 s. */
const SAMPLE_S = values.sample !== undefined ? Number(values.sample) : Math.max(2, Math.round(DURATION_S / 100));
/** Start-up, JIT, SQLite page cache and pools fill during the first quarter (30 s to 5 min). */
const WARMUP_S = values.warmup !== undefined ? Number(values.warmup) : Math.min(300, Math.max(30, DURATION_S / 4));
/**
 * Noise bound. Sampled after a full collection the heap wanders by about 1 MB and RSS by a few MB
 * (the allocator keeps and returns pages, and keeps growing slowly for the first minutes). A slope
 * counts as growth when it is above `FLOOR_MB_PER_HOUR` AND would move more than the metric's
 * wander over the measured window: a 90 s window tolerates 240 MB/h of heap and 400 MB/h of RSS,
 * a 15 min one 24 and 40 MB/h. Measured 2 min runs: heap 9-31 MB/h, RSS 80-124 MB/h.
 */
const FLOOR_MB_PER_HOUR = 10;
const WANDER_MB = { heap: 6, rss: 10 } as const;

for (const [name, v] of Object.entries({ minutes: MINUTES, rate: RATE, senders: SENDERS, churn: CHURNERS, sample: SAMPLE_S, warmup: WARMUP_S })) {
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a non-negative number, got ${String(v)}`);
}
if (WARMUP_S >= DURATION_S) throw new Error(`--warmup (${WARMUP_S} s) must be shorter than the run (${DURATION_S} s)`);

interface Sample {
  t: number;
  rssMb: number;
  heapMb: number;
}

/** Least-squares slope of y over t (seconds), in units per hour. */
function slopePerHour(points: ReadonlyArray<{ t: number; y: number }>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mt = points.reduce((s, p) => s + p.t, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.y - my);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 3600;
}

/** The runtime's inspector (Chrome DevTools Protocol over a WebSocket on loopback). */
class Inspector {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const reply = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
      const p = reply.id === undefined ? undefined : this.pending.get(reply.id);
      if (p === undefined) return;
      this.pending.delete(reply.id!);
      if (reply.error !== undefined) p.reject(new Error(reply.error.message));
      else p.resolve(reply.result);
    });
  }

  static async connect(url: string): Promise<Inspector> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new Inspector(socket);
  }

  call(method: string, params: object = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** A full collection, then the runtime's own `process.memoryUsage()`. */
  async memoryAfterGc(): Promise<{ rssMb: number; heapMb: number }> {
    await this.call('HeapProfiler.collectGarbage');
    const result = (await this.call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as { result: { value: string } };
    const usage = JSON.parse(result.result.value) as { rss: number; heapUsed: number };
    return { rssMb: usage.rss / 1024 / 1024, heapMb: usage.heapUsed / 1024 / 1024 };
  }

  close(): void {
    this.socket.close();
  }
}

class Traffic {
  published = 0;
  acked = 0;
  refused = 0;
  routed = 0;
  churnSessions = 0;
  private stopped = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly clients = new Set<MqttClient>();

  constructor(private readonly edge: EdgeUnderTest) {}

  async start(): Promise<void> {
    const sink = await this.track(this.edge.connect(`${EDGE_DEVICE}/sink`));
    sink.on('message', (topic) => {
      if (topicBag(topic).has('seq')) this.routed++;
    });
    await sink.subscribeAsync(`devices/${EDGE_DEVICE}/modules/sink/inputs/#`, { qos: 1 });
    for (let i = 1; i <= SENDERS; i++) await this.sender(`${EDGE_DEVICE}/sensor${i}`);
    for (let i = 1; i <= CHURNERS; i++) void this.churn(`leaf${i}`);
  }

  /** RATE messages/s, at most 200 unacknowledged. */
  private async sender(id: string): Promise<void> {
    const client = await this.track(this.edge.connect(id));
    let seq = 0;
    let inFlight = 0;
    const body = Buffer.alloc(256, 0x61);
    const tickMs = 100;
    const perTick = RATE / (1000 / tickMs);
    let credit = 0;
    this.timers.push(
      setInterval(() => {
        credit += perTick;
        while (credit >= 1 && inFlight < 200 && !this.stopped) {
          credit -= 1;
          inFlight++;
          this.published++;
          client.publish(outputTopic(id, 'out', { seq: String(seq++) }), body, { qos: 1 }, (error) => {
            inFlight--;
            if (error === undefined || error === null) this.acked++;
            else if (!this.stopped) this.refused++;
          });
        }
      }, tickMs),
    );
  }

  /** Connects, publishes 5 messages, leaves; again and again until stopped. */
  private async churn(deviceId: string): Promise<void> {
    let seq = 0;
    while (!this.stopped) {
      try {
        const client = await this.track(this.edge.connect(deviceId, { clean: true }));
        for (let i = 0; i < 5; i++) {
          this.published++;
          await client.publishAsync(outputTopic(deviceId, '', { seq: String(seq++) }), 'leaf', { qos: 1 });
          this.acked++;
        }
        await client.endAsync();
        this.clients.delete(client);
        this.churnSessions++;
      } catch {
        // Ending the run closes connections under a churning leaf: only refusals before that count.
        if (!this.stopped) this.refused++;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private async track(connecting: Promise<MqttClient>): Promise<MqttClient> {
    const client = await connecting;
    client.on('error', () => undefined);
    this.clients.add(client);
    return client;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await Promise.all([...this.clients].map((c) => c.endAsync(true).catch(() => undefined)));
  }
}

async function main(): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgeport-soak-'));
  const identities = [`${EDGE_DEVICE}/sink`, ...Array.from({ length: SENDERS }, (_, i) => `${EDGE_DEVICE}/sensor${i + 1}`), ...Array.from({ length: CHURNERS }, (_, i) => `leaf${i + 1}`)];
  // The runtime opens its inspector on a free loopback port (printed on its stderr) for the samples.
  process.env['RUNTIME_NODE_ARGS'] = `${process.env['RUNTIME_NODE_ARGS'] ?? ''} --inspect=127.0.0.1:0`.trim();
  const edge = await startEdge({
    dataDir,
    identities,
    routes: {
      modules: 'FROM /messages/modules/* INTO BrokeredEndpoint("/modules/sink/inputs/modules")',
      leaves: 'FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO BrokeredEndpoint("/modules/sink/inputs/leaves")',
    },
    env: { EDGEPORT_HUB_AMQP_ENABLED: 'false' },
  });
  const pid = edge.runtime.pid;
  const inspectorUrl = /ws:\/\/127\.0\.0\.1:\d+\/[\w-]+/.exec(edge.runtime.stderr)?.[0];
  if (inspectorUrl === undefined) throw new Error(`the runtime did not open its inspector: ${edge.runtime.stderr}`);
  const inspector = await Inspector.connect(inspectorUrl);
  const traffic = new Traffic(edge);
  const samples: Sample[] = [];
  let failure: string | undefined;
  console.log(`soak: ${MINUTES} min, ${SENDERS} senders x ${RATE} msg/s, ${CHURNERS} leaves connecting and leaving, sample every ${SAMPLE_S} s, warm-up ${WARMUP_S} s, runtime pid ${pid}`);
  const started = Date.now();
  try {
    await traffic.start();
    let lastRouted = 0;
    while ((Date.now() - started) / 1000 < DURATION_S) {
      await new Promise((r) => setTimeout(r, SAMPLE_S * 1000));
      // The driver keeps only the last few hundred log lines (the runtime logs at info, as in production).
      if (edge.runtime.lines.length > 500) edge.runtime.lines.splice(0, edge.runtime.lines.length - 500);
      if (edge.runtime.exitCode !== undefined) throw new Error(`the runtime exited during the soak\n${edge.runtime.context()}`);
      const t = (Date.now() - started) / 1000;
      const sample = { t, ...(await inspector.memoryAfterGc()) };
      samples.push(sample);
      const rate = (traffic.routed - lastRouted) / SAMPLE_S;
      lastRouted = traffic.routed;
      console.log(`t=${t.toFixed(0).padStart(5)} s  rss=${sample.rssMb.toFixed(1)} MB  heap=${sample.heapMb.toFixed(1)} MB  routed=${traffic.routed} (${rate.toFixed(0)}/s)  churn sessions=${traffic.churnSessions}${t < WARMUP_S ? '  (warm-up)' : ''}`);
    }
  } catch (error) {
    failure = error instanceof Error ? error.message : String(error);
  } finally {
    await traffic.stop();
    inspector.close();
    await edge.runtime.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const measured = samples.filter((s) => s.t >= WARMUP_S);
  const windowH = measured.length > 1 ? (measured[measured.length - 1]!.t - measured[0]!.t) / 3600 : 0;
  const boundOf = (wanderMb: number): number => Math.max(FLOOR_MB_PER_HOUR, windowH > 0 ? wanderMb / windowH : Infinity);
  const rssBound = boundOf(WANDER_MB.rss);
  const heapBound = boundOf(WANDER_MB.heap);
  const rssSlope = slopePerHour(measured.map((s) => ({ t: s.t, y: s.rssMb })));
  const heapSlope = slopePerHour(measured.map((s) => ({ t: s.t, y: s.heapMb })));
  console.log(`soak: routed ${traffic.routed} messages (published ${traffic.published}, acknowledged ${traffic.acked}, refused ${traffic.refused}), ${traffic.churnSessions} leaf sessions`);
  console.log(`soak: RSS slope ${rssSlope.toFixed(1)} MB/h, heap slope ${heapSlope.toFixed(1)} MB/h over ${measured.length} samples (${(windowH * 60).toFixed(1)} min after ${WARMUP_S} s warm-up); noise bounds RSS ${rssBound.toFixed(1)}, heap ${heapBound.toFixed(1)} MB/h (max of ${FLOOR_MB_PER_HOUR} MB/h and ${WANDER_MB.rss} / ${WANDER_MB.heap} MB over the window)`);
  if (failure !== undefined) {
    console.error(`soak: FAILED: ${failure}`);
    return 1;
  }
  if (!values.assert) return 0;
  const problems: string[] = [];
  if (measured.length < 5) problems.push(`only ${measured.length} samples after the warm-up`);
  if (traffic.routed === 0) problems.push('no message was routed');
  if (traffic.refused > 0) problems.push(`${traffic.refused} publishes or connections refused under steady traffic`);
  if (rssSlope > rssBound) problems.push(`RSS grows ${rssSlope.toFixed(1)} MB/h (bound ${rssBound.toFixed(1)})`);
  if (heapSlope > heapBound) problems.push(`heap grows ${heapSlope.toFixed(1)} MB/h (bound ${heapBound.toFixed(1)})`);
  if (problems.length > 0) {
    console.error(`soak: FAILED: ${problems.join('; ')}`);
    return 1;
  }
  console.log('soak: OK (no growth beyond noise)');
  return 0;
}

process.exitCode = await main();
