import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { SqliteInitialSchema1764100000000 } from './migrations/sqlite-initial-schema.js';
import type { SqliteDatabase } from './sqlite-database.js';
import { SQLITE_BUSY_TIMEOUT_MS, prepareSqlite } from './sqlite-pragmas.js';
import { StorageConnection } from './storage-connection.js';

type SqliteHandle = SqliteDatabase & { close(): void };
type DatabaseConstructor = new (path: string, options?: { timeout?: number }) => SqliteHandle & { prepare(sql: string): { reader: boolean } & ReturnType<SqliteDatabase['prepare']> };

/** The migration classes, oldest first (the same list TypeORM runs: `STORAGE_MIGRATIONS.sqlite`). */
const SQLITE_MIGRATIONS: ReadonlyArray<new () => MigrationInterface> = [SqliteInitialSchema1764100000000];

/** TypeORM's migrations table, byte for byte, so TypeORM (the CLI) and this runner share a file. */
const MIGRATIONS_TABLE = 'CREATE TABLE IF NOT EXISTS "migrations" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "timestamp" bigint NOT NULL, "name" varchar NOT NULL)';

/**
 * The SQLite database of `edgeport run` without TypeORM: better-sqlite3 with the same settings as
 * TypeORM's driver gives it (`prepareSqlite`, then `foreign_keys = ON` and WAL, busy timeout 5 s,
 * the parent directory created), and the same migrations, recorded in TypeORM's `migrations` table
 * (each in its own transaction, as `migrationsTransactionMode: 'each'`). A file either one created
 * opens with the other.
 */
export class RawSqliteConnection extends StorageConnection {
  readonly options: { readonly type: 'better-sqlite3'; readonly database: string };
  private db: SqliteHandle | null = null;

  constructor(
    path: string,
    private readonly sync: 'normal' | 'full' | undefined,
  ) {
    super();
    this.options = { type: 'better-sqlite3', database: path };
  }

  get isInitialized(): boolean {
    return this.db !== null;
  }

  get driver(): { databaseConnection: SqliteDatabase } | undefined {
    return this.db === null ? undefined : { databaseConnection: this.db };
  }

  async initialize(): Promise<this> {
    if (this.db !== null) return this;
    const path = this.options.database;
    if (path !== ':memory:') await mkdir(dirname(path), { recursive: true });
    const Database = createRequire(import.meta.url)('better-sqlite3') as DatabaseConstructor;
    const db = new Database(path, { timeout: SQLITE_BUSY_TIMEOUT_MS });
    try {
      prepareSqlite(db, this.sync);
      db.pragma('foreign_keys = ON');
      db.pragma('journal_mode = WAL');
      await migrate(db);
    } catch (error) {
      db.close();
      throw error;
    }
    this.db = db;
    return this;
  }

  async destroy(): Promise<void> {
    const db = this.db;
    this.db = null;
    db?.close();
  }

  async query(sql: string, parameters: unknown[] = []): Promise<unknown> {
    if (this.db === null) throw new Error('database used before initialize()');
    const statement = (this.db as unknown as { prepare(sql: string): { reader: boolean; all(...p: unknown[]): unknown[]; run(...p: unknown[]): unknown } }).prepare(sql);
    return statement.reader ? statement.all(...parameters) : statement.run(...parameters);
  }
}

async function migrate(db: SqliteHandle): Promise<void> {
  db.exec(MIGRATIONS_TABLE);
  const done = new Set((db.prepare('SELECT name FROM "migrations"').all() as Array<{ name: string }>).map((r) => r.name));
  for (const Migration of SQLITE_MIGRATIONS) {
    const migration = new Migration();
    const name = migration.name ?? Migration.name;
    if (done.has(name)) continue;
    // As TypeORM: the timestamp is the last 13 digits of the class name.
    const timestamp = Number(name.slice(-13));
    const runner = { query: async (sql: string, parameters: unknown[] = []) => (parameters.length === 0 ? db.exec(sql) : db.prepare(sql).run(...parameters)) } as unknown as QueryRunner;
    db.exec('BEGIN');
    try {
      await migration.up(runner);
      db.prepare('INSERT INTO "migrations"("timestamp", "name") VALUES (?, ?)').run(timestamp, name);
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw new Error(`migration ${name} failed: ${(error as Error).message}`, { cause: error });
    }
  }
}
