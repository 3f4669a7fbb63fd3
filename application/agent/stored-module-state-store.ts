import { inject, injectable } from 'inversify';
import { ModuleStateStore, type ModuleState } from '../ports/module-state-store.js';
import { StateStore, type JsonValue } from '../ports/state-store.js';

const NAMESPACE = 'module-state';

function fromJson(value: JsonValue | undefined): ModuleState | undefined {
  if (value === undefined || value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const state: ModuleState = { restartCount: typeof value['restartCount'] === 'number' ? value['restartCount'] : 0 };
  if (typeof value['lastRestartTime'] === 'number') state.lastRestartTime = value['lastRestartTime'];
  if (typeof value['lastStartTime'] === 'number') state.lastStartTime = value['lastStartTime'];
  return state;
}

function toJson(state: ModuleState): JsonValue {
  const json: Record<string, JsonValue> = { restartCount: state.restartCount };
  if (state.lastRestartTime !== undefined) json['lastRestartTime'] = state.lastRestartTime;
  if (state.lastStartTime !== undefined) json['lastStartTime'] = state.lastStartTime;
  return json;
}

/**
 * Restart history kept in the `StateStore` (the same database as messages, twins and identities),
 * so back-off and the `failed` verdict survive an agent restart.
 */
@injectable()
export class StoredModuleStateStore extends ModuleStateStore {
  constructor(@inject(StateStore) private readonly store: StateStore) {
    super();
  }

  async get(module: string): Promise<ModuleState | undefined> {
    return fromJson(await this.store.get(NAMESPACE, module));
  }

  async getAll(): Promise<Map<string, ModuleState>> {
    const all = new Map<string, ModuleState>();
    for (const { key, value } of await this.store.list(NAMESPACE)) {
      const state = fromJson(value);
      if (state !== undefined) all.set(key, state);
    }
    return all;
  }

  async put(module: string, state: ModuleState): Promise<void> {
    await this.store.put(NAMESPACE, module, toJson(state));
  }

  async delete(module: string): Promise<void> {
    await this.store.delete(NAMESPACE, module);
  }
}
