import { StateStore, type JsonValue } from '../../application/ports/state-store.js';

/** A `StateStore` in a Map, with JSON round trips so callers cannot share references with it. */
export class InMemoryStateStore extends StateStore {
  readonly data = new Map<string, Map<string, string>>();
  async open(): Promise<void> {}
  async get(namespace: string, key: string): Promise<JsonValue | undefined> {
    const text = this.data.get(namespace)?.get(key);
    return text === undefined ? undefined : (JSON.parse(text) as JsonValue);
  }
  async put(namespace: string, key: string, value: JsonValue): Promise<void> {
    let ns = this.data.get(namespace);
    if (ns === undefined) this.data.set(namespace, (ns = new Map()));
    ns.set(key, JSON.stringify(value));
  }
  async delete(namespace: string, key: string): Promise<boolean> {
    return this.data.get(namespace)?.delete(key) ?? false;
  }
  /** Counts calls: nothing to scrub in memory. */
  scrubs = 0;
  async scrub(): Promise<void> {
    this.scrubs += 1;
  }
  async list(namespace: string): Promise<Array<{ key: string; value: JsonValue }>> {
    return [...(this.data.get(namespace) ?? new Map<string, string>()).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, text]) => ({ key, value: JSON.parse(text) as JsonValue }));
  }
}
