import { ContainerModule } from 'inversify';
import { DataSource } from 'typeorm';
import { HostedService } from '../../application/ports/hosted-service.js';
import { MessageStore } from '../../application/ports/message-store.js';
import { StateStore } from '../../application/ports/state-store.js';
import { createDataSource } from '../../adapters/storage/create-data-source.js';
import { StorageLifecycle } from '../../adapters/storage/storage-lifecycle.js';
import type { StorageOptions } from '../../adapters/storage/storage-options.js';
import { SqlMessageStore } from '../../adapters/storage/sql-message-store.js';
import { TypeormStateStore } from '../../adapters/storage/typeorm-state-store.js';

export type { StorageOptions } from '../../adapters/storage/storage-options.js';

/**
 * Everything durable in one database: SQLite by default, PostgreSQL with `{ kind: 'postgres', url }`.
 * `StorageLifecycle` is bound as a `HostedService` (it opens the database and runs the migrations;
 * stopped last when the host stops services in reverse order).
 */
export function storageModule(options: StorageOptions): ContainerModule {
  return new ContainerModule((opts) => {
    opts.bind(DataSource).toConstantValue(createDataSource(options));
    opts.bind(MessageStore).to(SqlMessageStore).inSingletonScope();
    opts.bind(StateStore).to(TypeormStateStore).inSingletonScope();
    opts.bind(StorageLifecycle).toSelf().inSingletonScope();
    // Hosted services start in binding order: load this module before anything that stores or delivers.
    opts.bind(HostedService).toService(StorageLifecycle);
  });
}
