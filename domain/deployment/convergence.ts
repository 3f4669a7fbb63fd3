import type { ModuleSpec } from '../modules/module-spec.js';
import { describeModuleConfig } from '../modules/status-description.js';
import { DeploymentStatusCode, type DeploymentStatus } from './deployment-status.js';

/** A module as the management API lists it (`GET /modules`), the fields convergence needs. */
export interface ListedModule {
  name: string;
  status: string;
  desiredStatus: string;
  config: string;
  version: string;
  description: string;
  statusDescription?: string;
  /** Epoch ms the module last started. */
  startedAt?: number;
  system: boolean;
}

/** A running module counts as converged once it has been up this long (a crash at start is not success). */
export const CONVERGENCE_SETTLE_MS = 1000;

/** Where one module of a deployment stands. */
export interface ModuleProgress {
  module: string;
  state: 'pending' | 'converged' | 'failed';
  /** What to print: `Up 3 seconds`, `Downloading 1.2 MB / 4.0 MB (30%)`, `waiting for the agent`. */
  text: string;
}

export interface Convergence {
  /** Every module of the deployment runs as asked and nothing else is left. */
  converged: boolean;
  /** The agent refused the deployment (400, 412, 417), or a module failed. */
  failed: boolean;
  /** Why it failed, when it did. */
  reason?: string;
  modules: ModuleProgress[];
}

const REFUSED: ReadonlySet<number> = new Set([DeploymentStatusCode.ConfigFormatError, DeploymentStatusCode.InvalidSchemaVersion, DeploymentStatusCode.ConfigEmptyError]);

/** The agent's `500` text for a module whose prepare or create failed (`prepare m: ...; create n: ...`). */
function commandFailure(status: DeploymentStatus, module: string): string | undefined {
  if (status.code !== DeploymentStatusCode.Failed) return undefined;
  for (const part of status.description.split('; ')) {
    for (const kind of ['prepare', 'create']) if (part.startsWith(`${kind} ${module}: `)) return part.slice(kind.length + module.length + 3);
  }
  return undefined;
}

/**
 * How far the agent got with a deployment (`edgeport deploy --wait`), from what the management
 * API lists: a module has converged when the listed one is the deployment's (same image or
 * command line, version and desired status) and it is `running` for `settleMs` already (or,
 * desired stopped, `stopped`);
 * it failed when it is `failed`, or when its update could not be prepared. Modules the deployment
 * no longer has must be gone. `status` is the agent's `lastDesiredStatus` for this deployment.
 */
export function deploymentConvergence(desired: readonly ModuleSpec[], listed: readonly ListedModule[], status: DeploymentStatus, now: number, settleMs = CONVERGENCE_SETTLE_MS): Convergence {
  if (REFUSED.has(status.code)) {
    return { converged: false, failed: true, reason: `the agent refused the deployment: ${status.code} ${status.description}`, modules: [] };
  }
  const rows = new Map(listed.filter((m) => !m.system).map((m) => [m.name, m]));
  const modules: ModuleProgress[] = [];
  for (const spec of desired) {
    const row = rows.get(spec.name);
    rows.delete(spec.name);
    const same = row !== undefined && row.config === describeModuleConfig(spec) && row.version === spec.version && row.desiredStatus === spec.status;
    const failure = commandFailure(status, spec.name);
    if (row === undefined || !same) {
      if (failure !== undefined) modules.push({ module: spec.name, state: 'failed', text: failure });
      else modules.push({ module: spec.name, state: 'pending', text: row === undefined ? 'waiting for the agent' : `updating (${row.description})` });
      continue;
    }
    const wanted = spec.status === 'running' ? 'running' : 'stopped';
    const settled = wanted === 'stopped' || (row.startedAt !== undefined && now - row.startedAt >= settleMs);
    if (row.status === wanted && settled) modules.push({ module: spec.name, state: 'converged', text: row.description });
    else if (row.status === 'failed') modules.push({ module: spec.name, state: 'failed', text: row.statusDescription !== undefined && row.statusDescription !== '' ? `${row.description}: ${row.statusDescription}` : row.description });
    else modules.push({ module: spec.name, state: 'pending', text: row.description });
  }
  for (const gone of rows.keys()) modules.push({ module: gone, state: 'pending', text: 'being removed' });
  const failed = modules.filter((m) => m.state === 'failed');
  const result: Convergence = { converged: modules.every((m) => m.state === 'converged'), failed: failed.length > 0, modules };
  if (failed.length > 0) result.reason = failed.map((m) => `${m.module}: ${m.text}`).join('; ');
  return result;
}
