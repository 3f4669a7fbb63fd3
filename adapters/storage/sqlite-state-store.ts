import { inject, injectable } from 'inversify';
import { StateStore, type JsonValue } from '../../application/ports/state-store.js';
import type { SqliteDatabase, SqliteStatement } from './sqlite-database.js';
import { StorageConnection } from './storage-connection.js';

/**
 * Key-value JSON documents in `state_entries` with prepared statements on the SQLite connection
 * (what `TypeormStateStore` does through TypeORM's repository API, without loading TypeORM).
 */
@injectable()
export class SqliteStateStore extends StateStore {
  private statements: { get: SqliteStatement; put: SqliteStatement; delete: SqliteStatement; list: SqliteStatement } | null = null;

  constructor(@inject(StorageConnection) private readonly connection: StorageConnection) {
    super();
  }

  async open(): Promise<void> {
    if (!this.connection.isInitialized) await this.connection.initialize();
    const db = (this.connection.driver as { databaseConnection: SqliteDatabase }).databaseConnection;
    this.statements = {
      get: db.prepare('SELECT value FROM state_entries WHERE namespace = ? AND key = ?'),
      put: db.prepare(
        'INSERT INTO state_entries (namespace, key, value, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
      ),
      delete: db.prepare('DELETE FROM state_entries WHERE namespace = ? AND key = ?'),
      list: db.prepare('SELECT key, value FROM state_entries WHERE namespace = ? ORDER BY key ASC'),
    };
  }

  async get(namespace: string, key: string): Promise<JsonValue | undefined> {
    const row = this.ready().get.get(namespace, key) as { value: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.value) as JsonValue);
  }

  async put(namespace: string, key: string, value: JsonValue): Promise<void> {
    this.ready().put.run(namespace, key, JSON.stringify(value), Date.now());
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    return this.ready().delete.run(namespace, key).changes > 0;
  }

  async list(namespace: string): Promise<Array<{ key: string; value: JsonValue }>> {
    return (this.ready().list.all(namespace) as Array<{ key: string; value: string }>).map((r) => ({ key: r.key, value: JSON.parse(r.value) as JsonValue }));
  }

  /** As `TypeormStateStore.scrub` on SQLite: `VACUUM`, then the WAL checkpointed and truncated. */
  async scrub(): Promise<void> {
    await this.connection.query('VACUUM');
    await this.connection.query('PRAGMA wal_checkpoint(TRUNCATE)');
  }

  private ready(): NonNullable<SqliteStateStore['statements']> {
    if (this.statements === null) throw new Error('state store used before open()');
    return this.statements;
  }
}
