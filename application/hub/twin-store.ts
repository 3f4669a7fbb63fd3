import { inject, injectable } from 'inversify';
import { type Identity, formatIdentity } from '../../domain/identity/identity.js';
import { type TwinDocument, emptyTwin, twinFromResponseBody, twinResponseBody } from '../../domain/twins/twin-document.js';
import { StateStore, type JsonValue } from '../ports/state-store.js';

/** State-store namespace of twins (keys: `dev`, `dev/mod`). */
export const TWINS_NAMESPACE = 'twins';

/**
 * Twins of the hub's clients, kept in the `StateStore` (same database as everything else). A
 * twin is stored in its GET-body shape (`{desired:{…,$version}, reported:{…,$version}}`).
 */
@injectable()
export class TwinStore {
  constructor(@inject(StateStore) private readonly state: StateStore) {}

  /** The stored twin, or a new empty one (both sections at `$version` 1). */
  async get(identity: Identity): Promise<TwinDocument> {
    const value = await this.state.get(TWINS_NAMESPACE, formatIdentity(identity));
    return value === undefined ? emptyTwin() : twinFromResponseBody(value);
  }

  async put(identity: Identity, twin: TwinDocument): Promise<void> {
    await this.state.put(TWINS_NAMESPACE, formatIdentity(identity), twinResponseBody(twin) as JsonValue);
  }

  async remove(identity: Identity): Promise<boolean> {
    return await this.state.delete(TWINS_NAMESPACE, formatIdentity(identity));
  }
}
