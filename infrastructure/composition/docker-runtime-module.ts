import { ContainerModule } from 'inversify';
import { AgentSettings } from '../../application/agent/agent-settings.js';
import { Clock } from '../../application/ports/clock.js';
import { HostedService } from '../../application/ports/hosted-service.js';
import { Logger } from '../../application/ports/logger.js';
import { ModuleRuntime } from '../../application/ports/module-runtime.js';
import { DockerModuleRuntime, type DockerRuntimeOptions } from '../../adapters/docker/docker-module-runtime.js';

export { DockerModuleRuntime };
import { DockerRuntimeLifecycle } from '../../adapters/docker/docker-runtime-lifecycle.js';
import type { RegistryCredential } from '../../domain/modules/module-spec.js';
import type { ImageTrustOptions } from '../../adapters/docker/docker-image-verifier.js';

export interface DockerRuntimeModuleOptions {
  /** Docker Engine API socket, e.g. `/var/run/docker.sock`. */
  socketPath: string;
  /** `HostConfig.NetworkMode` for modules whose createOptions set none. */
  defaultNetworkMode?: string;
  /** Host path of the workload API socket, mounted into modules (`DockerRuntimeOptions.workloadSocket`). */
  workloadSocket?: string;
  /**
   * Labels that mark this agent's containers among others on the same engine (added to every
   * container, and required when listing), and a container name prefix.
   */
  labels?: Record<string, string>;
  namePrefix?: string;
  /** The device's registry credentials (`agent.registryCredentialsFile`), for images the deployment gives none for. */
  registryCredentials?: readonly RegistryCredential[];
  /** `agent.trust` for images (see `readTrustSettings`); absent: only digest pins are checked. */
  trust?: ImageTrustOptions;
  /**
   * Bind `ModuleRuntime` to the Docker runtime (default true). False when `agentModule` combines
   * it with the process runtime (`runtime: "docker+process"`).
   */
  bindModuleRuntime?: boolean;
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
        const runtimeOptions: DockerRuntimeOptions = { socketPath: options.socketPath, stopTimeoutMs: settings.stopTimeoutMs };
        if (options.defaultNetworkMode !== undefined) runtimeOptions.defaultNetworkMode = options.defaultNetworkMode;
        if (options.workloadSocket !== undefined) runtimeOptions.workloadSocket = options.workloadSocket;
        if (options.labels !== undefined) runtimeOptions.labels = options.labels;
        if (options.namePrefix !== undefined) runtimeOptions.namePrefix = options.namePrefix;
        if (options.registryCredentials !== undefined) runtimeOptions.registryCredentials = options.registryCredentials;
        if (options.trust !== undefined) runtimeOptions.trust = options.trust;
        return new DockerModuleRuntime(context.get(Clock), context.get(Logger).child({ component: 'docker-runtime' }), runtimeOptions);
      })
      .inSingletonScope();
    if (options.bindModuleRuntime !== false) bind(ModuleRuntime).toService(DockerModuleRuntime);
    bind(HostedService)
      .toDynamicValue((context) => new DockerRuntimeLifecycle(context.get(DockerModuleRuntime)))
      .inSingletonScope();
  });
}
