import { Container } from 'inversify';
import { HostedService } from '../../application/ports/hosted-service.js';
import type { Logger } from '../../application/ports/logger.js';
import type { EdgeportConfig } from '../config/load-config.js';
import { coreModule } from './core-module.js';
import { storageModule, type StorageOptions } from './storage-module.js';

export function storageOptions(config: EdgeportConfig): StorageOptions {
  return config.storage.kind === 'postgres'
    ? { kind: 'postgres', url: config.storage.url }
    : { kind: 'sqlite', path: config.storage.path, sync: config.storage.sync };
}

/**
 * The composition root: the only place that chooses concrete adapters, by configuration.
 * One ContainerModule per adapter family. Hosted services start in binding order (core, storage,
 * then the parts that use storage) and stop in reverse, so storage is flushed and closed last.
 */
export function buildContainer(config: EdgeportConfig, logger: Logger): Container {
  const container = new Container({ defaultScope: 'Singleton' });
  container.load(coreModule(config, logger), storageModule(storageOptions(config)));
  return container;
}

/** The long-running parts in start order (binding order); stopped in reverse. */
export function hostedServices(container: Container): HostedService[] {
  return container.isBound(HostedService) ? container.getAll(HostedService) : [];
}
