/**
 * The database connection the SQL stores share, as an injection token without TypeORM: a TypeORM
 * `DataSource` fits it as it is (PostgreSQL, the CLI, tests), and `RawSqliteConnection` implements it
 * for `edgeport run` on SQLite, which then never loads TypeORM (about 6 MB of heap and 13 - 20 MB
 * resident; docs/performance.md). Only the members the stores use.
 */
export abstract class StorageConnection {
  abstract readonly isInitialized: boolean;
  /** `type` is the TypeORM driver name (`better-sqlite3`, `postgres`); `database` the SQLite file. */
  abstract readonly options: { readonly type: string; readonly database?: unknown };
  /** SQLite: `{ databaseConnection }`, the better-sqlite3 handle (as TypeORM exposes it). */
  abstract readonly driver: unknown;
  abstract initialize(): Promise<unknown>;
  abstract destroy(): Promise<void>;
  /** Rows for a statement that returns rows; run results otherwise. */
  abstract query(sql: string, parameters?: unknown[]): Promise<unknown>;
}
