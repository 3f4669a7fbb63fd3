import type { SqliteDatabase } from './sqlite-database.js';

/** Busy timeout of every connection to the database file (ms). */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/**
 * The main connection's settings, before its first table is created (TypeORM's `prepareDatabase`
 * and `RawSqliteConnection` both run it).
 */
export function prepareSqlite(db: SqliteDatabase, sync: 'normal' | 'full' | undefined): void {
  // Must precede the first table: lets cleanup give freed pages back to the file system.
  db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma(`synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('journal_size_limit = 67108864');
  // 8 MB: with the writer thread this connection only reads, sequentially (pump pages).
  db.pragma('cache_size = -8192');
  db.pragma('temp_store = MEMORY');
}
