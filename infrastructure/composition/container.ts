import { Container } from 'inversify';
import { HostedService } from '../../application/ports/hosted-service.js';
import type { Logger } from '../../application/ports/logger.js';
import type { EdgeportConfig } from '../config/load-config.js';
import { join } from 'node:path';
import { packageVersion } from '../package-info.js';
import { agentModule } from './agent-module.js';
import { coreModule } from './core-module.js';
import type { ModuleRuntimeChoice } from './module-runtime-selection.js';
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
export interface Roles {
  /** `--only hub|agent`; undefined runs both. */
  only?: 'hub' | 'agent' | undefined;
  /** The module runtime chosen for the agent (see `selectModuleRuntime`). */
  moduleRuntime?: ModuleRuntimeChoice;
}

export function buildContainer(config: EdgeportConfig, logger: Logger, roles: Roles = {}): Container {
  const container = new Container({ defaultScope: 'Singleton' });
  container.load(coreModule(config, logger), storageModule(storageOptions(config)));
  if (config.agent.enabled && roles.only !== 'hub') {
    if (roles.moduleRuntime?.kind === 'docker') {
      // The Docker runtime adapter is not built yet: say so instead of silently running processes.
      logger.warn('the Docker module runtime is not available yet; docker-type modules run with the process runtime', { moduleRuntime: 'process' });
    }
    const version = packageVersion();
    container.load(
      agentModule({
        runtime: 'process',
        manifestPath: config.agent.manifest,
        logsDir: join(config.dataDir, 'modules'),
        settings: {
          environment: { iothubHostname: config.iotHubHostname, deviceId: config.deviceId, gatewayHostname: config.hostname, apiVersion: '2022-08-03' },
          agentVersion: { version, build: '', commit: '' },
          embeddedHub: config.hub.enabled && roles.only !== 'agent',
        },
      }),
    );
  }
  return container;
}

/** The long-running parts in start order (binding order); stopped in reverse. */
export function hostedServices(container: Container): HostedService[] {
  return container.isBound(HostedService) ? container.getAll(HostedService) : [];
}
