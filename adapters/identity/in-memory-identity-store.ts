import { injectable } from 'inversify';
import { type Identity, formatIdentity } from '../../domain/identity/identity.js';
import { IdentityStore, type IdentityCredentials, type IdentityRecord } from '../../application/ports/identity-store.js';

/** Identity store for tests and for `--ephemeral` runs; the TypeORM one persists. */
@injectable()
export class InMemoryIdentityStore extends IdentityStore {
  private readonly records = new Map<string, IdentityRecord>();

  async get(identity: Identity): Promise<IdentityCredentials | undefined> {
    return this.records.get(formatIdentity(identity))?.credentials;
  }

  async put(identity: Identity, credentials: IdentityCredentials): Promise<void> {
    this.records.set(formatIdentity(identity), { identity: { ...identity }, credentials: { ...credentials } });
  }

  async remove(identity: Identity): Promise<boolean> {
    return this.records.delete(formatIdentity(identity));
  }

  async list(): Promise<IdentityRecord[]> {
    return [...this.records.values()];
  }
}
