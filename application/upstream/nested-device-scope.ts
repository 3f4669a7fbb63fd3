import { inject, injectable } from 'inversify';
import { type Identity, deviceIdentity, formatIdentity, parseIdentity } from '../../domain/identity/identity.js';
import { AuthenticateClient } from '../hub/authenticate-client.js';
import { DeviceScopeParents } from '../hub/device-scope-parents.js';
import { HubIdentity } from '../hub/hub-identity.js';
import { IdentityStore, type IdentityRecord } from '../ports/identity-store.js';
import { Logger } from '../ports/logger.js';
import { StateStore } from '../ports/state-store.js';
import { Upstream, UpstreamError } from '../ports/upstream.js';

/** State-store namespace of the cached scopes of child edge devices: key `<child>|<dev>[/<mod>]`, value the child's id. */
export const NESTED_SCOPE_NAMESPACE = 'upstream-nested-scope';

/** A refused nested-edge request: `status` is the HTTP status the child gets. */
export class NestedScopeError extends Error {
  readonly code = 'NESTED_SCOPE';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'NestedScopeError';
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Nested edge, parent side: what a child edge device asks the IoT Hub registry for, served
 * through this edge device (Azure's nested edge hub answers the same calls for its children):
 *
 * - the child's device scope (its modules and leaf devices, with keys): asked for upstream with
 *   this device's own credentials on the child's behalf, and cached here (keys in the identity
 *   store, the child links in `DeviceScopeParents`), so the identities of the child's scope
 *   authenticate at this layer too, also while the cloud is away; offline the cached scope is served;
 * - creating a module identity of the child in the cloud registry (the child's agent deploys it).
 *
 * The caller must hold a valid token of the child device (checked locally, so offline too).
 */
@injectable()
export class NestedDeviceScope {
  private readonly log: Logger;
  /** One cache update at a time (two children's scopes may name one identity). */
  private work: Promise<unknown> = Promise.resolve();

  constructor(
    @inject(Upstream) private readonly upstream: Upstream,
    @inject(AuthenticateClient) private readonly authenticator: AuthenticateClient,
    @inject(HubIdentity) private readonly hub: HubIdentity,
    @inject(IdentityStore) private readonly identities: IdentityStore,
    @inject(StateStore) private readonly state: StateStore,
    @inject(DeviceScopeParents) private readonly parents: DeviceScopeParents,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child({ component: 'nested-scope' });
  }

  /** Checks that `token` is a valid SAS token of device `deviceId` (a child edge device); throws `NestedScopeError` 401. */
  async authorize(deviceId: string, token: string | undefined): Promise<Identity> {
    let claim: Identity;
    try {
      claim = deviceIdentity(deviceId);
    } catch (error) {
      throw new NestedScopeError(400, errorText(error));
    }
    if (token === undefined || token === '') throw new NestedScopeError(401, 'unauthorized: a SharedAccessSignature of the child edge device is required');
    const result = await this.authenticator.execute({
      identity: claim,
      token,
      iotHubHostName: this.hub.iotHubHostName,
      ...(this.hub.edgeHostName !== undefined ? { edgeHostName: this.hub.edgeHostName } : {}),
    });
    if (!result.ok) {
      this.log.warn('child edge device refused', { device: deviceId, reason: result.reason, detail: result.detail });
      throw new NestedScopeError(401, `unauthorized: ${result.reason}`);
    }
    return claim;
  }

  /** The device scope of child edge device `childId`: from the cloud when it answers (and cached), else the cached one. */
  async scopeOf(childId: string): Promise<IdentityRecord[]> {
    let records: IdentityRecord[];
    try {
      records = await this.upstream.targetDeviceScope(childId);
    } catch (error) {
      if (error instanceof UpstreamError && !error.transient) throw new NestedScopeError(error.status ?? 502, error.message);
      const cached = await this.cached(childId);
      this.log.info('child device scope served from the cache', { device: childId, identities: cached.length, reason: errorText(error) });
      return cached;
    }
    const update = this.work.then(() => this.cache(childId, records));
    this.work = update.catch(() => undefined);
    await update;
    this.log.info(`device scope of child ${childId} cached: ${records.length} identities`, { device: childId, identities: records.length });
    return records;
  }

  /**
   * Deeper nesting: child edge device `callerId` (itself a parent) asks for the scope of `targetId`,
   * an edge device below it. Only a target whose parent links (from the cached scopes) lead to the
   * caller is served (403 otherwise); then as `scopeOf`.
   */
  async targetScopeOf(callerId: string, targetId: string): Promise<IdentityRecord[]> {
    if (!(await this.parents.ancestors(targetId)).includes(callerId)) {
      this.log.warn('child edge device refused', { device: callerId, reason: 'not-in-scope', detail: `${targetId} is not below ${callerId}` });
      throw new NestedScopeError(403, `${targetId} is not in the scope of ${callerId}`);
    }
    return await this.scopeOf(targetId);
  }

  /** Creates module `moduleId` of child `childId` in the cloud registry; 503 while the cloud is away (the child retries). */
  async createModule(childId: string, moduleId: string): Promise<void> {
    try {
      await this.upstream.createTargetModuleIdentity(childId, moduleId);
      this.log.info('child module identity ensured in the cloud', { device: childId, module: moduleId });
    } catch (error) {
      if (error instanceof UpstreamError) throw new NestedScopeError(error.transient ? 503 : (error.status ?? 502), error.message);
      throw error;
    }
  }

  private async cache(childId: string, records: readonly IdentityRecord[]): Promise<void> {
    await this.state.open();
    const prefix = `${childId}|`;
    const listed = new Set<string>();
    for (const record of records) {
      const key = formatIdentity(record.identity);
      listed.add(key);
      const current = await this.identities.get(record.identity);
      const same = current !== undefined && current.primaryKey === record.credentials.primaryKey && current.secondaryKey === record.credentials.secondaryKey && (current.status ?? 'enabled') === (record.credentials.status ?? 'enabled');
      if (!same) await this.identities.put(record.identity, record.credentials);
      await this.state.put(NESTED_SCOPE_NAMESPACE, prefix + key, childId);
      // The devices of a child's scope are its children: its key may sign for them.
      if (record.identity.kind === 'device') await this.parents.set(record.identity.deviceId, childId);
    }
    for (const { key } of await this.state.list(NESTED_SCOPE_NAMESPACE)) {
      if (!key.startsWith(prefix) || listed.has(key.slice(prefix.length))) continue;
      const identity = parseIdentity(key.slice(prefix.length));
      await this.identities.remove(identity);
      if (identity.kind === 'device') await this.parents.remove(identity.deviceId);
      await this.state.delete(NESTED_SCOPE_NAMESPACE, key);
    }
  }

  private async cached(childId: string): Promise<IdentityRecord[]> {
    await this.state.open();
    const prefix = `${childId}|`;
    const out: IdentityRecord[] = [];
    for (const { key } of await this.state.list(NESTED_SCOPE_NAMESPACE)) {
      if (!key.startsWith(prefix)) continue;
      const identity = parseIdentity(key.slice(prefix.length));
      const credentials = await this.identities.get(identity);
      if (credentials !== undefined) out.push({ identity, credentials });
    }
    return out;
  }
}
