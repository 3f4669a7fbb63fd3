import { inject, injectable } from 'inversify';
import { type Identity, formatIdentity, parseIdentity } from '../../domain/identity/identity.js';
import { IdentityStore, type IdentityCredentials, type IdentityRecord } from '../ports/identity-store.js';
import { StateStore, type JsonValue } from '../ports/state-store.js';

/** State-store namespace of the identity registry (keys: `dev`, `dev/mod`). */
export const IDENTITIES_NAMESPACE = 'identities';

function toCredentials(value: JsonValue | undefined): IdentityCredentials | undefined {
  if (value === undefined || value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const { primaryKey, secondaryKey, status } = value;
  if (typeof primaryKey !== 'string' || typeof secondaryKey !== 'string') return undefined;
  return status === 'disabled' || status === 'enabled' ? { primaryKey, secondaryKey, status } : { primaryKey, secondaryKey };
}

/**
 * The identities the hub authenticates, kept in the `StateStore` (the same SQLite or PostgreSQL
 * database as messages and twins), so they survive restarts and move with `storage.kind`.
 */
@injectable()
export class StateIdentityStore extends IdentityStore {
  constructor(@inject(StateStore) private readonly state: StateStore) {
    super();
  }

  async get(identity: Identity): Promise<IdentityCredentials | undefined> {
    return toCredentials(await this.state.get(IDENTITIES_NAMESPACE, formatIdentity(identity)));
  }

  async put(identity: Identity, credentials: IdentityCredentials): Promise<void> {
    const value: { [key: string]: JsonValue } = { primaryKey: credentials.primaryKey, secondaryKey: credentials.secondaryKey };
    if (credentials.status !== undefined) value['status'] = credentials.status;
    await this.state.put(IDENTITIES_NAMESPACE, formatIdentity(identity), value);
  }

  async remove(identity: Identity): Promise<boolean> {
    return await this.state.delete(IDENTITIES_NAMESPACE, formatIdentity(identity));
  }

  async list(): Promise<IdentityRecord[]> {
    const records: IdentityRecord[] = [];
    for (const { key, value } of await this.state.list(IDENTITIES_NAMESPACE)) {
      const credentials = toCredentials(value);
      let identity: Identity;
      try {
        identity = parseIdentity(key);
      } catch {
        continue; // not written by this class; never fatal
      }
      if (credentials !== undefined) records.push({ identity, credentials });
    }
    return records;
  }
}
