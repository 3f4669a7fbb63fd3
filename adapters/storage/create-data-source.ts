import 'reflect-metadata';
import type { SqliteDatabase } from './sqlite-database.js';
import { DataSource } from 'typeorm';
import { PostgresInitialSchema1764100000000 } from './migrations/postgres-initial-schema.js';
import { SqliteInitialSchema1764100000000 } from './migrations/sqlite-initial-schema.js';
import { StateEntryEntity } from './state-entry.entity.js';
import type { StorageOptions } from './storage-options.js';
import { SQLITE_BUSY_TIMEOUT_MS, prepareSqlite } from './sqlite-pragmas.js';

export const STORAGE_ENTITIES = [StateEntryEntity];

/** Explicit migration classes per dialect (no globs: they must survive bundling). */
export const STORAGE_MIGRATIONS = {
  sqlite: [SqliteInitialSchema1764100000000],
  postgres: [PostgresInitialSchema1764100000000],
} as const;

/**
 * The DataSource for the configured database. Not initialized: `initialize()` opens it and runs the
 * migrations (each in its own transaction, so a power cut leaves a clean prefix applied).
 */
export function createDataSource(options: StorageOptions): DataSource {
  const common = {
    entities: STORAGE_ENTITIES,
    migrationsRun: true,
    migrationsTransactionMode: 'each' as const,
    synchronize: false,
    logging: ['error' as const],
  };
  if (options.kind === 'postgres') {
    return new DataSource({
      ...common,
      type: 'postgres',
      url: options.url,
      migrations: [...STORAGE_MIGRATIONS.postgres],
      extra: { max: options.poolSize ?? 5 },
    });
  }
  return new DataSource({
    ...common,
    type: 'better-sqlite3',
    database: options.path,
    migrations: [...STORAGE_MIGRATIONS.sqlite],
    enableWAL: true,
    timeout: SQLITE_BUSY_TIMEOUT_MS,
    prepareDatabase: (db: SqliteDatabase) => prepareSqlite(db, options.sync),
  });
}
