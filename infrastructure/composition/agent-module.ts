import { arch, release } from 'node:os';
import { ContainerModule } from 'inversify';
import { AgentMethods } from '../../application/agent/agent-methods.js';
import { AgentSettings } from '../../application/agent/agent-settings.js';
import { StoredModuleStateStore } from '../../application/agent/stored-module-state-store.js';
import { ReconcileDeployment } from '../../application/agent/reconcile-deployment.js';
import { Clock } from '../../application/ports/clock.js';
import { HostedService } from '../../application/ports/hosted-service.js';
import { Logger } from '../../application/ports/logger.js';
import { ModuleRuntime } from '../../application/ports/module-runtime.js';
import { ModuleStateStore } from '../../application/ports/module-state-store.js';
import { ProcessModuleRuntime } from '../../adapters/process/process-module-runtime.js';
import type { DockerModuleRuntime } from '../../adapters/docker/docker-module-runtime.js';
import { CompositeModuleRuntime } from '../../application/agent/composite-module-runtime.js';
import { ProcessRuntimeLifecycle } from '../../adapters/process/process-runtime-lifecycle.js';
import { ManifestVerifier } from '../../application/ports/manifest-verifier.js';
import { X509ManifestVerifier } from '../../adapters/crypto/x509-manifest-verifier.js';

export interface AgentModuleOptions {
  /**
   * `process`: this module binds the process runtime. `docker`: load `dockerRuntimeModule` before
   * this one; it binds `ModuleRuntime`. `docker+process`: load `dockerRuntimeModule({
   * bindModuleRuntime: false })` before this one; this module binds the process runtime and a
   * `CompositeModuleRuntime` running each module on the runtime of its `type`.
   */
  runtime: 'process' | 'docker' | 'docker+process';
  /**
   * `docker+process`: the Docker runtime's class, as `dockerRuntimeModule` binds it (passed in so
   * that this module does not load dockerode when the runtime is `process`).
   */
  dockerRuntime?: typeof DockerModuleRuntime;
  /** Where process modules' output is kept. */
  logsDir: string;
  /** Overrides of the agent defaults (device identity for module env, intervals, ...). */
  settings?: Partial<AgentSettings>;
  /** PEM of the manifest trust root (`agent.trust.manifestRootCa`): only signed deployments are applied. */
  manifestTrustRootPem?: string;
}

/** Architecture names as Azure reports them (`uname -m` style). */
function reportedArchitecture(): string {
  const names: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', arm: 'armv7l', ia32: 'i686' };
  return names[arch()] ?? arch();
}

/**
 * The edge agent: module runtime, restart-state store, deployment source and the reconcile loop
 * as hosted services, plus `AgentMethods` (ping, RestartModule, GetModuleLogs) for whoever
 * receives direct methods. Needs `Clock` and `Logger` bound (core module), `StateStore` (storage
 * module) and a `DeploymentSource` (deployment module). The process runtime's
 * lifecycle is bound before the loop, so on shutdown the loop stops first and then every module.
 */
export function agentModule(options: AgentModuleOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(AgentSettings).toConstantValue(
      new AgentSettings({
        platform: { os: process.platform === 'win32' ? 'windows' : process.platform, architecture: reportedArchitecture(), version: release() },
        ...options.settings,
      }),
    );
    // Restart history lives in the StateStore (storage module), so back-off survives agent restarts.
    bind(ModuleStateStore).to(StoredModuleStateStore).inSingletonScope();
    const rootPem = options.manifestTrustRootPem;
    if (rootPem !== undefined) bind(ManifestVerifier).toDynamicValue((context) => new X509ManifestVerifier(rootPem, context.get(Clock))).inSingletonScope();
    bind(ReconcileDeployment).toSelf().inSingletonScope();
    bind(AgentMethods).toSelf().inSingletonScope();
    if (options.runtime !== 'docker') {
      bind(ProcessModuleRuntime)
        .toDynamicValue((context) => {
          const settings = context.get(AgentSettings);
          return new ProcessModuleRuntime(context.get(Clock), context.get(Logger).child({ component: 'process-runtime' }), {
            logsDir: options.logsDir,
            stopTimeoutMs: settings.stopTimeoutMs,
          });
        })
        .inSingletonScope();
      if (options.runtime === 'process') bind(ModuleRuntime).toService(ProcessModuleRuntime);
      else {
        bind(ModuleRuntime)
          .toDynamicValue((context) => {
            if (options.dockerRuntime === undefined) throw new Error('agentModule: runtime "docker+process" needs the dockerRuntime option');
            return new CompositeModuleRuntime({ docker: context.get(options.dockerRuntime), process: context.get(ProcessModuleRuntime) });
          })
          .inSingletonScope();
      }
      bind(HostedService)
        .toDynamicValue((context) => new ProcessRuntimeLifecycle(context.get(ProcessModuleRuntime), options.logsDir))
        .inSingletonScope();
    }
    bind(HostedService).toService(ReconcileDeployment);
  });
}
