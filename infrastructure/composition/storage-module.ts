import { ContainerModule } from 'inversify';
import { DataSource } from 'typeorm';
import { MessageStore } from '../../application/ports/message-store.js';
import { StateStore } from '../../application/ports/state-store.js';
import { createDataSource } from '../../adapters/storage/create-data-source.js';
import { StorageLifecycle } from '../../adapters/storage/storage-lifecycle.js';
import type { StorageOptions } from '../../adapters/storage/storage-options.js';
import { TypeormMessageStore } from '../../adapters/storage/typeorm-message-store.js';
import { TypeormStateStore } from '../../adapters/storage/typeorm-state-store.js';

export type { StorageOptions } from '../../adapters/storage/storage-options.js';

/**
 * Everything durable in one database: SQLite by default, PostgreSQL with `{ kind: 'postgres', url }`.
 * Start `StorageLifecycle` first (it runs the migrations) and stop it last.
 */
export function storageModule(options: StorageOptions): ContainerModule {
  return new ContainerModule((opts) => {
    opts.bind(DataSource).toConstantValue(createDataSource(options));
    opts.bind(MessageStore).to(TypeormMessageStore).inSingletonScope();
    opts.bind(StateStore).to(TypeormStateStore).inSingletonScope();
    opts.bind(StorageLifecycle).toSelf().inSingletonScope();
  });
}
