import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Endpoint } from '../../../domain/routing/index.js';
import type { Message } from '../../../domain/messages/message.js';
import type { DeliveryResult } from '../../../application/ports/endpoint-delivery.js';
import { SystemClock } from '../../../adapters/clock/system-clock.js';
import { RecordingDelivery, SENSOR, buildPipeline, eventually, telemetry } from '../../support/pipeline-harness.js';
import { postgresFixture, sqliteFixture, type StoreFixture } from '../../support/storage-fixtures.js';
import { skipUnless } from '../../support/services.js';

// A real collection before each heap sample measures what is retained, not garbage awaiting GC.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Checks order on the fly and keeps only counters, so the test itself does not hold the backlog. */
class OrderCheckingDelivery extends RecordingDelivery {
  count = 0;
  lastId = -1;
  outOfOrder = 0;
  override async deliver(_endpoint: Endpoint, messages: readonly Message[]): Promise<DeliveryResult> {
    for (const m of messages) {
      const id = Number(m.properties['id']);
      if (id !== this.lastId + 1) this.outOfOrder++;
      this.lastId = id;
      this.count++;
    }
    return { delivered: messages.length };
  }
}

async function fileBytes(path: string): Promise<number> {
  let total = 0;
  for (const f of [path, `${path}-wal`]) total += await stat(f).then((s) => s.size, () => 0);
  return total;
}

async function outage(fixture: StoreFixture, count: number, body: number, sqlitePath?: string): Promise<void> {
  const { store, dataSource } = await fixture.open();
  const delivery = new OrderCheckingDelivery();
  const p = buildPipeline({
    store,
    clock: new SystemClock(),
    delivery,
    routes: { up: 'FROM /messages/modules/sensor/outputs/* INTO $upstream' },
    options: { readPageSize: 500, deliveryBatchSize: 100, cleanupIntervalMs: 3_600_000 },
  });
  delivery.setAvailable('$upstream', false);
  await p.pumps.start();

  const t0 = Date.now();
  let next = 0;
  await new Promise<void>((resolve, reject) => {
    let inFlight = 0;
    const pump = (): void => {
      while (inFlight < 2000 && next < count) {
        inFlight++;
        p.ingest.ingest(telemetry(next++, body), SENSOR).then(() => {
          inFlight--;
          if (next === count && inFlight === 0) resolve();
          else pump();
        }, reject);
      }
    };
    pump();
  });
  const ingestMs = Date.now() - t0;
  assert.equal(delivery.count, 0, 'nothing delivered while the upstream is down');
  assert.equal(store.queues()[0]!.length, count);
  await p.pumps.sweepNow();
  const bytesBacklog = sqlitePath === undefined ? 0 : await fileBytes(sqlitePath);

  gc();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakHeap = 0;
  let samples = 0;
  const sampler = setInterval(() => {
    gc();
    const m = process.memoryUsage();
    samples++;
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 50);
  const t1 = Date.now();
  delivery.setAvailable('$upstream', true);
  try {
    await eventually(() => delivery.count >= count, 120_000, 'backlog delivered');
  } finally {
    clearInterval(sampler);
  }
  const drainMs = Date.now() - t1;
  assert.equal(delivery.count, count);
  assert.equal(delivery.outOfOrder, 0, 'delivered in order');
  await eventually(() => store.queues()[0]!.length === 0 && store.usedBytes() === 0, 10_000, 'store emptied');
  await p.pumps.sweepNow();
  await p.pumps.stop();

  const heapGrowthMb = (peakHeap - base.heapUsed) / 2 ** 20;
  const rssGrowthMb = (peakRss - base.rss) / 2 ** 20;
  const backlogMb = (count * body) / 2 ** 20;
  let shrink = '';
  if (sqlitePath !== undefined) {
    const bytesAfter = await fileBytes(sqlitePath);
    shrink = `, file ${(bytesBacklog / 2 ** 20).toFixed(1)} MB -> ${(bytesAfter / 2 ** 20).toFixed(2)} MB`;
    assert.ok(bytesAfter < bytesBacklog / 10, `database shrinks after delivery (${bytesBacklog} -> ${bytesAfter})`);
  } else if (dataSource !== undefined) {
    const [m] = (await dataSource.query('SELECT count(*)::int AS n FROM messages')) as Array<{ n: number }>;
    const [e] = (await dataSource.query('SELECT count(*)::int AS n FROM queue_entries')) as Array<{ n: number }>;
    assert.equal(m?.n, 0);
    assert.equal(e?.n, 0);
    shrink = ', rows 0/0';
  }
  process.stdout.write(
    `# outage(${fixture.kind}): ${count} msgs x ${body} B (${backlogMb.toFixed(0)} MB of bodies): ingest ${ingestMs} ms, ` +
      `drain ${drainMs} ms (${Math.round(count / (drainMs / 1000))} msg/s), live heap ${(base.heapUsed / 2 ** 20).toFixed(1)} MB before, max ${(peakHeap / 2 ** 20).toFixed(1)} MB during (${samples} samples, growth ${heapGrowthMb.toFixed(1)} MB), ` +
      `RSS growth ${rssGrowthMb.toFixed(1)} MB${shrink}\n`,
  );
  // Flat memory: the backlog is paged from disk, so growth stays far below the backlog's size.
  assert.ok(samples >= 3, 'memory was sampled during the drain');
  assert.ok(heapGrowthMb < Math.min(16, backlogMb / 3), `heap grew ${heapGrowthMb.toFixed(1)} MB during the drain`);
}

test('outage (SQLite): 100 000 messages while the upstream is down, then delivered in order with flat memory; the file shrinks', { timeout: 150_000 }, async () => {
  const fixture = await sqliteFixture();
  try {
    await outage(fixture, 100_000, 512, fixture.path);
  } finally {
    await fixture.destroy();
  }
});

test('outage (PostgreSQL): 20 000 messages backlog delivered in order; rows go back to zero', { timeout: 120_000, skip: await skipUnless('postgres') }, async () => {
  const fixture = await postgresFixture();
  try {
    await outage(fixture, 20_000, 512);
  } finally {
    await fixture.destroy();
  }
});
