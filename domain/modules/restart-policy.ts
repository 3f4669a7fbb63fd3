import type { ModuleRuntimeState, ModuleRuntimeStatus } from './module-status.js';
import type { DesiredStatus, RestartPolicy } from './module-spec.js';

/** Azure defaults (`appsettings_agent.json`): see docs/agent.md, "Restart policy". */
export interface RestartPolicySettings {
  /** Restarts after which a module is `failed` and left alone until the deployment changes. */
  maxRestartCount: number;
  /** Cool-off unit: the wait before restart n is `unit * 2^n`. */
  coolOffUnitMs: number;
  /** Upper bound of the cool-off. */
  maxCoolOffMs: number;
  /** A module running this long has its restart count reset ("intensive care" time). */
  intensiveCareMs: number;
}

export const DEFAULT_RESTART_POLICY_SETTINGS: RestartPolicySettings = Object.freeze({
  maxRestartCount: 20,
  coolOffUnitMs: 10_000,
  maxCoolOffMs: 300_000,
  intensiveCareMs: 10 * 60_000,
});

/**
 * Whether `policy` asks for a restart of a module in `status`. Edgeport reads the policy order as
 * intended: `on-failure` covers failed modules, `on-unhealthy` failed and unhealthy ones, `always`
 * also clean exits. (Azure also restarts unhealthy modules under `on-failure`, but never produces
 * `unhealthy` at all.)
 */
export function policyCovers(policy: RestartPolicy, status: ModuleRuntimeStatus): boolean {
  switch (policy) {
    case 'never':
      return false;
    case 'on-failure':
      return status === 'failed';
    case 'on-unhealthy':
      return status === 'failed' || status === 'unhealthy';
    case 'always':
      return status === 'failed' || status === 'unhealthy' || status === 'stopped';
  }
}

/**
 * The status reported and planned for a module whose desired status is `running`
 * (Azure `ComputeModuleStatusFromRestartPolicy`): a module the policy would restart is `backoff`,
 * or `failed` once it used up its restarts. Other statuses pass through.
 */
export function effectiveStatus(
  desired: DesiredStatus,
  observed: ModuleRuntimeState['status'],
  policy: RestartPolicy,
  restartCount: number,
  settings: RestartPolicySettings = DEFAULT_RESTART_POLICY_SETTINGS,
): ModuleRuntimeStatus {
  if (desired !== 'running') return observed;
  if (observed === 'dead' || observed === 'unknown' || observed === 'running') return observed;
  if (policyCovers(policy, observed)) return restartCount >= settings.maxRestartCount ? 'failed' : 'backoff';
  return observed;
}

/**
 * The `runtimeStatus` to report and show: a module still being prepared as it is (`downloading`,
 * or `failed` with the reason, retried by the plan runner), any other through the restart policy.
 */
export function shownStatus(
  desired: DesiredStatus,
  state: ModuleRuntimeState,
  policy: RestartPolicy,
  restartCount: number,
  settings: RestartPolicySettings = DEFAULT_RESTART_POLICY_SETTINGS,
): ModuleRuntimeStatus {
  if (state.preparation !== undefined) return state.status;
  return effectiveStatus(desired, state.status, policy, restartCount, settings);
}

/** Wait before the restart that follows `restartCount` earlier restarts: `min(unit * 2^n, max)`. */
export function coolOffMs(restartCount: number, settings: RestartPolicySettings = DEFAULT_RESTART_POLICY_SETTINGS): number {
  const exponent = Math.min(Math.max(0, restartCount), 52);
  return Math.min(settings.coolOffUnitMs * 2 ** exponent, settings.maxCoolOffMs);
}

/** The moment the module went bad: its exit, or the start of its unhealthy period. */
export function troubleSince(state: ModuleRuntimeState): number | undefined {
  if (state.status === 'unhealthy') return state.unhealthySince ?? state.startedAt;
  return state.exitedAt;
}

/**
 * Earliest time a module in `backoff` may be restarted. A module with no known trouble time is due
 * at once, like Azure's clock-skew rule.
 */
export function restartDueAt(state: ModuleRuntimeState, restartCount: number, settings: RestartPolicySettings = DEFAULT_RESTART_POLICY_SETTINGS): number {
  const since = troubleSince(state);
  if (since === undefined) return Number.NEGATIVE_INFINITY;
  return since + coolOffMs(restartCount, settings);
}

/**
 * Azure `ShouldRestart`: due once the cool-off has elapsed, or when the clock went backwards
 * (trouble time in the future).
 */
export function shouldRestart(state: ModuleRuntimeState, restartCount: number, now: number, settings: RestartPolicySettings = DEFAULT_RESTART_POLICY_SETTINGS): boolean {
  const since = troubleSince(state);
  if (since === undefined || now < since) return true;
  return now >= restartDueAt(state, restartCount, settings);
}

/** "Running great": running longer than the intensive-care time, so restart stats may be reset. */
export function runningLongEnough(state: ModuleRuntimeState, now: number, settings: RestartPolicySettings = DEFAULT_RESTART_POLICY_SETTINGS): boolean {
  return state.status === 'running' && state.startedAt !== undefined && now - state.startedAt > settings.intensiveCareMs;
}
