import { injectable } from 'inversify';
import { ModuleStateStore, type ModuleState } from '../../application/ports/module-state-store.js';

/**
 * Restart history kept in memory: lost when the agent restarts (so back-off starts over). A
 * storage-backed store replaces it once the storage adapter family lands.
 */
@injectable()
export class InMemoryModuleStateStore extends ModuleStateStore {
  private readonly states = new Map<string, ModuleState>();

  async get(module: string): Promise<ModuleState | undefined> {
    const state = this.states.get(module);
    return state === undefined ? undefined : { ...state };
  }

  async getAll(): Promise<Map<string, ModuleState>> {
    return new Map([...this.states].map(([name, state]) => [name, { ...state }]));
  }

  async put(module: string, state: ModuleState): Promise<void> {
    this.states.set(module, { ...state });
  }

  async delete(module: string): Promise<void> {
    this.states.delete(module);
  }
}
