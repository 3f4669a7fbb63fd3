import { deploymentConvergence, type ListedModule } from '../../domain/deployment/convergence.js';
import type { DeploymentStatus } from '../../domain/deployment/deployment-status.js';
import type { ModuleSpec } from '../../domain/modules/module-spec.js';
import { call, CliError, expectOk, readBody, type Output } from './management-client.js';

/** `GET /modules` of the management API: the modules and the agent's deployment status. */
interface ModulesAnswer {
  modules: ListedModule[];
  deployment?: { version?: number; status: DeploymentStatus };
}

async function fetchModules(socketPath: string): Promise<ModulesAnswer> {
  const response = await call(socketPath, 'GET', '/modules');
  await expectOk(response);
  return JSON.parse(await readBody(response)) as ModulesAnswer;
}

/** `lastDesiredVersion` of the running agent before a deployment is written (undefined: none yet). */
export async function deployedVersion(socketPath: string): Promise<number | undefined> {
  return (await fetchModules(socketPath)).deployment?.version;
}

export interface WaitOptions {
  socketPath: string;
  /** The agent's `lastDesiredVersion` before the manifest was written; a newer one is this deployment. */
  versionBefore: number | undefined;
  /** The manifest file changed (a new version is coming); false when it was written unchanged. */
  changed: boolean;
  timeoutMs: number;
  /** Poll interval (default 500 ms). */
  intervalMs?: number;
  out: Output;
  now?: () => number;
}

/**
 * `edgeport deploy --wait`: follows the running agent through the management API until every
 * module of `desired` has converged (running as deployed, or stopped when so desired, and no
 * removed module left) or one failed, printing a line whenever a module's state changes.
 * Resolves on convergence; throws a `CliError` (exit 1) naming the failure, or the modules still
 * pending after the timeout.
 */
export async function waitForConvergence(desired: readonly ModuleSpec[], options: WaitOptions): Promise<void> {
  const now = options.now ?? Date.now;
  const deadline = now() + options.timeoutMs;
  const printed = new Map<string, string>();
  let pending = 'the agent has not read the new manifest yet';
  for (;;) {
    const answer = await fetchModules(options.socketPath);
    const version = answer.deployment?.version;
    const seen = !options.changed || (version !== undefined && (options.versionBefore === undefined || version > options.versionBefore));
    if (seen && answer.deployment !== undefined) {
      const progress = deploymentConvergence(desired, answer.modules, answer.deployment.status, now());
      for (const module of progress.modules) {
        if (printed.get(module.module) === module.text) continue;
        printed.set(module.module, module.text);
        options.out.write(`${module.module}: ${module.text}\n`);
      }
      if (progress.failed) throw new CliError(`deployment failed: ${progress.reason ?? 'a module failed'}`);
      if (progress.converged) {
        options.out.write(`deployment converged: ${desired.length} module${desired.length === 1 ? '' : 's'} as deployed\n`);
        return;
      }
      const waiting = progress.modules.filter((m) => m.state !== 'converged');
      pending = waiting.map((m) => `${m.module} (${m.text})`).join(', ');
    }
    if (now() >= deadline) throw new CliError(`timed out after ${Math.round(options.timeoutMs / 1000)} s waiting for the deployment to converge: ${pending}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 500));
  }
}
