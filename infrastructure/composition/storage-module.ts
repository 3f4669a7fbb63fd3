import { ContainerModule } from 'inversify';
import { HostedService } from '../../application/ports/hosted-service.js';
import { MessageStore } from '../../application/ports/message-store.js';
import { StateStore } from '../../application/ports/state-store.js';
import { RawSqliteConnection } from '../../adapters/storage/raw-sqlite-connection.js';
import { StorageConnection } from '../../adapters/storage/storage-connection.js';
import { StorageLifecycle } from '../../adapters/storage/storage-lifecycle.js';
import type { StorageOptions } from '../../adapters/storage/storage-options.js';
import { SqlMessageStore } from '../../adapters/storage/sql-message-store.js';
import { SqliteStateStore } from '../../adapters/storage/sqlite-state-store.js';

export type { StorageOptions } from '../../adapters/storage/storage-options.js';

/**
 * Everything durable in one SQLite database, without TypeORM (`RawSqliteConnection`,
 * `SqliteStateStore`; the file stays compatible with the TypeORM the CLI uses). PostgreSQL:
 * `postgresStorageModule` (postgres-storage-module.ts), which the composition root imports only for
 * `storage.kind = "postgres"`. `StorageLifecycle` is bound as a `HostedService` (it opens the
 * database and runs the migrations; stopped last when the host stops services in reverse order).
 */
export function storageModule(options: StorageOptions): ContainerModule {
  if (options.kind !== 'sqlite') throw new Error('storageModule binds SQLite; PostgreSQL is postgresStorageModule');
  return new ContainerModule((opts) => {
    opts.bind(StorageConnection).toConstantValue(new RawSqliteConnection(options.path, options.sync));
    opts.bind(MessageStore).to(SqlMessageStore).inSingletonScope();
    opts.bind(StateStore).to(SqliteStateStore).inSingletonScope();
    opts.bind(StorageLifecycle).toSelf().inSingletonScope();
    // Hosted services start in binding order: load this module before anything that stores or delivers.
    opts.bind(HostedService).toService(StorageLifecycle);
  });
}
