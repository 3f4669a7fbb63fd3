import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { NEVER_EXPIRES } from '../../../domain/messages/store-and-forward.js';
import type { AppendItem } from '../../../application/ports/message-store.js';
import type { SqliteDatabase } from '../../../adapters/storage/sqlite-database.js';
import { messageStoreContract } from './message-store-contract.js';
import { sqliteFixture } from '../../support/storage-fixtures.js';
import { RawSqliteConnection } from '../../../adapters/storage/raw-sqlite-connection.js';
import { SqliteMessageTables } from '../../../adapters/storage/sqlite-message-tables.js';
import { SqliteWorkerMessageTables } from '../../../adapters/storage/sqlite-worker-message-tables.js';
import { packAppend } from '../../../adapters/storage/sqlite-writer-protocol.js';

messageStoreContract('SQLite (better-sqlite3, WAL)', () => sqliteFixture(), { skip: false, durable: true });
messageStoreContract('SQLite (better-sqlite3, WAL, synchronous=FULL: every write on the writer thread)', () => sqliteFixture('full'), { skip: false, durable: true });

const UP = { endpointId: '$upstream', priority: 0 };

function items(from: number, count: number, body = 1024): AppendItem[] {
  return Array.from({ length: count }, (_, i) => ({
    message: { body: new Uint8Array(body).fill(from + i), properties: { id: String(from + i) }, systemProperties: {} },
    enqueuedAt: 1,
    entries: [{ ...UP, expiresAt: NEVER_EXPIRES }],
  }));
}

test('SQLite: small writes on the main connection and large ones on the writer thread keep commit order, also issued concurrently', async () => {
  const fixture = await sqliteFixture();
  try {
    const { store } = await fixture.open();
    // Not awaited one by one: batches of 1 (inline when the writer is idle) and of 200 (writer
    // thread) alternate, with checkpoints issued while a large append may be in flight.
    const pending: Array<Promise<unknown>> = [];
    let next = 1;
    for (let round = 0; round < 20; round++) {
      const size = round % 2 === 0 ? 1 : 200;
      pending.push(store.append(items(next, size)));
      next += size;
    }
    const offsets = (await Promise.all(pending)).flat() as number[];
    assert.equal(offsets.length, next - 1);
    for (let i = 1; i < offsets.length; i++) assert.ok(offsets[i]! > offsets[i - 1]!, 'offsets grow in call order');
    const checkpoints = [offsets[0]!, offsets[3]!, offsets[250]!, offsets[251]!];
    const more = store.append(items(next, 300));
    await Promise.all(checkpoints.map((o) => store.checkpoint(UP, o)));
    await more;
    const rows = await store.read(UP, 0, 10_000);
    assert.equal(rows[0]!.message.properties['id'], String(253));
    assert.equal(rows.length, next - 1 + 300 - 252);
    rows.forEach((r, i) => assert.equal(r.message.properties['id'], String(253 + i)));
    assert.equal(store.queues()[0]!.length, rows.length);
  } finally {
    await fixture.destroy();
  }
});

test('SQLite: the main connection never checkpoints the WAL itself, and the writer keeps the WAL bounded under small writes', async () => {
  const fixture = await sqliteFixture();
  try {
    const { store, dataSource } = await fixture.open();
    const db = (dataSource!.driver as unknown as { databaseConnection: SqliteDatabase }).databaseConnection;
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0);
    // 6000 small commits of 2 KB with a checkpoint after each, back to back (with an event-loop
    // turn in between, as ingest and the pump take): ~120 MB of WAL frames without WAL checkpoints.
    for (let i = 1; i <= 6000; i++) {
      const [offset] = await store.append(items(i, 1, 2048));
      await store.checkpoint(UP, offset!);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const wal = await stat(`${fixture.path}-wal`);
    assert.ok(wal.size < 48 * 1024 * 1024, `WAL is ${(wal.size / 1024 / 1024).toFixed(1)} MB`);
    assert.equal(store.queues()[0]!.length, 0);
  } finally {
    await fixture.destroy();
  }
});

test('SQLite: compaction waits while a large backlog is still being delivered (it would move it), and gives the space back once it is', async () => {
  const fixture = await sqliteFixture();
  try {
    const { store, dataSource } = await fixture.open();
    const db = (dataSource!.driver as unknown as { databaseConnection: SqliteDatabase }).databaseConnection;
    const pages = (): { total: number; free: number } => ({ total: db.pragma('page_count', { simple: true }) as number, free: db.pragma('freelist_count', { simple: true }) as number });
    // 3600 x 16 KB (~57 MB, ~14 000 pages); two thirds delivered: ~9 600 pages free, ~4 800 still in use.
    const offsets: number[] = [];
    for (let i = 0; i < 3600; i += 400) offsets.push(...(await store.append(items(i + 1, 400, 16 * 1024))));
    await store.checkpoint(UP, offsets[2399]!);
    const during = pages();
    assert.ok(during.free > 8000 && during.total - during.free > 4096, `pages ${JSON.stringify(during)}`);
    await store.compact();
    assert.deepEqual(pages(), during, 'nothing moved: the file keeps its pages while most of them would have to move');
    assert.equal((await store.read(UP, 0, 5000)).length, 1200);
    await store.checkpoint(UP, offsets[3599]!);
    await store.compact();
    const after = pages();
    assert.equal(after.free, 0);
    assert.ok(after.total < during.total / 20, `file shrank to ${after.total} pages from ${during.total}`);
  } finally {
    await fixture.destroy();
  }
});

test('SQLite: a checkpoint or an expiry removal runs as many statements for 1000 entries as for 1, and frees the same bytes as a message-by-message count', async () => {
  const conn = new RawSqliteConnection(':memory:', 'normal');
  await conn.initialize();
  try {
    const db = conn.driver!.databaseConnection;
    // Counts statement executions (run/get/all) of the tables on a real connection.
    let executed = 0;
    const counting: SqliteDatabase = {
      exec: (sql) => db.exec(sql),
      pragma: (sql, options) => db.pragma(sql, options),
      transaction: (fn) => db.transaction(fn),
      prepare: (sql) => {
        const s = db.prepare(sql);
        const count = <T>(f: (...p: unknown[]) => T) => (...p: unknown[]): T => {
          executed++;
          return f.apply(s, p);
        };
        return { run: count(s.run), get: count(s.get), all: count(s.all) };
      },
    };
    const tables = new SqliteMessageTables(counting);
    const a = await tables.ensureQueue('a', 0);
    const b = await tables.ensureQueue('b', 0);
    const message = (seq: number, refCount: number) => ({ seq, enqueuedAt: 1, size: 100 + seq, refCount, properties: '{}', systemProperties: '{}', body: new Uint8Array(8) });
    // Messages 1..2002 in queue a; the odd ones also in queue b.
    const messages = Array.from({ length: 2002 }, (_, i) => message(i + 1, (i + 1) % 2 === 1 ? 2 : 1));
    const entries = messages.flatMap((m) => (m.seq % 2 === 1 ? [{ queueId: a.id, seq: m.seq, expiresAt: 0 }, { queueId: b.id, seq: m.seq, expiresAt: 0 }] : [{ queueId: a.id, seq: m.seq, expiresAt: 0 }]));
    await tables.append(messages, entries);
    const sizes = (from: number, to: number, pred: (seq: number) => boolean): number => messages.filter((m) => m.seq >= from && m.seq <= to && pred(m.seq)).reduce((s, m) => s + m.size, 0);
    const statements = async (run: () => Promise<unknown>): Promise<{ n: number; result: unknown }> => {
      const before = executed;
      const result = await run();
      return { n: executed - before, result };
    };
    const one = await statements(() => tables.checkpoint(a.id, 1));
    const many = await statements(() => tables.checkpoint(a.id, 1001));
    assert.equal(many.n, one.n, `${many.n} statements for 1000 entries, ${one.n} for 1`);
    // Only queue a's even messages (a's last reference) are freed; the odd ones stay for queue b.
    assert.deepEqual(one.result, { entries: 1, freedBytes: 0 });
    assert.deepEqual(many.result, { entries: 1000, freedBytes: sizes(2, 1001, (s) => s % 2 === 0) });
    const range = await statements(() => tables.removeRange(b.id, 0, 2001));
    assert.equal(range.n <= one.n, true, `${range.n} statements for an expiry removal of 1001 entries`);
    // b held the last reference of its entries up to 1001 (queue a released them above); the later ones are still in a.
    assert.deepEqual(range.result, { entries: 1001, freedBytes: sizes(1, 1001, (s) => s % 2 === 1) });
    const rest = await tables.checkpoint(a.id, 2002);
    assert.deepEqual(rest, { entries: 1001, freedBytes: sizes(1002, 2002, () => true) });
    assert.deepEqual(db.prepare('SELECT count(*) AS n FROM messages').get(), { n: 0 });
    assert.deepEqual(db.prepare('SELECT count(*) AS n FROM queue_entries').get(), { n: 0 });
  } finally {
    await conn.destroy();
  }
});

test('SQLite: the next group commit is queued on the writer thread before the previous one has committed; each append resolves after its own commit', async () => {
  const fixture = await sqliteFixture();
  const events: string[] = [];
  const original = SqliteWorkerMessageTables.prototype.append;
  SqliteWorkerMessageTables.prototype.append = function (this: SqliteWorkerMessageTables, messages, entries) {
    const first = messages[0]!.seq;
    events.push(`queued ${first}`);
    return original.call(this, messages, entries).then(() => {
      events.push(`committed ${first}`);
    });
  };
  try {
    const { store } = await fixture.open();
    // 400 KB each: above the inline limit, so both go to the writer thread.
    const first = store.append(items(1, 400)).then((o) => (events.push(`resolved ${o[0]}`), o));
    const second = store.append(items(401, 400)).then((o) => (events.push(`resolved ${o[0]}`), o));
    const [a, b] = await Promise.all([first, second]);
    assert.deepEqual(events, [`queued ${a[0]}`, `queued ${b[0]}`, `committed ${a[0]}`, `resolved ${a[0]}`, `committed ${b[0]}`, `resolved ${b[0]}`]);
    assert.equal((await store.read(UP, 0, 1000)).length, 800);
    assert.equal(store.queues()[0]!.length, 800);
  } finally {
    SqliteWorkerMessageTables.prototype.append = original;
    await fixture.destroy();
  }
});

test('SQLite: body buffers come back from the writer thread and are reused; bodies packed into a reused buffer round-trip exactly', async () => {
  const message = (seq: number, bytes: number, fill: number) => ({ seq, enqueuedAt: 1, size: bytes, refCount: 1, properties: '{}', systemProperties: '{}', body: new Uint8Array(bytes).fill(fill) });
  const spare = new ArrayBuffer(4096);
  assert.equal(packAppend([message(1, 1000, 1), message(2, 3000, 2)], [], spare).bodies, spare, 'a spare large enough is used');
  assert.notEqual(packAppend([message(1, 5000, 1)], [], spare).bodies, spare, 'a spare too small is not');
  const fixture = await sqliteFixture();
  try {
    const { store } = await fixture.open();
    // Writer-thread commits one after the other: each later batch is packed into the buffer the
    // previous one gave back, over its old bytes (the later batches are smaller, then larger).
    const batches = [items(1, 300, 1500), items(301, 200, 700), items(501, 400, 2000)];
    for (const batch of batches) await store.append(batch);
    const rows = await store.read(UP, 0, 1000);
    assert.equal(rows.length, 900);
    const expected = batches.flat();
    rows.forEach((r, i) => assert.deepEqual(Buffer.from(r.message.body), Buffer.from(expected[i]!.message.body), `body ${i + 1}`));
  } finally {
    await fixture.destroy();
  }
});
