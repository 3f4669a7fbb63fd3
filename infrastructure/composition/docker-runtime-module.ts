import { ContainerModule } from 'inversify';
import { AgentSettings } from '../../application/agent/agent-settings.js';
import { Clock } from '../../application/ports/clock.js';
import { HostedService } from '../../application/ports/hosted-service.js';
import { Logger } from '../../application/ports/logger.js';
import { ModuleRuntime } from '../../application/ports/module-runtime.js';
import { DockerModuleRuntime } from '../../adapters/docker/docker-module-runtime.js';
import { DockerRuntimeLifecycle } from '../../adapters/docker/docker-runtime-lifecycle.js';

export interface DockerRuntimeModuleOptions {
  /** Docker Engine API socket, e.g. `/var/run/docker.sock`. */
  socketPath: string;
  /** `HostConfig.NetworkMode` for modules whose createOptions set none. */
  defaultNetworkMode?: string;
}

/**
 * Binds `ModuleRuntime` to `DockerModuleRuntime` and its lifecycle (event stream) as a hosted
 * service. Needs `Clock`, `Logger` and `AgentSettings` bound. Load it before the reconcile loop's
 * hosted service is bound, so the event stream opens first and closes last.
 */
export function dockerRuntimeModule(options: DockerRuntimeModuleOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(DockerModuleRuntime)
      .toDynamicValue((context) => {
        const settings = context.get(AgentSettings);
        const runtimeOptions = { socketPath: options.socketPath, stopTimeoutMs: settings.stopTimeoutMs };
        return new DockerModuleRuntime(
          context.get(Clock),
          context.get(Logger).child({ component: 'docker-runtime' }),
          options.defaultNetworkMode === undefined ? runtimeOptions : { ...runtimeOptions, defaultNetworkMode: options.defaultNetworkMode },
        );
      })
      .inSingletonScope();
    bind(ModuleRuntime).toService(DockerModuleRuntime);
    bind(HostedService)
      .toDynamicValue((context) => new DockerRuntimeLifecycle(context.get(DockerModuleRuntime)))
      .inSingletonScope();
  });
}
