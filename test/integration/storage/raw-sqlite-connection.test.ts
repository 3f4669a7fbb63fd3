import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDataSource } from '../../../adapters/storage/create-data-source.js';
import { RawSqliteConnection } from '../../../adapters/storage/raw-sqlite-connection.js';
import { SqliteStateStore } from '../../../adapters/storage/sqlite-state-store.js';
import { TypeormStateStore } from '../../../adapters/storage/typeorm-state-store.js';

async function withDir(run: (path: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeport-raw-sqlite-'));
  try {
    await run(join(dir, 'nested', 'edgeport.db'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const schema = async (query: (sql: string) => Promise<unknown>): Promise<unknown> => query("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name");

test('RawSqliteConnection creates the schema TypeORM creates, records the migration in its table, and TypeORM opens the file', async () => {
  await withDir(async (path) => {
    const raw = new RawSqliteConnection(path, 'normal');
    const state = new SqliteStateStore(raw);
    await state.open();
    await state.put('twins', 'edge1/A', { desired: { a: 1 } });
    assert.equal(await state.delete('twins', 'missing'), false);
    const rawSchema = await schema((sql) => raw.query(sql));
    assert.deepEqual(await raw.query('SELECT id, timestamp, name FROM migrations'), [{ id: 1, timestamp: 1764100000000, name: 'SqliteInitialSchema1764100000000' }]);
    assert.equal(Object.values(((await raw.query('PRAGMA auto_vacuum')) as Array<Record<string, unknown>>)[0]!)[0], 2);
    await raw.destroy();

    const typeorm = createDataSource({ kind: 'sqlite', path, sync: 'normal' });
    const typeormState = new TypeormStateStore(typeorm);
    await typeormState.open();
    assert.deepEqual(await typeormState.get('twins', 'edge1/A'), { desired: { a: 1 } }, 'TypeORM reads what the raw store wrote');
    assert.equal(((await typeorm.query('SELECT COUNT(*) AS n FROM migrations')) as Array<{ n: number }>)[0]!.n, 1, 'TypeORM ran no migration again');
    await typeorm.destroy();

    // The same schema as a file TypeORM creates from scratch.
    const fresh = createDataSource({ kind: 'sqlite', path: `${path}.typeorm`, sync: 'normal' });
    await fresh.initialize();
    assert.deepEqual(await schema((sql) => fresh.query(sql)), rawSchema);
    await fresh.destroy();
  });
});

test('RawSqliteConnection opens a file TypeORM created, without migrating it again; SqliteStateStore keeps the state store semantics', async () => {
  await withDir(async (path) => {
    const typeorm = createDataSource({ kind: 'sqlite', path, sync: 'full' });
    const typeormState = new TypeormStateStore(typeorm);
    await typeormState.open();
    await typeormState.put('module-state', 'sensor', { restarts: 2 });
    await typeorm.destroy();

    const raw = new RawSqliteConnection(path, 'full');
    const state = new SqliteStateStore(raw);
    await state.open();
    assert.deepEqual(await state.get('module-state', 'sensor'), { restarts: 2 });
    assert.equal(((await raw.query('SELECT COUNT(*) AS n FROM migrations')) as Array<{ n: number }>)[0]!.n, 1);
    assert.equal(Object.values(((await raw.query('PRAGMA synchronous')) as Array<Record<string, unknown>>)[0]!)[0], 2, 'sync = full');
    await state.put('module-state', 'sensor', { restarts: 3 });
    await state.put('module-state', 'filter', { restarts: 0 });
    assert.deepEqual(await state.list('module-state'), [
      { key: 'filter', value: { restarts: 0 } },
      { key: 'sensor', value: { restarts: 3 } },
    ]);
    assert.equal(await state.delete('module-state', 'filter'), true);
    assert.equal(await state.get('module-state', 'filter'), undefined);
    await state.scrub();
    assert.deepEqual(await state.get('module-state', 'sensor'), { restarts: 3 });
    await raw.destroy();
    assert.equal(raw.isInitialized, false);
  });
});
