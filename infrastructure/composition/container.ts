import { Container } from 'inversify';
import { HostedService } from '../../application/ports/hosted-service.js';
import type { Logger } from '../../application/ports/logger.js';
import type { EdgeportConfig } from '../config/load-config.js';
import { coreModule } from './core-module.js';

/**
 * The composition root: the only place that chooses concrete adapters, by configuration.
 * One ContainerModule per adapter family; each later family (storage, transports, module
 * runtime, upstream) adds its module here.
 */
export function buildContainer(config: EdgeportConfig, logger: Logger): Container {
  const container = new Container({ defaultScope: 'Singleton' });
  container.load(coreModule(config, logger));
  return container;
}

/** The long-running parts in start order (binding order); stopped in reverse. */
export function hostedServices(container: Container): HostedService[] {
  return container.isBound(HostedService) ? container.getAll(HostedService) : [];
}
