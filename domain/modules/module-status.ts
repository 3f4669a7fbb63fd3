import type { ModulePreparation } from './module-preparation.js';

/**
 * Runtime status strings as Azure IoT Edge reports them (`runtimeStatus`), plus the 2017 preview's
 * `downloading` (an image is being pulled). A module runtime produces `running`, `unhealthy`,
 * `stopped`, `failed`, `dead` or `unknown`; `backoff` (and a `failed` after too many restarts)
 * comes from the restart policy, `downloading` (and a `failed` create) from the agent's view of
 * modules it is still preparing, never from the runtime.
 */
export const MODULE_RUNTIME_STATUSES = ['unknown', 'downloading', 'backoff', 'running', 'unhealthy', 'stopped', 'failed', 'dead'] as const;
export type ModuleRuntimeStatus = (typeof MODULE_RUNTIME_STATUSES)[number];

/** What a runtime itself can observe about a module. */
export type ObservedStatus = Exclude<ModuleRuntimeStatus, 'backoff'>;

/** Observed state of one module, as a `ModuleRuntime` lists it. Times are epoch milliseconds. */
export interface ModuleRuntimeState {
  status: ObservedStatus;
  /** Exit code of the last run (0 when it has never exited). */
  exitCode: number;
  /** Short text from the runtime, e.g. `running`, `exited (1)`. */
  statusDescription: string;
  startedAt?: number;
  exitedAt?: number;
  /** When the module last became unhealthy (runtimes with health checks only). */
  unhealthySince?: number;
  /** Process id or container id, for humans. */
  id?: string;
  /**
   * Set by the agent (never by a runtime) for a module it is still preparing: its image is being
   * pulled, or preparing or creating it failed. Such a state is shown as it is, without the
   * restart policy.
   */
  preparation?: ModulePreparation;
}

/**
 * What the agent remembers per module between reconciles (Azure `ModuleState`): how often the
 * restart policy restarted it and when.
 */
export interface ModuleState {
  restartCount: number;
  /** Epoch ms of the last restart done by the restart policy. */
  lastRestartTime?: number;
  /** Epoch ms of the last start issued by the agent. */
  lastStartTime?: number;
}

export const EMPTY_MODULE_STATE: ModuleState = Object.freeze({ restartCount: 0 });
