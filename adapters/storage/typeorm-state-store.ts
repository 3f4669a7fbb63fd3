import 'reflect-metadata';
import { inject, injectable } from 'inversify';
import { DataSource, type Repository } from 'typeorm';
import { StateStore, type JsonValue } from '../../application/ports/state-store.js';
import { StateEntryEntity } from './state-entry.entity.js';
import { StorageConnection } from './storage-connection.js';

/** Key-value JSON documents through TypeORM's repository API (low volume; same database as messages). */
@injectable()
export class TypeormStateStore extends StateStore {
  private repo: Repository<StateEntryEntity> | null = null;

  /** Injected as the `StorageConnection` token; with this store it is always a TypeORM `DataSource`. */
  constructor(@inject(StorageConnection) private readonly dataSource: DataSource) {
    super();
  }

  async open(): Promise<void> {
    if (!this.dataSource.isInitialized) await this.dataSource.initialize();
    this.repo = this.dataSource.getRepository(StateEntryEntity);
  }

  async get(namespace: string, key: string): Promise<JsonValue | undefined> {
    const row = await this.repository().findOneBy({ namespace, key });
    return row === null ? undefined : (JSON.parse(row.value) as JsonValue);
  }

  async put(namespace: string, key: string, value: JsonValue): Promise<void> {
    await this.repository().upsert({ namespace, key, value: JSON.stringify(value), updatedAt: Date.now() }, ['namespace', 'key']);
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    const result = await this.repository().delete({ namespace, key });
    return (result.affected ?? 0) > 0;
  }

  async list(namespace: string): Promise<Array<{ key: string; value: JsonValue }>> {
    const rows = await this.repository().find({ where: { namespace }, order: { key: 'ASC' } });
    return rows.map((r) => ({ key: r.key, value: JSON.parse(r.value) as JsonValue }));
  }

  /**
   * SQLite: `VACUUM` rewrites the database without its free pages (old row images), then the WAL,
   * which may still hold old page images, is checkpointed and truncated. PostgreSQL: `VACUUM FULL`
   * rewrites the table without dead row versions. Both lock for a moment; called after a one-time
   * migration, never on the hot path.
   */
  async scrub(): Promise<void> {
    if (this.dataSource.options.type === 'postgres') {
      await this.dataSource.query(`VACUUM FULL ${this.dataSource.getMetadata(StateEntryEntity).tableName}`);
      return;
    }
    await this.dataSource.query('VACUUM');
    await this.dataSource.query('PRAGMA wal_checkpoint(TRUNCATE)');
  }

  private repository(): Repository<StateEntryEntity> {
    if (this.repo === null) throw new Error('state store used before open()');
    return this.repo;
  }
}
