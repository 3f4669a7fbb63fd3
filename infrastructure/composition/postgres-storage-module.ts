import { ContainerModule } from 'inversify';
import { HostedService } from '../../application/ports/hosted-service.js';
import { MessageStore } from '../../application/ports/message-store.js';
import { StateStore } from '../../application/ports/state-store.js';
import { createDataSource } from '../../adapters/storage/create-data-source.js';
import { StorageConnection } from '../../adapters/storage/storage-connection.js';
import { StorageLifecycle } from '../../adapters/storage/storage-lifecycle.js';
import type { StorageOptions } from '../../adapters/storage/storage-options.js';
import { SqlMessageStore } from '../../adapters/storage/sql-message-store.js';
import { TypeormStateStore } from '../../adapters/storage/typeorm-state-store.js';

/** Everything durable in PostgreSQL, through a TypeORM `DataSource` (as `storageModule` does for SQLite). */
export function postgresStorageModule(options: Extract<StorageOptions, { kind: 'postgres' }>): ContainerModule {
  return new ContainerModule((opts) => {
    opts.bind(StorageConnection).toConstantValue(createDataSource(options));
    opts.bind(MessageStore).to(SqlMessageStore).inSingletonScope();
    opts.bind(StateStore).to(TypeormStateStore).inSingletonScope();
    opts.bind(StorageLifecycle).toSelf().inSingletonScope();
    opts.bind(HostedService).toService(StorageLifecycle);
  });
}
