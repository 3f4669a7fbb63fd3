import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageTooLargeError } from '../../../domain/messages/message.js';
import { DeliveryError } from '../../../application/ports/endpoint-delivery.js';
import { UNCLASSIFIED_FAILURE_ATTEMPTS } from '../../../application/hub/delivery-failure.js';
import { StoreFullError, type AppendItem } from '../../../application/ports/message-store.js';
import { InMemoryMessageStore } from '../../../adapters/storage/in-memory-message-store.js';
import { FakeClock } from '../../support/fake-clock.js';
import { SENSOR, buildPipeline, eventually, settle, telemetry } from '../../support/pipeline-harness.js';

const ROUTES = {
  up: 'FROM /messages/modules/sensor/outputs/* INTO $upstream',
  filter: 'FROM /messages/modules/sensor/outputs/* INTO BrokeredEndpoint("/modules/filter/inputs/input1")',
};

test('ingest stores once for every matched endpoint, resolves after commit, and pumps deliver in order', async () => {
  const store = new InMemoryMessageStore();
  const clock = new FakeClock();
  const p = buildPipeline({ store, clock, routes: ROUTES });
  await p.pumps.start();
  const results = await Promise.all(Array.from({ length: 300 }, (_, i) => p.ingest.ingest(telemetry(i), SENSOR)));
  assert.ok(results.every((r) => r.queues === 2));
  await eventually(() => p.delivery.ids('$upstream').length === 300 && p.delivery.ids('filter/input1').length === 300);
  // The pump counts a batch once its delivery resolved, a little after the endpoint recorded it.
  await eventually(() => p.metrics.value('edgeport_messages_sent_total', { endpoint: '$upstream' }) === 300, 2000, 'sent counted');
  const expected = Array.from({ length: 300 }, (_, i) => String(i));
  assert.deepEqual(p.delivery.ids('$upstream'), expected);
  assert.deepEqual(p.delivery.ids('filter/input1'), expected);
  const first = p.delivery.delivered.get('$upstream')![0]!;
  assert.equal(first.systemProperties['connectionDeviceId'], 'edge1');
  assert.equal(first.systemProperties['connectionModuleId'], 'sensor');
  assert.ok(first.systemProperties['edgeMessageId']);
  assert.equal(p.metrics.value('edgeport_messages_received_total'), 300);
  assert.equal(p.metrics.value('edgeport_messages_sent_total', { endpoint: '$upstream' }), 300);
  await eventually(() => store.usedBytes() === 0, 2000, 'store emptied');
  assert.equal(p.metrics.value('edgeport_queue_length', { endpoint: '$upstream' }), 0);
  await p.pumps.stop();
});

test('concurrent senders are group-committed: one transaction for many messages', async () => {
  const store = new InMemoryMessageStore();
  const appends: number[] = [];
  const original = store.append.bind(store);
  store.append = async (items: readonly AppendItem[]) => {
    appends.push(items.length);
    return await original(items);
  };
  const p = buildPipeline({ store, clock: new FakeClock(), routes: ROUTES, options: { maxWriteBatch: 256 } });
  await Promise.all(Array.from({ length: 1000 }, (_, i) => p.ingest.ingest(telemetry(i), SENSOR)));
  assert.equal(appends.reduce((a, b) => a + b, 0), 1000);
  assert.ok(appends.length <= 5, `expected few commits, got ${appends.length}`);
  assert.ok(appends.every((n) => n <= 256));
});

test('group commits are pipelined: the next batch goes to the store while one commits (two at most); each resolves only after its own commit, a failed one rejects only its senders', async () => {
  const store = new InMemoryMessageStore();
  const calls: Array<{ size: number; commit: (error?: Error) => void }> = [];
  const original = store.append.bind(store);
  store.append = (items: readonly AppendItem[]) =>
    new Promise<number[]>((resolve, reject) => {
      calls.push({ size: items.length, commit: (error) => (error === undefined ? original(items).then(resolve, reject) : reject(error)) });
    });
  const p = buildPipeline({ store, clock: new FakeClock(), routes: ROUTES, options: { maxWriteBatch: 10 } });
  const outcome: string[] = [];
  const sends = Array.from({ length: 30 }, (_, i) =>
    p.ingest.ingest(telemetry(i), SENSOR).then(
      () => outcome.push(`stored ${i}`),
      (error: Error) => outcome.push(`${error.message} ${i}`),
    ),
  );
  await settle();
  assert.deepEqual(calls.map((c) => c.size), [10, 10], 'the second batch is handed over before the first commits; the third waits');
  assert.deepEqual(outcome, [], 'nothing resolves before its commit');
  calls[0]!.commit(new Error('disk gone'));
  await settle();
  assert.deepEqual(outcome, Array.from({ length: 10 }, (_, i) => `disk gone ${i}`));
  assert.deepEqual(calls.map((c) => c.size), [10, 10, 10], 'the third batch goes once one of two settled');
  calls[2]!.commit();
  await settle();
  assert.equal(outcome.length, 10, 'a later batch that committed first waits for the earlier one: completions keep their order');
  calls[1]!.commit();
  await Promise.all(sends);
  assert.deepEqual(outcome.slice(10), Array.from({ length: 20 }, (_, i) => `stored ${10 + i}`));
  await p.ingest.drain();
  assert.equal(p.metrics.value('edgeport_messages_received_total'), 20);
});

test('a pump that keeps up takes new entries from memory (no read back); an unavailable endpoint leaves them on disk', async () => {
  const store = new InMemoryMessageStore();
  const reads: string[] = [];
  const read = store.read.bind(store);
  store.read = async (queue, after, limit) => {
    reads.push(queue.endpointId);
    return await read(queue, after, limit);
  };
  const p = buildPipeline({ store, clock: new FakeClock(), routes: ROUTES });
  p.delivery.setAvailable('filter/input1', false);
  await p.pumps.start();
  // The first message creates the queues (read from the store); later ones, sent one by one while
  // the upstream keeps up, come from memory.
  for (let i = 0; i < 50; i++) {
    await p.ingest.ingest(telemetry(i), SENSOR);
    await eventually(() => p.delivery.ids('$upstream').length === i + 1);
  }
  const upstreamReads = reads.filter((e) => e === '$upstream').length;
  assert.ok(upstreamReads <= 2, `upstream pump read the store ${upstreamReads} times for 50 messages`);
  assert.deepEqual(p.delivery.ids('$upstream'), Array.from({ length: 50 }, (_, i) => String(i)));
  // The module was offline: its 50 messages are delivered from the store, in order, once it connects.
  assert.equal(p.delivery.ids('filter/input1').length, 0);
  p.delivery.setAvailable('filter/input1', true);
  await eventually(() => p.delivery.ids('filter/input1').length === 50);
  assert.deepEqual(p.delivery.ids('filter/input1'), Array.from({ length: 50 }, (_, i) => String(i)));
  assert.ok(reads.includes('filter/input1'));
  await p.pumps.stop();
});

test('an unrouted message is acknowledged without storing; an oversized one is refused', async () => {
  const store = new InMemoryMessageStore();
  const p = buildPipeline({ store, clock: new FakeClock(), routes: ROUTES });
  const r = await p.ingest.ingest(telemetry(1), { deviceId: 'leaf' });
  assert.equal(r.queues, 0);
  assert.equal(store.queues().length, 0);
  await assert.rejects(p.ingest.ingest(telemetry(2, 300 * 1024), SENSOR), MessageTooLargeError);
  assert.equal(p.metrics.value('edgeport_messages_unrouted_total'), 1);
});

test('queues drain strictly by priority, and a module endpoint waits until its module connects', async () => {
  const store = new InMemoryMessageStore();
  const clock = new FakeClock();
  const p = buildPipeline({
    store,
    clock,
    routes: {
      low: { route: 'FROM /messages/modules/sensor/outputs/low INTO BrokeredEndpoint("/modules/filter/inputs/in")', priority: 5 },
      high: { route: 'FROM /messages/modules/sensor/outputs/high INTO BrokeredEndpoint("/modules/filter/inputs/in")', priority: 0 },
    },
    options: { deliveryBatchSize: 10, readPageSize: 20 },
  });
  p.delivery.setAvailable('filter/in', false);
  await p.pumps.start();
  await Promise.all(Array.from({ length: 50 }, (_, i) => p.ingest.ingest(telemetry(`l${i}`, 4, 'low'), SENSOR)));
  await Promise.all(Array.from({ length: 30 }, (_, i) => p.ingest.ingest(telemetry(`h${i}`, 4, 'high'), SENSOR)));
  await settle();
  assert.equal(p.delivery.ids('filter/in').length, 0, 'nothing delivered while the module is disconnected');
  p.delivery.setAvailable('filter/in', true);
  await eventually(() => p.delivery.ids('filter/in').length === 80);
  const ids = p.delivery.ids('filter/in');
  assert.deepEqual(ids.slice(0, 30), Array.from({ length: 30 }, (_, i) => `h${i}`));
  assert.deepEqual(ids.slice(30), Array.from({ length: 50 }, (_, i) => `l${i}`));
  await p.pumps.stop();
});

test('a higher-priority message overtakes a backlog of lower priority after the current batch', async () => {
  const store = new InMemoryMessageStore();
  const p = buildPipeline({
    store,
    clock: new FakeClock(),
    routes: {
      low: { route: 'FROM /messages/modules/sensor/outputs/low INTO $upstream', priority: 5 },
      high: { route: 'FROM /messages/modules/sensor/outputs/high INTO $upstream', priority: 1 },
    },
    options: { deliveryBatchSize: 5, upstreamBatchSize: 5, readPageSize: 50 },
  });
  let injected = false;
  p.delivery.onDeliver = (_e, m) => {
    if (m.properties['id'] === 'l7' && !injected) {
      injected = true;
      void p.ingest.ingest(telemetry('h0', 4, 'high'), SENSOR);
    }
  };
  await Promise.all(Array.from({ length: 40 }, (_, i) => p.ingest.ingest(telemetry(`l${i}`, 4, 'low'), SENSOR)));
  await p.pumps.start();
  await eventually(() => p.delivery.ids('$upstream').length === 41);
  const ids = p.delivery.ids('$upstream');
  const at = ids.indexOf('h0');
  assert.ok(at > 7 && at <= 15, `h0 delivered at ${at}`);
  await p.pumps.stop();
});

test('transient failures retry with exponential back-off on the clock; success resets it', async () => {
  const store = new InMemoryMessageStore();
  const clock = new FakeClock();
  const p = buildPipeline({ store, clock, routes: { up: 'FROM /messages/* INTO $upstream' } });
  const attemptsAt: number[] = [];
  let failures = 4;
  p.delivery.fail = () => {
    attemptsAt.push(clock.now());
    if (failures > 0) {
      failures--;
      return new DeliveryError('connection lost', true);
    }
    return undefined;
  };
  await p.pumps.start();
  const t0 = clock.now();
  await p.ingest.ingest(telemetry(1), SENSOR);
  await eventually(() => attemptsAt.length === 1);
  for (const step of [1000, 2000, 4000, 8000]) {
    clock.advance(step - 1);
    await settle();
    const before = attemptsAt.length;
    clock.advance(1);
    await eventually(() => attemptsAt.length === before + 1, 2000, `retry after ${step} ms`);
  }
  assert.deepEqual(attemptsAt.map((t) => t - t0), [0, 1000, 3000, 7000, 15000]);
  assert.deepEqual(p.delivery.ids('$upstream'), ['1']);
  await p.pumps.stop();
});

test('a non-transient failure drops that message, logs and counts it, and delivery goes on', async () => {
  const store = new InMemoryMessageStore();
  const p = buildPipeline({ store, clock: new FakeClock(), routes: { up: 'FROM /messages/* INTO $upstream' } });
  p.delivery.fail = (_e, m) => (m.properties['id'] === '2' ? new DeliveryError('message rejected by IoT Hub: bad property', false) : undefined);
  await p.pumps.start();
  await Promise.all([1, 2, 3].map((i) => p.ingest.ingest(telemetry(i), SENSOR)));
  await eventually(() => p.delivery.ids('$upstream').length === 2);
  await settle();
  assert.deepEqual(p.delivery.ids('$upstream'), ['1', '3']);
  assert.equal(p.metrics.value('edgeport_messages_dropped_total', { reason: 'delivery_failed' }), 1);
  assert.ok(p.logger.lines.some((l) => l.level === 'warn' && l.message.includes('dropped')));
  await p.pumps.stop();
});

test('an unclassified error (not a DeliveryError) is retried with back-off, and the message dropped only after the last attempt', async () => {
  const clock = new FakeClock();
  const p = buildPipeline({ store: new InMemoryMessageStore(), clock, routes: { up: 'FROM /messages/* INTO $upstream' } });
  let attempts = 0;
  p.delivery.fail = (_e, m) => {
    if (m.properties['id'] !== '1') return undefined;
    attempts++;
    return new Error('write EAGAIN');
  };
  await p.pumps.start();
  await Promise.all([1, 2].map((i) => p.ingest.ingest(telemetry(i), SENSOR)));
  await eventually(() => attempts === 1);
  for (let n = 2; n <= UNCLASSIFIED_FAILURE_ATTEMPTS; n++) {
    await settle();
    // Nothing is dropped, and nothing behind the failing message delivered, while attempts remain.
    assert.deepEqual(p.delivery.ids('$upstream'), []);
    assert.equal(p.metrics.value('edgeport_messages_dropped_total', { reason: 'delivery_failed' }), 0);
    clock.advance(61_000);
    await eventually(() => attempts === n, 2000, `attempt ${n}`);
  }
  await eventually(() => p.delivery.ids('$upstream').length === 1);
  assert.deepEqual(p.delivery.ids('$upstream'), ['2']);
  assert.equal(attempts, UNCLASSIFIED_FAILURE_ATTEMPTS);
  assert.equal(p.metrics.value('edgeport_messages_dropped_total', { reason: 'delivery_failed' }), 1);
  await p.pumps.stop();
});

test('route updates swap the table atomically; invalid routes keep the old table', () => {
  const p = buildPipeline({ store: new InMemoryMessageStore(), clock: new FakeClock(), routes: ROUTES });
  const bad = p.routes.replace({ broken: 'FROM /messages/* INTO nowhere' });
  assert.equal(bad.ok, false);
  assert.equal(p.routes.table.size, 2);
  assert.deepEqual(p.routes.replace({ one: 'FROM /messages/* INTO $upstream' }), { ok: true, size: 1, warnings: [] });
});

test('store limit: new messages are refused with StoreFullError, nothing stored is dropped', async () => {
  const store = new InMemoryMessageStore();
  const p = buildPipeline({ store, clock: new FakeClock(), routes: ROUTES, options: { maxStoreBytes: 10_000 } });
  p.delivery.setAvailable('$upstream', false);
  p.delivery.setAvailable('filter/input1', false);
  let accepted = 0;
  let refused: unknown;
  for (let i = 0; i < 100 && refused === undefined; i++) {
    try {
      await p.ingest.ingest(telemetry(i, 500), SENSOR);
      accepted++;
    } catch (error) {
      refused = error;
    }
  }
  assert.ok(refused instanceof StoreFullError, 'the sender gets StoreFullError');
  assert.equal(refused.code, 'STORE_FULL');
  assert.match(refused.message, /full/);
  assert.ok(accepted > 5 && store.usedBytes() <= 10_000);
  await p.pumps.start();
  p.delivery.setAvailable('$upstream', true);
  p.delivery.setAvailable('filter/input1', true);
  await eventually(() => p.delivery.ids('$upstream').length === accepted && p.delivery.ids('filter/input1').length === accepted);
  assert.equal(p.metrics.value('edgeport_messages_refused_total', { reason: 'store_full' }), 1);
  await eventually(() => store.usedBytes() === 0);
  await p.ingest.ingest(telemetry('after'), SENSOR);
  await p.pumps.stop();
});

test('TTL (fake clock): expired messages are removed and counted, on disk and in a held page, never twice', async () => {
  const store = new InMemoryMessageStore();
  const clock = new FakeClock();
  const p = buildPipeline({
    store,
    clock,
    routes: {
      up: { route: 'FROM /messages/* INTO $upstream', timeToLiveSecs: 10 },
      filter: 'FROM /messages/* INTO BrokeredEndpoint("/modules/filter/inputs/input1")',
    },
    options: { timeToLiveSecs: 60, cleanupIntervalMs: 30_000, readPageSize: 4, deliveryBatchSize: 2 },
  });
  // Upstream is reachable but failing (the pump holds a page in memory); filter is disconnected (all on disk).
  p.delivery.fail = (e) => (e.id === '$upstream' ? new DeliveryError('offline', true) : undefined);
  p.delivery.setAvailable('filter/input1', false);
  await p.pumps.start();
  await Promise.all(Array.from({ length: 10 }, (_, i) => p.ingest.ingest(telemetry(i), SENSOR)));
  await settle(10);
  clock.advance(9_000);
  await settle(10);
  await p.pumps.sweepNow();
  assert.equal(p.metrics.value('edgeport_messages_dropped_total', { reason: 'ttl_expiry' }), 0);
  clock.advance(1_500);
  await settle(10);
  await p.pumps.sweepNow();
  await settle(10);
  assert.equal(p.metrics.value('edgeport_messages_dropped_total', { endpoint: '$upstream', reason: 'ttl_expiry' }), 10);
  assert.equal(store.queues().find((q) => q.endpointId === '$upstream')?.length, 0);
  assert.equal(p.metrics.value('edgeport_queue_length', { endpoint: '$upstream' }), 0);
  // filter's TTL is the global 60 s: still stored; the periodic sweep removes them once it passes.
  assert.equal(store.queues().find((q) => q.endpointId === 'filter/input1')?.length, 10);
  clock.advance(60_000);
  await eventually(() => p.metrics.value('edgeport_messages_dropped_total', { endpoint: 'filter/input1', reason: 'ttl_expiry' }) === 10, 2000);
  assert.equal(store.usedBytes(), 0);
  p.delivery.setAvailable('filter/input1', true);
  await settle(10);
  assert.equal(p.delivery.ids('filter/input1').length, 0, 'expired messages are never delivered');
  assert.equal(p.metrics.value('edgeport_messages_dropped_total', { reason: 'ttl_expiry' }), 20);
  await p.pumps.stop();
});

test('gauges follow the backlog: queue length per endpoint and priority, store bytes', async () => {
  const store = new InMemoryMessageStore();
  const p = buildPipeline({ store, clock: new FakeClock(), routes: ROUTES });
  p.delivery.setAvailable('$upstream', false);
  await p.pumps.start();
  await Promise.all(Array.from({ length: 25 }, (_, i) => p.ingest.ingest(telemetry(i), SENSOR)));
  assert.equal(p.metrics.value('edgeport_queue_length', { endpoint: '$upstream', priority: '2000000000' }), 25);
  await eventually(() => p.metrics.value('edgeport_queue_length', { endpoint: 'filter/input1' }) === 0);
  assert.equal(p.metrics.value('edgeport_store_bytes'), store.usedBytes());
  assert.ok(store.usedBytes() > 0);
  p.delivery.setAvailable('$upstream', true);
  await eventually(() => p.metrics.value('edgeport_queue_length', { endpoint: '$upstream' }) === 0);
  await p.pumps.sweepNow();
  assert.equal(p.metrics.value('edgeport_store_bytes'), 0);
  const names = new Set(p.metrics.snapshot().map((s) => s.name));
  for (const n of ['edgeport_messages_received_total', 'edgeport_messages_sent_total', 'edgeport_queue_length', 'edgeport_store_bytes']) assert.ok(names.has(n), n);
  await p.pumps.stop();
});

test('a delivery adapter that throws synchronously is treated like a failed delivery, not a crash', async () => {
  const store = new InMemoryMessageStore();
  const clock = new FakeClock();
  const p = buildPipeline({ store, clock, routes: { up: 'FROM /messages/* INTO $upstream' } });
  let calls = 0;
  const original = p.delivery.deliver.bind(p.delivery);
  p.delivery.deliver = ((endpoint, messages) => {
    if (calls++ === 0) throw new DeliveryError('socket closed', true);
    return original(endpoint, messages);
  }) as typeof p.delivery.deliver;
  await p.pumps.start();
  await p.ingest.ingest(telemetry(1), SENSOR);
  await eventually(() => calls === 1);
  clock.advance(1000);
  await eventually(() => p.delivery.ids('$upstream').length === 1);
  await p.pumps.stop();
});
