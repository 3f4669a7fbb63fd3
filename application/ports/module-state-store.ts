import type { ModuleState } from '../../domain/modules/module-status.js';

export type { ModuleState } from '../../domain/modules/module-status.js';

/**
 * What the agent remembers per module across reconciles and restarts of the agent: restart count
 * and times (Azure `ModuleState` store), read by the planner for back-off.
 */
export abstract class ModuleStateStore {
  abstract get(module: string): Promise<ModuleState | undefined>;
  abstract getAll(): Promise<Map<string, ModuleState>>;
  abstract put(module: string, state: ModuleState): Promise<void>;
  abstract delete(module: string): Promise<void>;
}
