import type { ModuleRuntimeState, ModuleState } from './module-status.js';
import { EMPTY_MODULE_STATE } from './module-status.js';
import { onlyStatusChanged, restartPolicyRank, specsEqual, type ModuleSpec } from './module-spec.js';
import {
  DEFAULT_RESTART_POLICY_SETTINGS,
  effectiveStatus,
  restartDueAt,
  runningLongEnough,
  shouldRestart,
  type RestartPolicySettings,
} from './restart-policy.js';

/** A module as the runtime has it: the spec it was created from and what it is doing now. */
export interface CurrentModule {
  name: string;
  spec: ModuleSpec;
  state: ModuleRuntimeState;
}

/** Why the planner issued a command; for logs, metrics and tests. */
export type CommandReason =
  | 'added'
  | 'removed'
  | 'updated'
  | 'dead'
  | 'desired-status'
  | 'not-started'
  | 'restart-policy'
  | 'healthy';

/**
 * One step of a plan, as plain data. Executors (the plan runner) perform it through the module
 * runtime and the module state store. `prepare` gets what a module needs before it is created (a
 * Docker image pulled and verified, a program checked) without touching the module that runs now;
 * `restart` stops then starts the module and records `restartCount` with the restart time.
 */
export type Command =
  | { kind: 'prepare'; module: string; spec: ModuleSpec; reason: CommandReason }
  | { kind: 'create'; module: string; spec: ModuleSpec; reason: CommandReason }
  | { kind: 'start'; module: string; reason: CommandReason }
  | { kind: 'stop'; module: string; reason: CommandReason }
  | { kind: 'remove'; module: string; reason: CommandReason }
  | { kind: 'restart'; module: string; restartCount: number; reason: CommandReason }
  | { kind: 'clear-state'; module: string; reason: CommandReason };

export type CommandKind = Command['kind'];

function isActive(state: ModuleRuntimeState): boolean {
  return state.status === 'running' || state.status === 'unhealthy';
}

/** Per startup-order group, commands in Azure's bucket order (`HealthRestartPlanner`). */
interface Buckets {
  dead: Command[];
  clearState: Command[];
  added: Command[];
  updated: Command[];
  stateChanged: Command[];
  desiredStatusChanged: Command[];
  resetHealth: Command[];
}

function emptyBuckets(): Buckets {
  return { dead: [], clearState: [], added: [], updated: [], stateChanged: [], desiredStatusChanged: [], resetHealth: [] };
}

function prepare(spec: ModuleSpec, reason: CommandReason): Command {
  return { kind: 'prepare', module: spec.name, spec, reason };
}

function createAndMaybeStart(spec: ModuleSpec, reason: CommandReason): Command[] {
  const commands: Command[] = [{ kind: 'create', module: spec.name, spec, reason }];
  if (spec.status === 'running') commands.push({ kind: 'start', module: spec.name, reason });
  return commands;
}

function byName<T extends { name: string }>(a: T, b: T): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * The reconcile planner: what to do so that `current` becomes `desired`. Pure: time comes in as
 * `now` (epoch ms) and restart history as `moduleStates`.
 *
 * - Modules absent from the deployment are stopped and removed first.
 * - Desired modules are processed in ascending `startupOrder` groups; within a group:
 *   dead (remove, then prepare, create, start), cleared restart state, added (prepare, create,
 *   start), updated (prepare, stop, remove, create, start), runtime-state changes (start / stop /
 *   restart-policy restart), desired-status-only changes (start or stop), reset of restart stats for healthy modules.
 */
export function plan(
  desired: readonly ModuleSpec[],
  current: readonly CurrentModule[],
  moduleStates: ReadonlyMap<string, ModuleState>,
  now: number,
  settings: RestartPolicySettings = DEFAULT_RESTART_POLICY_SETTINGS,
): Command[] {
  const desiredNames = new Set(desired.map((m) => m.name));
  const currentByName = new Map(current.map((m) => [m.name, m]));
  const commands: Command[] = [];

  for (const gone of [...current].filter((m) => !desiredNames.has(m.name)).sort(byName)) {
    commands.push({ kind: 'stop', module: gone.name, reason: 'removed' });
    commands.push({ kind: 'remove', module: gone.name, reason: 'removed' });
    if (moduleStates.has(gone.name)) commands.push({ kind: 'clear-state', module: gone.name, reason: 'removed' });
  }

  const orders = [...new Set(desired.map((m) => m.startupOrder))].sort((a, b) => a - b);
  for (const order of orders) {
    const buckets = emptyBuckets();
    for (const spec of desired.filter((m) => m.startupOrder === order).sort(byName)) {
      planModule(spec, currentByName.get(spec.name), moduleStates.get(spec.name), now, settings, buckets);
    }
    commands.push(
      ...buckets.dead,
      ...buckets.clearState,
      ...buckets.added,
      ...buckets.updated,
      ...buckets.stateChanged,
      ...buckets.desiredStatusChanged,
      ...buckets.resetHealth,
    );
  }
  return commands;
}

function planModule(
  spec: ModuleSpec,
  existing: CurrentModule | undefined,
  stored: ModuleState | undefined,
  now: number,
  settings: RestartPolicySettings,
  buckets: Buckets,
): void {
  const name = spec.name;
  if (existing === undefined) {
    buckets.added.push(prepare(spec, 'added'), ...createAndMaybeStart(spec, 'added'));
    return;
  }
  if (existing.state.status === 'dead') {
    buckets.dead.push({ kind: 'remove', module: name, reason: 'dead' });
    if (stored !== undefined) buckets.clearState.push({ kind: 'clear-state', module: name, reason: 'dead' });
    buckets.added.push(prepare(spec, 'dead'), ...createAndMaybeStart(spec, 'dead'));
    return;
  }
  if (!specsEqual(spec, existing.spec)) {
    if (stored !== undefined) {
      buckets.clearState.push({ kind: 'clear-state', module: name, reason: onlyStatusChanged(spec, existing.spec) ? 'desired-status' : 'updated' });
    }
    if (onlyStatusChanged(spec, existing.spec)) {
      // Issued even when the module is already in that state: runtimes record the last start/stop
      // as the module's status, so current and desired converge. An unhealthy module that is due
      // for a policy restart gets the restart instead (which records `running` as well).
      const state = existing.state;
      if (spec.status === 'running' && state.status === 'unhealthy') {
        const status = effectiveStatus('running', state.status, spec.restartPolicy, 0, settings);
        if (status === 'backoff' && shouldRestart(state, 0, now, settings)) {
          buckets.stateChanged.push({ kind: 'restart', module: name, restartCount: 1, reason: 'restart-policy' });
          return;
        }
      }
      buckets.desiredStatusChanged.push({ kind: spec.status === 'running' ? 'start' : 'stop', module: name, reason: 'desired-status' });
      return;
    }
    // The new image is pulled (and verified) while the old module still runs, as Azure's
    // prepare-update does: a pull that fails or an image refused leaves the old module running.
    buckets.updated.push(prepare(spec, 'updated'), { kind: 'stop', module: name, reason: 'updated' }, { kind: 'remove', module: name, reason: 'updated' });
    buckets.updated.push(...createAndMaybeStart(spec, 'updated'));
    return;
  }

  const state = existing.state;
  if (spec.status === 'stopped') {
    if (isActive(state)) buckets.stateChanged.push({ kind: 'stop', module: name, reason: 'desired-status' });
    return;
  }
  if (state.startedAt === undefined && (state.status === 'stopped' || state.status === 'failed')) {
    // Created but never started (a fresh create whose start failed, or a module stopped before
    // its first start): a plain start, not a counted restart.
    buckets.stateChanged.push({ kind: 'start', module: name, reason: 'not-started' });
    return;
  }
  const history = stored ?? EMPTY_MODULE_STATE;
  const status = effectiveStatus(spec.status, state.status, spec.restartPolicy, history.restartCount, settings);
  switch (status) {
    case 'running':
      if (stored !== undefined && runningLongEnough(state, now, settings)) buckets.resetHealth.push({ kind: 'clear-state', module: name, reason: 'healthy' });
      return;
    case 'stopped':
      // A clean exit the policy does not cover: plain start (no cool-off, no count), as Azure does
      // for on-failure/on-unhealthy; `never` leaves it stopped.
      if (restartPolicyRank(spec.restartPolicy) > 0) {
        buckets.stateChanged.push({ kind: 'start', module: name, reason: 'not-started' });
      }
      return;
    case 'backoff':
      if (shouldRestart(state, history.restartCount, now, settings)) {
        buckets.stateChanged.push({ kind: 'restart', module: name, restartCount: history.restartCount + 1, reason: 'restart-policy' });
      }
      return;
    default:
      // failed (policy `never`, or restarts used up), unhealthy without a covering policy, unknown.
      return;
  }
}

/**
 * The earliest future time at which a module in back-off becomes due for a restart, so the
 * reconcile loop can wake up then instead of waiting for its next tick. `undefined`: none waiting.
 */
export function nextRestartDue(
  desired: readonly ModuleSpec[],
  current: readonly CurrentModule[],
  moduleStates: ReadonlyMap<string, ModuleState>,
  now: number,
  settings: RestartPolicySettings = DEFAULT_RESTART_POLICY_SETTINGS,
): number | undefined {
  const currentByName = new Map(current.map((m) => [m.name, m]));
  let earliest: number | undefined;
  for (const spec of desired) {
    const existing = currentByName.get(spec.name);
    if (existing === undefined || !specsEqual(spec, existing.spec)) continue;
    const history = moduleStates.get(spec.name) ?? EMPTY_MODULE_STATE;
    if (effectiveStatus(spec.status, existing.state.status, spec.restartPolicy, history.restartCount, settings) !== 'backoff') continue;
    const due = restartDueAt(existing.state, history.restartCount, settings);
    if (due > now && (earliest === undefined || due < earliest)) earliest = due;
  }
  return earliest;
}

/** Stops every running module (agent shutdown). */
export function planShutdown(current: readonly CurrentModule[]): Command[] {
  return [...current]
    .filter((m) => isActive(m.state))
    .sort(byName)
    .map((m): Command => ({ kind: 'stop', module: m.name, reason: 'removed' }));
}
