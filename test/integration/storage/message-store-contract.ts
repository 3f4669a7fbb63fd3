import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { messageSize, type Message } from '../../../domain/messages/message.js';
import { NEVER_EXPIRES } from '../../../domain/messages/store-and-forward.js';
import { StoreFullError, type AppendItem, type MessageStore } from '../../../application/ports/message-store.js';
import { FakeClock } from '../../support/fake-clock.js';
import { SENSOR, buildPipeline, eventually, settle, telemetry } from '../../support/pipeline-harness.js';
import type { StoreFixture } from '../../support/storage-fixtures.js';

const UP = { endpointId: '$upstream', priority: 2000000000 };
const MOD = { endpointId: 'filter/input1', priority: 0 };

function msg(id: number, body = 8): Message {
  return {
    body: Uint8Array.from({ length: body }, (_, i) => (i + id) % 256),
    properties: { id: String(id), empty: null, 'ünï': 'çødé' },
    systemProperties: { connectionDeviceId: 'edge1', edgeMessageId: `m${id}` },
  };
}

function item(id: number, queues: Array<typeof UP>, expiresAt = NEVER_EXPIRES, enqueuedAt = 1000): AppendItem {
  return { message: msg(id), enqueuedAt, entries: queues.map((q) => ({ ...q, expiresAt })) };
}

const ids = (rows: Array<{ message: Message }>): string[] => rows.map((r) => r.message.properties['id'] ?? '');

/**
 * The MessageStore contract: every adapter (SQLite, PostgreSQL, in memory) must pass it unchanged.
 * `durable` adds the reopen checks.
 */
export function messageStoreContract(label: string, makeFixture: () => Promise<StoreFixture>, options: { skip: false | string; durable: boolean }): void {
  describe(`MessageStore contract: ${label}`, { skip: options.skip, concurrency: false }, () => {
    async function withStore(run: (store: MessageStore, fixture: StoreFixture) => Promise<void>): Promise<void> {
      const fixture = await makeFixture();
      try {
        const { store } = await fixture.open();
        await run(store, fixture);
      } finally {
        await fixture.destroy();
      }
    }

    test('append then read pages in commit order, with messages round-tripped exactly', () =>
      withStore(async (store) => {
        const offsets = await store.append([item(1, [UP, MOD]), item(2, [UP]), item(3, [MOD, UP])]);
        assert.equal(offsets.length, 3);
        assert.ok(offsets[0]! < offsets[1]! && offsets[1]! < offsets[2]!);
        const more = await store.append(Array.from({ length: 700 }, (_, i) => item(10 + i, [UP])));
        assert.ok(more[0]! > offsets[2]!);
        const page1 = await store.read(UP, 0, 2);
        assert.deepEqual(ids(page1), ['1', '2']);
        const page2 = await store.read(UP, page1[1]!.offset, 2);
        assert.deepEqual(ids(page2), ['3', '10']);
        assert.deepEqual(ids(await store.read(MOD, 0, 10)), ['1', '3']);
        const all = await store.read(UP, 0, 10_000);
        assert.equal(all.length, 703);
        const m = page1[0]!;
        assert.deepEqual(m.message.properties, msg(1).properties);
        assert.deepEqual(m.message.systemProperties, msg(1).systemProperties);
        assert.deepEqual([...m.message.body], [...msg(1).body]);
        assert.equal(m.expiresAt, NEVER_EXPIRES);
        assert.equal(m.enqueuedAt, 1000);
        const q = store.queues().find((x) => x.endpointId === '$upstream')!;
        assert.equal(q.length, 703);
        assert.equal(q.checkpoint, 0);
        assert.deepEqual(await store.read({ endpointId: 'nobody', priority: 1 }, 0, 10), []);
      }));

    test('checkpoint removes entries up to the offset; a message shared by queues is freed with its last entry', () =>
      withStore(async (store) => {
        const [o1, o2, o3] = await store.append([item(1, [UP, MOD]), item(2, [UP]), item(3, [MOD])]);
        const total = store.usedBytes();
        assert.ok(total > 0);
        await store.checkpoint(UP, o2!);
        assert.deepEqual(ids(await store.read(UP, 0, 10)), []);
        assert.equal(store.queues().find((q) => q.endpointId === '$upstream')!.length, 0);
        assert.equal(store.queues().find((q) => q.endpointId === '$upstream')!.checkpoint, o2);
        // Message 1 is still referenced by MOD; message 2 is gone.
        assert.deepEqual(ids(await store.read(MOD, 0, 10)), ['1', '3']);
        const after = store.usedBytes();
        assert.ok(after < total && after > 0);
        await store.checkpoint(MOD, o1!);
        await store.checkpoint(MOD, o1! - 1); // lower than the checkpoint: ignored
        assert.deepEqual(ids(await store.read(MOD, 0, 10)), ['3']);
        await store.checkpoint(MOD, o3!);
        assert.equal(store.usedBytes(), 0);
        assert.ok(store.queues().every((q) => q.length === 0));
        await store.compact();
      }));

    test('removeExpired removes leading expired entries after the given offset and stops at the first live one', () =>
      withStore(async (store) => {
        const offs = await store.append([
          item(1, [UP], 100),
          item(2, [UP], 200),
          item(3, [UP], 300),
          item(4, [UP], 150),
          item(5, [UP, MOD], 100),
        ]);
        assert.equal(await store.removeExpired(UP, 0, 50), 0);
        assert.equal(await store.removeExpired(UP, offs[0]!, 250), 1); // skips entry 1 (held in memory), removes 2, stops at 3
        assert.deepEqual(ids(await store.read(UP, 0, 10)), ['1', '3', '4', '5']);
        assert.equal(await store.removeExpired(UP, 0, 1000), 4);
        assert.equal(store.queues().find((q) => q.endpointId === '$upstream')!.length, 0);
        assert.deepEqual(ids(await store.read(MOD, 0, 10)), ['5']);
        await store.checkpoint(MOD, offs[4]!);
        assert.equal(store.usedBytes(), 0);
      }));

    test('a message in several queues is freed with its last entry, whichever queue checkpoints or expires it last; bytes exact', async () => {
      const fixture = await makeFixture();
      try {
        let { store } = await fixture.open();
        const Q3 = { endpointId: 'third/input1', priority: 5 };
        const make = (id: number, body: number, queues: Array<typeof UP>, expiresAt = NEVER_EXPIRES): AppendItem => ({
          message: msg(id, body),
          enqueuedAt: 1000,
          entries: queues.map((q) => ({ ...q, expiresAt })),
        });
        // Bodies of distinct sizes, so every freed byte count names the messages freed.
        const batch = [make(2, 100, [UP, Q3], 100), make(1, 1000, [UP, MOD, Q3]), make(3, 10_000, [MOD]), make(4, 100_000, [UP, MOD, Q3]), make(5, 7, [Q3])];
        const size = new Map(batch.map((b) => [b.message.properties['id']!, messageSize(b.message)]));
        const bytesOf = (...live: string[]): number => live.reduce((sum, id) => sum + size.get(id)!, 0);
        const o = await store.append(batch);
        const length = (q: typeof UP): number => store.queues().find((x) => x.endpointId === q.endpointId && x.priority === q.priority)!.length;
        assert.equal(store.usedBytes(), bytesOf('1', '2', '3', '4', '5'));
        await store.checkpoint(UP, o[3]!); // UP's entries of 2, 1, 4: every message is still in another queue
        assert.equal(length(UP), 0);
        assert.equal(store.usedBytes(), bytesOf('1', '2', '3', '4', '5'));
        assert.equal(await store.removeExpired(Q3, 0, 1000), 1); // 2 expired in Q3, its last queue
        assert.equal(store.usedBytes(), bytesOf('1', '3', '4', '5'));
        await store.checkpoint(MOD, o[2]!); // MOD's entries of 1 and 3: 3 freed, 1 still in Q3
        assert.equal(store.usedBytes(), bytesOf('1', '4', '5'));
        if (options.durable) {
          ({ store } = await fixture.open()); // bytes summed from the rows left in the database
          assert.equal(store.usedBytes(), bytesOf('1', '4', '5'));
        }
        await store.checkpoint(Q3, o[3]!); // Q3's entries of 1 and 4: 1 freed, 4 still in MOD
        assert.equal(store.usedBytes(), bytesOf('4', '5'));
        assert.deepEqual(ids(await store.read(MOD, 0, 10)), ['4']);
        assert.deepEqual(ids(await store.read(Q3, 0, 10)), ['5']);
        assert.deepEqual(ids(await store.read(UP, 0, 10)), []);
        await store.checkpoint(MOD, o[3]!);
        assert.equal(store.usedBytes(), bytesOf('5'));
        await store.checkpoint(Q3, o[4]!);
        assert.equal(store.usedBytes(), 0);
        assert.deepEqual([length(UP), length(MOD), length(Q3)], [0, 0, 0]);
        if (options.durable) {
          ({ store } = await fixture.open());
          assert.equal(store.usedBytes(), 0);
        }
      } finally {
        await fixture.destroy();
      }
    });

    if (options.durable) {
      test('reopening restores queues, lengths, checkpoints and bytes; new offsets follow every old one', async () => {
        const fixture = await makeFixture();
        try {
          let { store } = await fixture.open();
          const offs = await store.append(Array.from({ length: 20 }, (_, i) => item(i, [UP, MOD])));
          await store.checkpoint(UP, offs[9]!);
          const bytes = store.usedBytes();
          ({ store } = await fixture.open());
          assert.equal(store.usedBytes(), bytes);
          const up = store.queues().find((q) => q.endpointId === '$upstream')!;
          assert.equal(up.length, 10);
          assert.equal(up.checkpoint, offs[9]);
          assert.deepEqual(ids(await store.read(UP, up.checkpoint, 100)), Array.from({ length: 10 }, (_, i) => String(10 + i)));
          await store.checkpoint(UP, offs[19]!);
          await store.checkpoint(MOD, offs[19]!);
          assert.equal(store.usedBytes(), 0);
          ({ store } = await fixture.open());
          const [next] = await store.append([item(99, [UP])]);
          assert.ok(next! > offs[19]!, 'offsets never go back below a checkpoint');
          assert.deepEqual(ids(await store.read(UP, store.queues().find((q) => q.endpointId === '$upstream')!.checkpoint, 10)), ['99']);
        } finally {
          await fixture.destroy();
        }
      });

      test('state store: put, get, list, delete JSON documents by namespace', async () => {
        const fixture = await makeFixture();
        try {
          const { state } = await fixture.open();
          assert.ok(state);
          await state.put('twins', 'dev1', { desired: { a: 1 }, version: 2 });
          await state.put('twins', 'dev0', [1, 'x', null]);
          await state.put('identities', 'dev1', 'key');
          await state.put('twins', 'dev1', { desired: { a: 2 } });
          assert.deepEqual(await state.get('twins', 'dev1'), { desired: { a: 2 } });
          assert.equal(await state.get('twins', 'missing'), undefined);
          assert.deepEqual(await state.list('twins'), [
            { key: 'dev0', value: [1, 'x', null] },
            { key: 'dev1', value: { desired: { a: 2 } } },
          ]);
          assert.equal(await state.delete('twins', 'dev0'), true);
          assert.equal(await state.delete('twins', 'dev0'), false);
          const reopened = await fixture.open();
          assert.deepEqual(await reopened.state!.get('identities', 'dev1'), 'key');
        } finally {
          await fixture.destroy();
        }
      });
    }

    test('pipeline: ingest to two endpoints, deliver in order, store empty afterwards', () =>
      withStore(async (store) => {
        const p = buildPipeline({
          store,
          clock: new FakeClock(),
          routes: {
            up: 'FROM /messages/modules/sensor/outputs/* INTO $upstream',
            filter: 'FROM /messages/modules/sensor/outputs/* INTO BrokeredEndpoint("/modules/filter/inputs/input1")',
          },
          options: { readPageSize: 64, deliveryBatchSize: 16 },
        });
        await p.pumps.start();
        await Promise.all(Array.from({ length: 500 }, (_, i) => p.ingest.ingest(telemetry(i, 64), SENSOR)));
        await eventually(() => p.delivery.ids('$upstream').length === 500 && p.delivery.ids('filter/input1').length === 500, 20_000);
        const expected = Array.from({ length: 500 }, (_, i) => String(i));
        assert.deepEqual(p.delivery.ids('$upstream'), expected);
        assert.deepEqual(p.delivery.ids('filter/input1'), expected);
        await eventually(() => store.usedBytes() === 0, 5000, 'store emptied');
        await p.pumps.sweepNow();
        await p.pumps.stop();
      }));

    test('pipeline TTL with a fake clock: expired messages are removed and counted, never delivered', () =>
      withStore(async (store) => {
        const clock = new FakeClock();
        const p = buildPipeline({ store, clock, routes: { up: { route: 'FROM /messages/* INTO $upstream', timeToLiveSecs: 30 } } });
        p.delivery.setAvailable('$upstream', false);
        await p.pumps.start();
        await Promise.all(Array.from({ length: 50 }, (_, i) => p.ingest.ingest(telemetry(i), SENSOR)));
        clock.advance(20_000);
        await p.ingest.ingest(telemetry('late'), SENSOR);
        clock.advance(10_001);
        await p.pumps.sweepNow();
        assert.equal(p.metrics.value('edgeport_messages_dropped_total', { reason: 'ttl_expiry' }), 50);
        assert.equal(store.queues()[0]!.length, 1);
        p.delivery.setAvailable('$upstream', true);
        await eventually(() => p.delivery.ids('$upstream').length === 1);
        await settle();
        assert.deepEqual(p.delivery.ids('$upstream'), ['late']);
        await eventually(() => store.usedBytes() === 0);
        await p.pumps.stop();
      }));

    test('pipeline store limit: refused with StoreFullError, stored messages kept and delivered', () =>
      withStore(async (store) => {
        const p = buildPipeline({ store, clock: new FakeClock(), routes: { up: 'FROM /messages/* INTO $upstream' }, options: { maxStoreBytes: 20_000 } });
        p.delivery.setAvailable('$upstream', false);
        await p.pumps.start();
        let accepted = 0;
        await assert.rejects(async () => {
          for (;;) {
            await p.ingest.ingest(telemetry(accepted, 1000), SENSOR);
            accepted++;
          }
        }, StoreFullError);
        assert.ok(accepted >= 15 && accepted <= 20, `accepted ${accepted}`);
        p.delivery.setAvailable('$upstream', true);
        await eventually(() => p.delivery.ids('$upstream').length === accepted);
        assert.deepEqual(p.delivery.ids('$upstream'), Array.from({ length: accepted }, (_, i) => String(i)));
        await eventually(() => store.usedBytes() === 0);
        await p.ingest.ingest(telemetry('again', 1000), SENSOR);
        await p.pumps.stop();
      }));
  });
}
