import { inject, injectable, optional } from 'inversify';
import { type Identity, formatIdentity, moduleIdentity, parseIdentity, sameIdentity } from '../../domain/identity/identity.js';
import type { Message } from '../../domain/messages/message.js';
import type { JsonObject, JsonValue } from '../../domain/twins/json.js';
import { CloudToDeviceInbox } from '../ports/cloud-to-device-inbox.js';
import { Clock, type TimerHandle } from '../ports/clock.js';
import { HostedService, type ListenInfo } from '../ports/hosted-service.js';
import { IdentityStore } from '../ports/identity-store.js';
import { Logger } from '../ports/logger.js';
import { StateStore } from '../ports/state-store.js';
import { Upstream, UpstreamError, type UpstreamFeature, type UpstreamMethodRequest, type UpstreamMethodResponse } from '../ports/upstream.js';
import { ClientDirectory } from '../hub/client-directory.js';
import { HubIdentity } from '../hub/hub-identity.js';
import { MethodService } from '../hub/method-service.js';
import { TwinService } from '../hub/twin-service.js';
import { AgentMethods } from '../agent/agent-methods.js';
import { DeploymentSource } from '../ports/deployment-source.js';
import { ReportedOutbox } from './reported-outbox.js';
import { EDGE_AGENT_MODULE_ID, EDGE_HUB_MODULE_ID } from './twin-deployment-source.js';

/** State-store namespace of the identities the device scope sync wrote (keys: `dev`, `dev/mod`). */
export const SCOPE_NAMESPACE = 'upstream-scope';

/** Timing of the sync (edgeHub: scope refresh 1 h, reported sync retry 5 s). */
export class UpstreamSyncOptions {
  /** Device scope refresh while connected (edgeHub `DeviceScopeCacheRefreshRateSecs` 3600). */
  scopeRefreshMs = 3_600_000;
  /** Retry of reported patches and twin refreshes after a transient failure while connected. */
  retryMs = 5_000;
  constructor(init: Partial<UpstreamSyncOptions> = {}) {
    Object.assign(this, init);
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sameFeatures(a: ReadonlySet<UpstreamFeature>, b: ReadonlySet<UpstreamFeature>): boolean {
  if (a.size !== b.size) return false;
  for (const f of a) if (!b.has(f)) return false;
  return true;
}

/**
 * Keeps the edge and the cloud in step over the `Upstream` port:
 * - twins: `$edgeAgent` and `$edgeHub` always, and every connected client's twin; desired patches
 *   from the cloud go into the local twins (and from there to the client and the deployment);
 *   a missed `$version` or a reconnect fetches the full twin; every reported patch made at the
 *   edge is kept in the `ReportedOutbox` and sent in order while connected (offline ones on reconnect);
 * - cloud-to-device messages go to the `CloudToDeviceInbox`, direct methods to `MethodService`
 *   (`$edgeAgent`'s to `AgentMethods` when the agent runs in this process);
 * - the device scope (identities with keys) is cached in the `IdentityStore`, so clients
 *   authenticate while the cloud is away.
 */
@injectable()
export class UpstreamSync extends HostedService {
  readonly name = 'upstream-sync';
  private readonly log: Logger;
  /** Identities kept in sync and what the cloud pushes for them. */
  private readonly tracked = new Map<string, { identity: Identity; features: Set<UpstreamFeature> }>();
  private readonly unsubscribe: Array<() => void> = [];
  private running = false;
  private draining: Promise<void> | undefined;
  private drainAgain = false;
  private retryTimer: TimerHandle | undefined;
  private scopeTimer: TimerHandle | undefined;
  /** Serializes connection work (resync on connect, client changes) so links are set in order. */
  private work: Promise<void> = Promise.resolve();
  private readonly systemIdentities: Identity[];

  constructor(
    @inject(Upstream) private readonly upstream: Upstream,
    @inject(TwinService) private readonly twins: TwinService,
    @inject(MethodService) private readonly methods: MethodService,
    @inject(ClientDirectory) private readonly clients: ClientDirectory,
    @inject(IdentityStore) private readonly identities: IdentityStore,
    @inject(StateStore) private readonly state: StateStore,
    @inject(ReportedOutbox) private readonly outbox: ReportedOutbox,
    @inject(HubIdentity) private readonly hub: HubIdentity,
    @inject(Clock) private readonly clock: Clock,
    @inject(Logger) logger: Logger,
    @inject(UpstreamSyncOptions) @optional() private readonly options: UpstreamSyncOptions = new UpstreamSyncOptions(),
    @inject(CloudToDeviceInbox) @optional() private readonly inbox?: CloudToDeviceInbox,
    /** `$edgeAgent` direct methods from the cloud (ping, RestartModule, GetModuleLogs) when the agent runs here. */
    @inject(AgentMethods) @optional() private readonly agentMethods?: AgentMethods,
    /** The deployment: its modules get identities in the cloud registry (as Azure's agent creates them). */
    @inject(DeploymentSource) @optional() private readonly deployment?: DeploymentSource,
  ) {
    super();
    this.log = logger.child({ component: 'upstream-sync' });
    this.systemIdentities = [moduleIdentity(hub.edgeDeviceId, EDGE_AGENT_MODULE_ID), moduleIdentity(hub.edgeDeviceId, EDGE_HUB_MODULE_ID)];
  }

  async start(): Promise<ListenInfo[]> {
    if (this.running) return [];
    this.running = true;
    await this.state.open();
    if (this.upstream.capabilities.twins) {
      for (const identity of this.systemIdentities) this.tracked.set(formatIdentity(identity), { identity, features: new Set(['desired']) });
      if (this.agentMethods !== undefined && this.upstream.capabilities.methods) this.tracked.get(formatIdentity(this.systemIdentities[0]!))!.features.add('methods');
      this.unsubscribe.push(
        this.twins.onChange((change) => {
          if (change.section === 'reported') void this.queueReported(change.identity, change.patch);
        }),
      );
    }
    if (this.deployment !== undefined && this.upstream.capabilities.deviceScope) {
      this.unsubscribe.push(this.deployment.onChange(() => this.enqueue(() => this.createModuleIdentities())));
    }
    this.unsubscribe.push(
      this.clients.onChange((identity) => this.enqueue(() => this.clientChanged(identity))),
      this.upstream.onConnectionChange((connected) => {
        if (connected) this.enqueue(() => this.resync());
      }),
    );
    for (const channel of this.clients.connected()) this.enqueue(() => this.clientChanged(channel.identity));
    await this.upstream.start({
      desiredPatch: (identity, patch) => this.onDesiredPatch(identity, patch),
      cloudToDevice: (identity, message) => this.onCloudToDevice(identity, message),
      method: (identity, request) => this.onMethod(identity, request),
    });
    if (this.upstream.isConnected()) this.enqueue(() => this.resync());
    return [];
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const off of this.unsubscribe.splice(0)) off();
    this.retryTimer?.cancel();
    this.scopeTimer?.cancel();
    await this.work;
    await this.draining;
    await this.upstream.stop();
  }

  /** Resolves when queued connection work and the reported drain are done (for tests). */
  async idle(): Promise<void> {
    for (;;) {
      const work = this.work;
      const draining = this.draining;
      await work;
      await draining;
      if (work === this.work && draining === this.draining) return;
    }
  }

  private enqueue(task: () => Promise<void>): void {
    this.work = this.work.then(task).catch((error: unknown) => {
      this.log.warn('upstream sync step failed', { error: errorText(error) });
    });
  }

  // ---- connection -------------------------------------------------------------------------

  /** After each (re)connect: device scope, pending reported patches, links, then full twins. */
  private async resync(): Promise<void> {
    if (!this.running || !this.upstream.isConnected()) return;
    this.log.info('upstream connected: resynchronizing', { kind: this.upstream.kind, identities: this.tracked.size });
    if (this.upstream.capabilities.deviceScope) {
      await this.createModuleIdentities();
      await this.refreshScope();
    }
    if (this.upstream.capabilities.twins) await this.drain();
    for (const { identity, features } of [...this.tracked.values()]) {
      if (!this.upstream.isConnected()) return;
      try {
        await this.upstream.setFeatures(identity, features);
        if (this.upstream.capabilities.twins && features.has('desired')) await this.refreshTwin(identity);
      } catch (error) {
        this.log.warn('resynchronizing an identity failed', { identity: formatIdentity(identity), error: errorText(error) });
      }
    }
  }

  private async clientChanged(identity: Identity): Promise<void> {
    if (!this.running || this.isSystem(identity)) return;
    const key = formatIdentity(identity);
    const channel = this.clients.get(identity);
    const features = new Set<UpstreamFeature>();
    if (channel !== undefined) {
      if (this.upstream.capabilities.twins) features.add('desired');
      if (this.upstream.capabilities.methods && channel.has('methods')) features.add('methods');
      if (this.upstream.capabilities.cloudToDevice && identity.kind === 'device' && this.inbox !== undefined) features.add('c2d');
    }
    const previous = this.tracked.get(key);
    if (previous !== undefined && sameFeatures(previous.features, features)) return;
    if (features.size === 0) this.tracked.delete(key);
    else this.tracked.set(key, { identity, features });
    if (!this.upstream.isConnected()) return;
    try {
      await this.upstream.setFeatures(identity, features);
      if (features.has('desired') && previous?.features.has('desired') !== true) await this.refreshTwin(identity);
    } catch (error) {
      this.log.warn('upstream links of a client not updated', { identity: key, error: errorText(error) });
    }
  }

  private isSystem(identity: Identity): boolean {
    return this.systemIdentities.some((s) => sameIdentity(s, identity));
  }

  // ---- twins ----------------------------------------------------------------------------

  private async refreshTwin(identity: Identity): Promise<void> {
    const cloud = await this.upstream.getTwin(identity);
    const pending = (await this.outbox.pending()).some((p) => sameIdentity(p.identity, identity));
    await this.twins.refreshFromCloud(identity, cloud, pending);
  }

  private async onDesiredPatch(identity: Identity, patch: JsonObject): Promise<void> {
    try {
      const update = await this.twins.updateDesired(identity, patch);
      if (update.applied && update.gap) this.enqueue(() => this.refreshTwin(identity));
    } catch (error) {
      this.log.warn('desired patch from the cloud not applied; fetching the full twin', { identity: formatIdentity(identity), error: errorText(error) });
      this.enqueue(() => this.refreshTwin(identity));
    }
  }

  private async queueReported(identity: Identity, patch: JsonObject): Promise<void> {
    try {
      await this.outbox.append(identity, patch);
    } catch (error) {
      this.log.error('reported patch not kept for the cloud', { identity: formatIdentity(identity), error: errorText(error) });
      return;
    }
    void this.drain();
  }

  /** Sends pending reported patches in order while connected; one drain at a time. */
  private drain(): Promise<void> {
    if (this.draining !== undefined) {
      this.drainAgain = true;
      return this.draining;
    }
    this.draining = (async () => {
      do {
        this.drainAgain = false;
        await this.drainOnce();
      } while (this.drainAgain && this.running);
    })().finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  private async drainOnce(): Promise<void> {
    for (const entry of await this.outbox.pending()) {
      if (!this.running || !this.upstream.isConnected()) return;
      try {
        await this.upstream.updateReported(entry.identity, entry.patch);
      } catch (error) {
        if (error instanceof UpstreamError && !error.transient) {
          // The cloud refused it (a later patch cannot depend on it being applied: patches merge).
          this.log.warn('reported patch refused by the cloud; dropped', { identity: formatIdentity(entry.identity), status: error.status ?? null, error: error.message });
        } else {
          this.log.info('reported patch not sent yet; retrying', { identity: formatIdentity(entry.identity), error: errorText(error) });
          this.scheduleRetry();
          return;
        }
      }
      await this.outbox.remove(entry.key);
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined || !this.running) return;
    this.retryTimer = this.clock.schedule(this.options.retryMs, () => {
      this.retryTimer = undefined;
      if (this.upstream.isConnected()) void this.drain();
    });
  }

  // ---- cloud to edge --------------------------------------------------------------------

  private async onCloudToDevice(identity: Identity, message: Message): Promise<void> {
    if (this.inbox === undefined) throw new UpstreamError('cloud-to-device messages are not handled by this hub', false);
    await this.inbox.enqueue(identity, message);
  }

  private async onMethod(identity: Identity, request: UpstreamMethodRequest): Promise<UpstreamMethodResponse> {
    if (this.agentMethods !== undefined && sameIdentity(identity, this.systemIdentities[0]!)) {
      const response = await this.agentMethods.invoke(request.name, request.payload);
      return { status: response.status, payload: (response.payload ?? null) as JsonValue };
    }
    return await this.methods.invoke(identity, request.name, request.payload, request.timeoutMs);
  }

  // ---- device scope ---------------------------------------------------------------------

  /** Modules of the current deployment the cloud registry was asked to create (this run). */
  private readonly modulesCreated = new Set<string>();

  /** Creates the deployment's module identities in the cloud (once per run each; retried on the next connect). */
  private async createModuleIdentities(): Promise<void> {
    const agent = this.deployment?.current()?.deployment.agent;
    if (agent === undefined || !agent.ok || !this.upstream.isConnected()) return;
    for (const module of agent.value.modules) {
      if (this.modulesCreated.has(module.name)) continue;
      try {
        await this.upstream.createModuleIdentity(module.name);
        this.modulesCreated.add(module.name);
        this.log.info(`module identity ${module.name} ensured in the cloud`, { module: module.name });
      } catch (error) {
        this.log.warn('module identity not created in the cloud yet', { module: module.name, error: errorText(error) });
      }
    }
  }

  /**
   * Caches the device scope in the identity store: new and changed identities are written;
   * identities this sync wrote before and the cloud no longer lists are removed (identities
   * created locally are left alone).
   */
  async refreshScope(): Promise<void> {
    this.scopeTimer?.cancel();
    this.scopeTimer = undefined;
    try {
      const scope = await this.upstream.deviceScope();
      const listed = new Set<string>();
      for (const record of scope) {
        const key = formatIdentity(record.identity);
        listed.add(key);
        const current = await this.identities.get(record.identity);
        const same = current !== undefined && current.primaryKey === record.credentials.primaryKey && current.secondaryKey === record.credentials.secondaryKey && (current.status ?? 'enabled') === (record.credentials.status ?? 'enabled') && JSON.stringify(current.x509) === JSON.stringify(record.credentials.x509);
        if (!same) await this.identities.put(record.identity, record.credentials);
        await this.state.put(SCOPE_NAMESPACE, key, true);
      }
      for (const { key } of await this.state.list(SCOPE_NAMESPACE)) {
        if (listed.has(key)) continue;
        await this.identities.remove(parseIdentity(key));
        await this.state.delete(SCOPE_NAMESPACE, key);
      }
      this.log.info(`device scope cached: ${scope.length} identities`, { identities: scope.length });
    } catch (error) {
      this.log.warn('device scope not refreshed; the cached identities stay', { error: errorText(error) });
    } finally {
      if (this.running) this.scopeTimer = this.clock.schedule(this.options.scopeRefreshMs, () => this.enqueue(() => this.refreshScope()));
    }
  }
}
