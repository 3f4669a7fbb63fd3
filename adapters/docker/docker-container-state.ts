import type Docker from 'dockerode';
import type { CurrentModule } from '../../application/ports/module-runtime.js';
import { DEFAULT_STARTUP_ORDER, type DesiredStatus, type ModuleSpec, type RegistryCredential } from '../../domain/modules/module-spec.js';
import type { ModuleRuntimeState, ObservedStatus } from '../../domain/modules/module-status.js';
import { parseDockerTime } from './docker-log-demux.js';
import { LABELS } from './docker-labels.js';

/** What the runtime remembers about a module between calls (lost on an agent restart). */
export interface TrackedModule {
  /** Desired status last applied by start/stop. */
  status?: DesiredStatus;
  /** The agent stopped the container: its exit is `stopped` whatever the code, and no event. */
  stopRequested?: boolean;
  /** Time of Docker's `health_status: unhealthy` event for the current run, when seen. */
  unhealthyAt?: number;
}

/** Docker state -> runtime status (edgelet `runtime_state`). */
function observedStatus(state: Docker.ContainerInspectInfo['State']): ObservedStatus {
  switch (state.Status) {
    case 'running':
      return state.Health?.Status === 'unhealthy' ? 'unhealthy' : 'running';
    case 'created':
    case 'paused':
    case 'restarting':
      return 'stopped';
    case 'exited':
    case 'removing':
      return state.ExitCode === 0 ? 'stopped' : 'failed';
    case 'dead':
      return 'dead';
    default:
      return 'unknown';
  }
}

/**
 * When the container became unhealthy: the end of the health check that made the failing streak
 * reach `retries` (the log keeps the last five checks), or the earliest failure still logged.
 */
function unhealthySinceOf(info: Docker.ContainerInspectInfo): number | undefined {
  const health = info.State.Health;
  if (health === undefined || health.Status !== 'unhealthy') return undefined;
  const log = health.Log ?? [];
  const retries = (info.Config.Healthcheck as { Retries?: number } | undefined)?.Retries ?? 3;
  const streakStart = log.length - health.FailingStreak;
  const index = Math.max(0, Math.min(log.length - 1, streakStart + Math.max(1, retries) - 1));
  return parseDockerTime(log[index]?.End);
}

/** The spec a container was created from, read back from its `edgeport.spec` label. */
function storedSpec(info: Docker.ContainerInspectInfo, name: string, warn: (message: string) => void): Omit<ModuleSpec, 'status'> {
  const labels = info.Config.Labels ?? {};
  try {
    return JSON.parse(labels[LABELS.spec] ?? '') as Omit<ModuleSpec, 'status'>;
  } catch {
    // Still listed, with a spec no deployment has: the planner re-creates or removes it.
    warn(`container ${info.Name} has no readable ${LABELS.spec} label; the agent will re-create or remove it`);
    return {
      name,
      version: '',
      type: 'docker',
      restartPolicy: 'never',
      imagePullPolicy: 'never',
      startupOrder: DEFAULT_STARTUP_ORDER,
      env: {},
      settings: { kind: 'docker', image: labels[LABELS.originalImage] ?? info.Config.Image, createOptions: {} },
    };
  }
}

/** The runtime state of a container: status, exit code, times and a short description. */
function stateOf(info: Docker.ContainerInspectInfo, tracked: TrackedModule): ModuleRuntimeState {
  const state = info.State;
  let status = observedStatus(state);
  const exitCode = state.ExitCode ?? 0;
  const startedAt = parseDockerTime(state.StartedAt);
  const exitedAt = state.Running ? undefined : parseDockerTime(state.FinishedAt);
  if (tracked.stopRequested === true && status === 'failed') status = 'stopped';
  let statusDescription: string;
  if (state.Status === 'running') statusDescription = status === 'unhealthy' ? 'running (unhealthy)' : 'running';
  else if (state.Status === 'created') statusDescription = 'created';
  else if (state.Status === 'exited') statusDescription = state.OOMKilled ? `exited (${exitCode}, out of memory)` : `exited (${exitCode})`;
  else statusDescription = state.Status;
  if (state.Error) statusDescription += `: ${state.Error}`;
  const result: ModuleRuntimeState = { status, exitCode, statusDescription, id: info.Id.slice(0, 12) };
  if (startedAt !== undefined) result.startedAt = startedAt;
  if (exitedAt !== undefined) result.exitedAt = exitedAt;
  // The event's time is exact; the health log only keeps the last five checks.
  const unhealthySince = tracked.unhealthyAt ?? unhealthySinceOf(info);
  if (status === 'unhealthy' && unhealthySince !== undefined) result.unhealthySince = unhealthySince;
  return result;
}

/**
 * A container as the module it runs: the spec from its labels (the desired status from the
 * runtime's memory, else the label; the registry credential from memory by its hash) and its state.
 * `undefined` for a container without the module label.
 */
export function moduleOfContainer(
  info: Docker.ContainerInspectInfo,
  tracked: TrackedModule,
  credentials: ReadonlyMap<string, RegistryCredential>,
  warn: (message: string, module: string) => void,
): CurrentModule | undefined {
  const labels = info.Config.Labels ?? {};
  const name = labels[LABELS.module];
  if (name === undefined) return undefined;
  const stored = storedSpec(info, name, (message) => warn(message, name));
  const labelStatus = labels[LABELS.status] === 'stopped' ? 'stopped' : 'running';
  const spec: ModuleSpec = { ...stored, status: tracked.status ?? labelStatus };
  const hash = labels[LABELS.credential];
  if (hash !== undefined) {
    const credential = credentials.get(hash);
    if (credential !== undefined) spec.registryCredential = credential;
  }
  return { name, spec, state: stateOf(info, tracked) };
}
