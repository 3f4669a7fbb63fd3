/**
 * Store benchmark: `npm run bench:store [-- --messages=200000 --replay=1000000 --body=1024]`.
 * - durable: ingest-and-acknowledge of `--body` byte messages routed to two endpoints through the
 *   real pipeline (routing, group commit, SQLite WAL synchronous=NORMAL), many senders in flight.
 * - raw: the same rows (one message row + two queue rows per message), pre-encoded, written with
 *   batched multi-row INSERTs straight into the same SQLite file in the same run. Reported per
 *   message (one message row with its two queue rows), so R = durable / raw compares like with like.
 * - replay: a `--replay` message backlog (upstream down) drained through the pump, with RSS growth.
 * The last line is `store: durable/raw = R (durable N msg/s, raw M rows/s)`.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Endpoint } from '../domain/routing/index.js';
import type { Message } from '../domain/messages/message.js';
import { NEVER_EXPIRES } from '../domain/messages/store-and-forward.js';
import { EndpointDelivery, type AvailabilityListener, type DeliveryResult } from '../application/ports/endpoint-delivery.js';
import { Logger } from '../application/ports/logger.js';
import { DeliverStoredMessages } from '../application/hub/deliver-stored-messages.js';
import { IngestMessage } from '../application/hub/ingest-message.js';
import { PipelineMetrics } from '../application/hub/pipeline-metrics.js';
import { PipelineOptions } from '../application/hub/pipeline-options.js';
import { QueueSignal } from '../application/hub/queue-signal.js';
import { RouteConfig } from '../application/hub/route-config.js';
import { SystemClock } from '../adapters/clock/system-clock.js';
import { InMemoryMetrics } from '../test/support/in-memory-metrics.js';
import { CryptoRandomSource } from '../adapters/random/crypto-random-source.js';
import { createDataSource } from '../adapters/storage/create-data-source.js';
import type { SqliteDatabase } from '../adapters/storage/sqlite-database.js';
import { SqlMessageStore } from '../adapters/storage/sql-message-store.js';
import { arg } from './bench-args.js';

const MESSAGES = arg('messages', 200_000);
const REPLAY = arg('replay', 1_000_000);
const BODY = arg('body', 1024);
const WINDOW = arg('window', 2000);

class QuietLogger extends Logger {
  debug(): void {}
  info(): void {}
  warn(): void {}
  error(message: string, fields?: Record<string, unknown>): void {
    process.stderr.write(`${message} ${JSON.stringify(fields ?? {})}\n`);
  }
  child(): Logger {
    return this;
  }
}

/** Endpoints that count deliveries; availability switchable. */
class CountingDelivery extends EndpointDelivery {
  available = false;
  delivered = 0;
  private readonly listeners = new Set<AvailabilityListener>();
  isAvailable(): boolean {
    return this.available;
  }
  onAvailabilityChange(listener: AvailabilityListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  setAvailable(endpointIds: string[], available: boolean): void {
    this.available = available;
    for (const id of endpointIds) for (const l of this.listeners) l(id, available);
  }
  async deliver(_endpoint: Endpoint, messages: readonly Message[]): Promise<DeliveryResult> {
    this.delivered += messages.length;
    return { delivered: messages.length };
  }
}

async function openPipeline(path: string, routes: Record<string, string>) {
  const dataSource = createDataSource({ kind: 'sqlite', path });
  const store = new SqlMessageStore(dataSource);
  await store.open();
  const clock = new SystemClock();
  const random = new CryptoRandomSource();
  const metrics = new PipelineMetrics(new InMemoryMetrics());
  const options = new PipelineOptions({ cleanupIntervalMs: 3_600_000 });
  const routeConfig = new RouteConfig();
  const r = routeConfig.replace(routes);
  if (!r.ok) throw new Error(r.error);
  const signal = new QueueSignal();
  const delivery = new CountingDelivery();
  const ingest = new IngestMessage(routeConfig, store, clock, random, signal, metrics, options);
  const pumps = new DeliverStoredMessages(store, delivery, signal, clock, random, metrics, options, new QuietLogger());
  await pumps.start();
  return { dataSource, store, ingest, pumps, delivery };
}

const SENDER = { deviceId: 'edge1', moduleId: 'sensor' };
function message(i: number): Message {
  // A Buffer from Node's pool, like an MQTT payload sliced from a socket read (not a fresh ArrayBuffer).
  return { body: Buffer.allocUnsafe(BODY).fill(i % 251), properties: { id: String(i), kind: 'bench' }, systemProperties: { outputName: 'out', contentType: 'application/json' } };
}

/** Ingests `count` messages with up to WINDOW unacknowledged at once; resolves with msg/s. */
async function ingestAll(ingest: IngestMessage, first: number, count: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  let next = first;
  const end = first + count;
  await new Promise<void>((resolve, reject) => {
    let inFlight = 0;
    const fill = (): void => {
      while (inFlight < WINDOW && next < end) {
        inFlight++;
        ingest.ingest(message(next++), SENDER).then(() => {
          inFlight--;
          if (next === end && inFlight === 0) resolve();
          else fill();
        }, reject);
      }
    };
    fill();
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return count / seconds;
}

function rawInsert(db: SqliteDatabase, firstSeq: number, count: number): number {
  const props = JSON.stringify(message(0).properties);
  const sys = JSON.stringify({ ...message(0).systemProperties, connectionDeviceId: 'edge1', connectionModuleId: 'sensor', edgeMessageId: '6d3b4a56-7b39-4f4c-9a55-9c2a4fbd1a3e' });
  const body = Buffer.alloc(BODY, 7);
  const CHUNK = 64;
  const row7 = `(${new Array(7).fill('?').join(',')})`;
  const row3 = '(?,?,?)';
  const insM = db.prepare(`INSERT INTO messages (seq, enqueued_at, size, ref_count, properties, system_properties, body) VALUES ${new Array(CHUNK).fill(row7).join(',')}`);
  const insE = db.prepare(`INSERT INTO queue_entries (queue_id, msg_seq, expires_at) VALUES ${new Array(CHUNK * 2).fill(row3).join(',')}`);
  const size = BODY + props.length + sys.length;
  const TX = 16 * CHUNK; // 1024 messages per transaction, like a full group commit
  // Pre-build every parameter array so only the inserts are timed.
  const batches: Array<{ m: unknown[][]; e: unknown[][] }> = [];
  for (let start = 0; start < count; start += TX) {
    const m: unknown[][] = [];
    const e: unknown[][] = [];
    for (let c = start; c < Math.min(count, start + TX); c += CHUNK) {
      const pm: unknown[] = [];
      const pe: unknown[] = [];
      for (let i = c; i < c + CHUNK; i++) {
        const seq = firstSeq + i;
        pm.push(seq, Date.now(), size, 2, props, sys, body);
        pe.push(1, seq, NEVER_EXPIRES, 2, seq, NEVER_EXPIRES);
      }
      m.push(pm);
      e.push(pe);
    }
    batches.push({ m, e });
  }
  const tx = db.transaction((b: { m: unknown[][]; e: unknown[][] }) => {
    for (const p of b.m) insM.run(p);
    for (const p of b.e) insE.run(p);
  });
  // The baseline is plain SQLite: its own automatic WAL checkpoints, which the store turns off on
  // this connection when it has a writer thread (that thread checkpoints instead, docs/storage.md).
  const autocheckpoint = db.pragma('wal_autocheckpoint', { simple: true }) as number;
  db.pragma('wal_autocheckpoint = 1000');
  const t0 = process.hrtime.bigint();
  try {
    for (const b of batches) tx(b);
  } finally {
    db.pragma(`wal_autocheckpoint = ${autocheckpoint}`);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return (batches.length * TX) / seconds;
}

const mb = (n: number): string => (n / 2 ** 20).toFixed(1);

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeport-bench-'));
  try {
    // 1. durable vs raw, same file, same run.
    const path = join(dir, 'durable.db');
    const two = {
      up: 'FROM /messages/modules/sensor/outputs/* INTO $upstream',
      filter: 'FROM /messages/modules/sensor/outputs/* INTO BrokeredEndpoint("/modules/filter/inputs/input1")',
    };
    const d = await openPipeline(path, two);
    await ingestAll(d.ingest, 0, Math.min(20_000, MESSAGES)); // warm-up
    const db = (d.dataSource.driver as unknown as { databaseConnection: SqliteDatabase }).databaseConnection;
    // Alternate durable and raw rounds on the same file so machine noise hits both alike; report medians.
    const ROUNDS = 5;
    const perRound = Math.ceil(MESSAGES / ROUNDS / 1024) * 1024;
    const durables: number[] = [];
    const raws: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      durables.push(await ingestAll(d.ingest, 1_000_000 + round * perRound, perRound));
      raws.push(rawInsert(db, 1_000_000_000 + round * perRound, perRound));
    }
    // Each durable round and the raw round right after it ran under the same machine conditions, so
    // the ratio is taken per round; the round with the median ratio is reported (R = N / M holds).
    const ratios = durables.map((dur, i) => dur / raws[i]!);
    const order = ratios.map((_, i) => i).sort((a, b) => ratios[a]! - ratios[b]!);
    const mid = order[Math.floor(order.length / 2)]!;
    const durable = durables[mid]!;
    const raw = raws[mid]!;
    console.log(
      `durable: ${ROUNDS} rounds x ${perRound} x ${BODY} B messages to 2 endpoints, ${WINDOW} in flight: ` +
        `${durables.map(Math.round).join(', ')} msg/s acknowledged`,
    );
    console.log(
      `raw: same rows with multi-row INSERTs, 1024 messages (3072 rows) per transaction, right after each durable round: ` +
        `${raws.map(Math.round).join(', ')} messages/s (x3 table rows); ratios ${ratios.map((r) => r.toFixed(2)).join(', ')}, median round ${mid + 1}`,
    );
    await d.pumps.stop();
    await d.dataSource.destroy();

    // 2. replay of a backlog.
    if (REPLAY > 0) {
      const rpath = join(dir, 'replay.db');
      const r = await openPipeline(rpath, { up: 'FROM /messages/modules/sensor/outputs/* INTO $upstream' });
      const ingestRate = await ingestAll(r.ingest, 0, REPLAY);
      await r.pumps.sweepNow();
      const fileSize = (await stat(rpath)).size;
      console.log(`replay backlog: ${REPLAY} x ${BODY} B stored at ${Math.round(ingestRate)} msg/s, file ${mb(fileSize)} MB`);
      global.gc?.();
      const baseUsage = process.memoryUsage();
      const base = baseUsage.rss;
      let peak = base;
      let atPeak = baseUsage;
      const sampler = setInterval(() => {
        const u = process.memoryUsage();
        if (u.rss > peak) {
          peak = u.rss;
          atPeak = u;
        }
      }, 25);
      const t0 = process.hrtime.bigint();
      r.delivery.setAvailable(['$upstream'], true);
      await new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (r.delivery.delivered >= REPLAY) {
            clearInterval(check);
            resolve();
          }
        }, 5);
      });
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      clearInterval(sampler);
      await r.pumps.sweepNow();
      const after = (await stat(rpath)).size;
      console.log(
        `replay: ${REPLAY} msgs in ${seconds.toFixed(1)} s = ${Math.round(REPLAY / seconds)} msg/s, RSS growth ${mb(peak - base)} MB ` +
          `(base ${mb(base)} MB, peak ${mb(peak)} MB; at the peak V8 heap ${mb(atPeak.heapTotal - baseUsage.heapTotal)} MB more, ` +
          `buffers ${mb(atPeak.external - baseUsage.external)} MB more), file ${mb(fileSize)} MB -> ${mb(after)} MB after cleanup`,
      );
      await r.pumps.stop();
      await r.dataSource.destroy();
    }
    console.log(`store: durable/raw = ${(durable / raw).toFixed(2)} (durable ${Math.round(durable)} msg/s, raw ${Math.round(raw)} rows/s)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
