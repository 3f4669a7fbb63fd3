import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskFullError, type AppendItem } from '../../../application/ports/message-store.js';
import { createDataSource } from '../../../adapters/storage/create-data-source.js';
import { isDiskFull, isUnreachable } from '../../../adapters/storage/store-errors.js';
import { SqlMessageStore } from '../../../adapters/storage/sql-message-store.js';
import type { SqliteDatabase } from '../../../adapters/storage/sqlite-database.js';

// A full disk (SQLITE_FULL) is a refusal like STORE_FULL, naming the data directory, and the store
// takes writes again once space returns. SQLite's `max_page_count` makes the database "full" without
// a small file system (the tmpfs version is the chaos scenario, test/chaos/disk-full.chaos.ts).

function item(i: number): AppendItem {
  return { message: { body: Buffer.alloc(2000, i % 256), properties: { i: String(i) }, systemProperties: {} }, enqueuedAt: 1, entries: [{ endpointId: 'e', priority: 0, expiresAt: Number.MAX_SAFE_INTEGER }] };
}

test('SQLite store: SQLITE_FULL becomes DiskFullError naming the data directory; writes resume when space returns; nothing committed is lost', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgeport-disk-full-'));
  const path = join(dir, 'edgeport.db');
  const dataSource = createDataSource({ kind: 'sqlite', path, sync: 'normal' });
  const store = new SqlMessageStore(dataSource);
  try {
    await store.open();
    const db = (dataSource.driver as unknown as { databaseConnection: SqliteDatabase }).databaseConnection;
    const pages = Number(db.pragma('page_count', { simple: true }));
    db.pragma(`max_page_count = ${pages + 20}`);
    let stored = 0;
    let refusal: unknown;
    for (let i = 0; i < 500 && refusal === undefined; i++) {
      try {
        await store.append([item(i)]);
        stored++;
      } catch (error) {
        refusal = error;
      }
    }
    assert.ok(refusal instanceof DiskFullError, `refused with DiskFullError, got ${String(refusal)}`);
    assert.equal(refusal.code, 'DISK_FULL');
    assert.match(refusal.message, /disk full/);
    assert.ok(refusal.message.includes(dir), `names the data directory: ${refusal.message}`);
    assert.ok(isDiskFull(refusal.cause), 'keeps the driver error');
    assert.ok(stored > 0);

    db.pragma('max_page_count = 1073741823');
    await store.append([item(1000)]);
    const read = await store.read({ endpointId: 'e', priority: 0 }, 0, 1000);
    assert.equal(read.length, stored + 1, 'every committed message is there, and the new one');
    assert.equal(String(db.pragma('integrity_check', { simple: true })), 'ok');
  } finally {
    await store.close();
    if (dataSource.isInitialized) await dataSource.destroy();
    await rm(dir, { recursive: true, force: true });
  }
});

test('isDiskFull: SQLite, file system and PostgreSQL codes, also wrapped by TypeORM', () => {
  assert.equal(isDiskFull(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })), true);
  assert.equal(isDiskFull(Object.assign(new Error('no space'), { code: 'ENOSPC' })), true);
  assert.equal(isDiskFull({ driverError: { code: '53100' } }), true);
  assert.equal(isDiskFull(Object.assign(new Error('busy'), { code: 'SQLITE_BUSY' })), false);
  assert.equal(isDiskFull(undefined), false);
});
