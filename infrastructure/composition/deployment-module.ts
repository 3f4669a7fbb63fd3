import { ContainerModule } from 'inversify';
import { Clock } from '../../application/ports/clock.js';
import { DeploymentSource } from '../../application/ports/deployment-source.js';
import { Logger } from '../../application/ports/logger.js';
import { FileDeploymentSource } from '../../adapters/deployment/file-deployment-source.js';

export interface DeploymentModuleOptions {
  /** The local deployment manifest (`{"modulesContent": ...}`); empty = none configured (417). */
  manifestPath: string;
  /** Manifest polling period (default 2 s; file-system events usually come first). */
  manifestPollIntervalMs?: number;
}

/**
 * Where the deployment comes from, shared by both roles: the agent takes `$edgeAgent`, the hub
 * `$edgeHub` and the module twins. A local file today; the `$edgeAgent` twin with the upstream.
 */
export function deploymentModule(options: DeploymentModuleOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(DeploymentSource)
      .toDynamicValue((context) => {
        const sourceOptions = options.manifestPollIntervalMs === undefined ? { path: options.manifestPath } : { path: options.manifestPath, pollIntervalMs: options.manifestPollIntervalMs };
        return new FileDeploymentSource(context.get(Clock), context.get(Logger).child({ component: 'deployment-file' }), sourceOptions);
      })
      .inSingletonScope();
  });
}
