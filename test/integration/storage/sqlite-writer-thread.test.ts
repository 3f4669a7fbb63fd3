import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { NEVER_EXPIRES } from '../../../domain/messages/store-and-forward.js';
import type { SqliteDatabase } from '../../../adapters/storage/sqlite-database.js';
import { SqliteWorkerMessageTables } from '../../../adapters/storage/sqlite-worker-message-tables.js';
import type { EncodedEntry, EncodedMessage } from '../../../adapters/storage/message-tables.js';
import { sqliteFixture } from '../../support/storage-fixtures.js';

function message(seq: number, bytes: number): EncodedMessage {
  return { seq, enqueuedAt: 1, size: bytes, refCount: 1, body: new Uint8Array(bytes).fill(seq & 0xff), properties: '{}', systemProperties: '{}' };
}

async function until(what: string, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Creates the schema (migrations) through the fixture, then opens a connection of our own on the same file (WAL). */
async function ownConnection(fixture: Awaited<ReturnType<typeof sqliteFixture>>): Promise<SqliteDatabase & { close(): void }> {
  await fixture.open();
  await fixture.shut();
  const Database = createRequire(import.meta.url)('better-sqlite3') as new (path: string) => SqliteDatabase & { close(): void };
  const conn = new Database(fixture.path);
  conn.pragma('journal_mode = WAL');
  return conn;
}

test('SQLite writer thread: not started by an idle store (nor by its periodic compaction) nor by a trickle, started when messages flow, stopped when idle (the main connection shrinking its cache) and started again by a large write', async () => {
  const fixture = await sqliteFixture();
  try {
    const conn = await ownConnection(fixture);
    conn.pragma('synchronous = NORMAL');
    const pragmas: string[] = [];
    const pragma = conn.pragma.bind(conn);
    conn.pragma = (sql, options) => {
      pragmas.push(sql);
      return pragma(sql, options);
    };
    const tables = new SqliteWorkerMessageTables(conn, fixture.path, 'NORMAL', { writerIdleMs: 200 });
    try {
      const state = await tables.load();
      assert.equal(state.queues.length, 0);
      // The hub's periodic sweep on an idle store: nothing written, no free pages, so no thread either.
      await tables.compact();
      assert.equal(tables.writerRunning, false, 'an idle compaction starts no thread');
      const queue = await tables.ensureQueue('$upstream', 0);
      assert.equal(tables.writerRunning, false, 'loading and a small inline write start no thread');
      const entry = (seq: number): EncodedEntry => ({ queueId: queue.id, seq, expiresAt: NEVER_EXPIRES });
      await tables.append([message(1, 100)], [entry(1)]);
      assert.equal(tables.writerRunning, false, 'a lone small append (a trickle) runs inline and starts no thread');
      await tables.append([message(2, 100)], [entry(2)]);
      assert.equal(tables.writerRunning, true, 'a second append right after the first: messages flow, the writer thread starts in the background');
      assert.equal(pragmas.includes('shrink_memory'), false);
      await until('the idle writer thread to stop', () => !tables.writerRunning);
      assert.equal(pragmas.includes('shrink_memory'), true, 'the main connection gave back its page cache when the store went quiet');
      await tables.append([message(3, 100), message(4, 100)], [entry(3), entry(4)]);
      assert.equal(tables.writerRunning, true, 'a group of messages in one append also means they flow');
      await until('the idle writer thread to stop again', () => !tables.writerRunning);
      // 64 messages: over the inline limit, so the write itself needs the thread again.
      const many = Array.from({ length: 64 }, (_, i) => message(5 + i, 4096));
      await tables.append(many, many.map((m, i) => entry(5 + i)));
      assert.equal(tables.writerRunning, true);
      const rows = await tables.read(queue.id, 0, 100);
      assert.deepEqual(rows.map((r) => r.seq), Array.from({ length: 68 }, (_, i) => i + 1), 'every write reached the database in order');
    } finally {
      await tables.close();
      conn.close();
    }
  } finally {
    await fixture.destroy();
  }
});

test('SQLite writer thread: closing the tables while the writer runs leaves no idle timer that would touch the closed connection', async () => {
  const fixture = await sqliteFixture();
  try {
    const conn = await ownConnection(fixture);
    const tables = new SqliteWorkerMessageTables(conn, fixture.path, 'NORMAL', { writerIdleMs: 60_000 });
    await tables.load();
    const queue = await tables.ensureQueue('$upstream', 0);
    await tables.append([message(1, 100), message(2, 100)], [1, 2].map((seq) => ({ queueId: queue.id, seq, expiresAt: NEVER_EXPIRES })));
    assert.equal(tables.writerRunning, true);
    assert.equal(tables.idleTimerArmed, true, 'a running writer has its idle timer');
    await tables.close();
    conn.close();
    // Before the fix the close request's reply armed the idle timer again, and when it fired its
    // shrink_memory threw on the closed connection: an uncaught exception in a timer.
    assert.equal(tables.writerRunning, false, 'close() stops the writer thread and forgets it');
    assert.equal(tables.idleTimerArmed, false, 'no idle timer outlives close()');
  } finally {
    await fixture.destroy();
  }
});
