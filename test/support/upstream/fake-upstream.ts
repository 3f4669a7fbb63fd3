import { type Identity, formatIdentity } from '../../../domain/identity/identity.js';
import type { Message } from '../../../domain/messages/message.js';
import type { JsonObject } from '../../../domain/twins/json.js';
import { applyDesiredPatch, applyReportedPatch, emptyTwin, type TwinDocument } from '../../../domain/twins/twin-document.js';
import { DeliveryError, type DeliveryResult } from '../../../application/ports/endpoint-delivery.js';
import type { IdentityRecord } from '../../../application/ports/identity-store.js';
import { Upstream, UpstreamError, type ConnectionListener, type UpstreamCapabilities, type UpstreamFeature, type UpstreamHandlers } from '../../../application/ports/upstream.js';

/**
 * An in-memory cloud behind the `Upstream` port, for application-layer tests: twins per identity,
 * received events, requested features, a device scope; `setConnected` simulates outages.
 */
export class FakeUpstream extends Upstream {
  readonly kind = 'fake';
  capabilities: UpstreamCapabilities = { twins: true, methods: true, cloudToDevice: true, deviceScope: true };
  handlers: UpstreamHandlers | undefined;
  private connected = false;
  private readonly listeners = new Set<ConnectionListener>();
  readonly events: Array<{ identity: string; message: Message }> = [];
  readonly twins = new Map<string, TwinDocument>();
  readonly reportedLog: Array<{ identity: string; patch: JsonObject }> = [];
  readonly features = new Map<string, Set<UpstreamFeature>>();
  scope: IdentityRecord[] = [];
  /** Decides per event whether the cloud refuses it (return an error) or accepts it. */
  failEvent: ((identity: Identity, message: Message) => DeliveryError | undefined) | undefined;
  failReported: ((identity: Identity, patch: JsonObject) => UpstreamError | undefined) | undefined;
  started = false;

  async start(handlers: UpstreamHandlers): Promise<void> {
    this.handlers = handlers;
    this.started = true;
  }
  async stop(): Promise<void> {
    this.started = false;
  }
  isConnected(): boolean {
    return this.connected;
  }
  setConnected(connected: boolean): void {
    this.connected = connected;
    for (const l of this.listeners) l(connected);
  }
  onConnectionChange(listener: ConnectionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  private requireConnected(): void {
    if (!this.connected) throw new UpstreamError('not connected', true);
  }
  async sendEvents(identity: Identity, messages: readonly Message[]): Promise<DeliveryResult> {
    if (!this.connected) return { delivered: 0, error: new DeliveryError('not connected', true) };
    for (let i = 0; i < messages.length; i++) {
      const error = this.failEvent?.(identity, messages[i]!);
      if (error !== undefined) return { delivered: i, error };
      this.events.push({ identity: formatIdentity(identity), message: messages[i]! });
    }
    return { delivered: messages.length };
  }
  twin(identity: Identity): TwinDocument {
    return this.twins.get(formatIdentity(identity)) ?? emptyTwin();
  }
  async getTwin(identity: Identity): Promise<TwinDocument> {
    this.requireConnected();
    return this.twin(identity);
  }
  async updateReported(identity: Identity, patch: JsonObject): Promise<void> {
    this.requireConnected();
    const error = this.failReported?.(identity, patch);
    if (error !== undefined) throw error;
    this.reportedLog.push({ identity: formatIdentity(identity), patch });
    this.twins.set(formatIdentity(identity), applyReportedPatch(this.twin(identity), patch).twin);
  }
  async setFeatures(identity: Identity, features: ReadonlySet<UpstreamFeature>): Promise<void> {
    this.requireConnected();
    this.features.set(formatIdentity(identity), new Set(features));
  }
  /** Nested edge: the scopes of child edge devices, and the child modules created. */
  readonly targetScopes = new Map<string, IdentityRecord[]>();
  readonly targetModules: string[] = [];
  override async targetDeviceScope(deviceId: string): Promise<IdentityRecord[]> {
    this.requireConnected();
    const scope = this.targetScopes.get(deviceId);
    if (scope === undefined) throw new UpstreamError(`${deviceId} is not an edge device in this scope`, false, 403);
    return scope;
  }
  override async createTargetModuleIdentity(deviceId: string, moduleId: string): Promise<void> {
    this.requireConnected();
    this.targetModules.push(`${deviceId}/${moduleId}`);
  }
  async deviceScope(): Promise<IdentityRecord[]> {
    this.requireConnected();
    return this.scope;
  }
  readonly modulesCreated: string[] = [];
  async createModuleIdentity(moduleId: string): Promise<void> {
    this.requireConnected();
    if (!this.modulesCreated.includes(moduleId)) this.modulesCreated.push(moduleId);
  }
  /** The cloud side changes desired properties: stored, and pushed when the identity listens and the link is up. */
  async setDesired(identity: Identity, patch: JsonObject): Promise<void> {
    const update = applyDesiredPatch(this.twin(identity), patch);
    if (!update.applied) throw new Error('stale');
    this.twins.set(formatIdentity(identity), update.twin);
    if (this.connected && this.features.get(formatIdentity(identity))?.has('desired') === true) await this.handlers!.desiredPatch(identity, update.patch);
  }
}
