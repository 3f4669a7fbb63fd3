import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DataSource } from 'typeorm';
import { DiskFullError, StoreUnavailableError } from '../../../application/ports/message-store.js';
import { PostgresMessageTables } from '../../../adapters/storage/postgres-message-tables.js';
import { asStoreError, isUnreachable } from '../../../adapters/storage/store-errors.js';

// Found by the PostgreSQL chaos scenario: while the server restarted, publishers were refused with
// the log reason "Query runner already released. Cannot run queries anymore." (the rollback's
// error, thrown over the real one). Now the real error comes out, as STORE_UNAVAILABLE.

test('PostgreSQL append: a connection lost mid-transaction rejects with that error, not the failed rollback\'s', async () => {
  const lost = new Error('Connection terminated unexpectedly');
  const runner = {
    connect: async () => undefined,
    startTransaction: async () => undefined,
    query: async () => {
      throw lost;
    },
    commitTransaction: async () => undefined,
    rollbackTransaction: async () => {
      throw new Error('Query runner already released. Cannot run queries anymore.');
    },
    release: async () => {
      throw new Error('Query runner already released. Cannot run queries anymore.');
    },
  };
  const dataSource = { createQueryRunner: () => runner } as unknown as DataSource;
  const tables = new PostgresMessageTables(dataSource);
  const message = { seq: 1, enqueuedAt: 1, size: 1, refCount: 1, properties: '{}', systemProperties: '{}', body: Buffer.from('x') };
  await assert.rejects(tables.append([message], [{ queueId: 1, seq: 1, expiresAt: 1 }]), (error) => error === lost);
});

test('asStoreError: an unreachable server is STORE_UNAVAILABLE naming the store, a full disk DISK_FULL, others unchanged', () => {
  const where = 'the PostgreSQL database (storage.url)';
  const terminated = asStoreError(new Error('Connection terminated unexpectedly'), where, true);
  assert.ok(terminated instanceof StoreUnavailableError);
  assert.equal(terminated.code, 'STORE_UNAVAILABLE');
  assert.match(terminated.message, /^message store unavailable: the PostgreSQL database \(storage\.url\) does not answer \(Connection terminated unexpectedly\)/);
  assert.ok(asStoreError({ driverError: Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }) }, where, true) instanceof StoreUnavailableError);
  assert.ok(asStoreError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }), where, true) instanceof StoreUnavailableError);
  assert.ok(asStoreError(Object.assign(new Error('could not extend file'), { code: '53100' }), where, true) instanceof DiskFullError);
  // SQLite has no server: a socket-like code there is not an outage.
  const sqlite = Object.assign(new Error('x'), { code: 'ECONNRESET' });
  assert.equal(asStoreError(sqlite, 'the data directory /d', false), sqlite);
  const syntax = Object.assign(new Error('syntax error'), { code: '42601' });
  assert.equal(asStoreError(syntax, where, true), syntax);
  assert.equal(isUnreachable(new Error('duplicate key')), false);
});
