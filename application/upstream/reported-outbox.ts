import { inject, injectable } from 'inversify';
import { type Identity, formatIdentity, parseIdentity } from '../../domain/identity/identity.js';
import { isJsonObject, type JsonObject } from '../../domain/twins/json.js';
import { StateStore, type JsonValue } from '../ports/state-store.js';

/** State-store namespace of reported patches not yet accepted by the cloud (keys: zero-padded sequence). */
export const REPORTED_OUTBOX_NAMESPACE = 'upstream-reported';

export interface PendingReported {
  readonly key: string;
  readonly identity: Identity;
  readonly patch: JsonObject;
}

const KEY_DIGITS = 15;

/**
 * Reported-properties patches on their way to the cloud, kept in the `StateStore` so patches made
 * while offline survive a restart and go up in the order they were made.
 */
@injectable()
export class ReportedOutbox {
  private next = -1;
  private loading: Promise<void> | undefined;

  constructor(@inject(StateStore) private readonly state: StateStore) {}

  async append(identity: Identity, patch: JsonObject): Promise<void> {
    await this.load();
    const key = String(this.next++).padStart(KEY_DIGITS, '0');
    await this.state.put(REPORTED_OUTBOX_NAMESPACE, key, { identity: formatIdentity(identity), patch } as JsonValue);
  }

  /** Every pending patch, oldest first (malformed entries are skipped). */
  async pending(): Promise<PendingReported[]> {
    const out: PendingReported[] = [];
    for (const { key, value } of await this.state.list(REPORTED_OUTBOX_NAMESPACE)) {
      if (!isJsonObject(value) || typeof value['identity'] !== 'string' || !isJsonObject(value['patch'])) continue;
      try {
        out.push({ key, identity: parseIdentity(value['identity']), patch: value['patch'] });
      } catch {
        continue;
      }
    }
    return out;
  }

  async remove(key: string): Promise<void> {
    await this.state.delete(REPORTED_OUTBOX_NAMESPACE, key);
  }

  private load(): Promise<void> {
    this.loading ??= (async () => {
      const entries = await this.state.list(REPORTED_OUTBOX_NAMESPACE);
      const last = entries[entries.length - 1];
      this.next = last === undefined ? 0 : Number(last.key) + 1;
    })();
    return this.loading;
  }
}
