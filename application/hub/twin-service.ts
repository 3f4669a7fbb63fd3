import { inject, injectable } from 'inversify';
import { type Identity, formatIdentity } from '../../domain/identity/identity.js';
import type { JsonObject } from '../../domain/twins/json.js';
import { type DesiredUpdate, type TwinDocument, applyDesiredPatch, applyReportedPatch, replaceDesired } from '../../domain/twins/twin-document.js';
import { buildTwinChangeNotification, EDGE_HUB_MODULE_ID } from '../../domain/twins/twin-change-notification.js';
import { Clock } from '../ports/clock.js';
import { Logger } from '../ports/logger.js';
import { ClientDirectory } from './client-directory.js';
import { HubIdentity } from './hub-identity.js';
import { IngestMessage } from './ingest-message.js';
import { TwinStore } from './twin-store.js';

const encoder = new TextEncoder();

/** A change of a twin made through the service: a reported patch from a client, or a desired patch. */
export interface TwinChange {
  readonly identity: Identity;
  readonly section: 'desired' | 'reported';
  /** The patch as applied (a desired patch carries `$version`). */
  readonly patch: JsonObject;
  readonly version: number;
}

export type TwinChangeListener = (change: TwinChange) => void;

/**
 * Twins of devices and modules, protocol-independent (the MQTT head today, the AMQP head later):
 * GET, reported patches from clients (persisted, then a twin-change notification is routed from
 * `/twinChangeNotifications`), desired patches from the deployment or the cloud (persisted, then
 * pushed to the connected client if it listens). Updates of one twin are serialized, so two
 * concurrent patches never lose each other's changes.
 */
@injectable()
export class TwinService {
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly log: Logger;
  private readonly listeners = new Set<TwinChangeListener>();

  constructor(
    @inject(TwinStore) private readonly store: TwinStore,
    @inject(ClientDirectory) private readonly clients: ClientDirectory,
    @inject(IngestMessage) private readonly ingest: IngestMessage,
    @inject(Clock) private readonly clock: Clock,
    @inject(HubIdentity) private readonly hub: HubIdentity,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child({ component: 'twins' });
  }

  async get(identity: Identity): Promise<TwinDocument> {
    return await this.serialized(identity, () => this.store.get(identity));
  }

  /**
   * Applies a client's reported patch and returns the new reported `$version`. Throws
   * `TwinValidationError` (nothing stored) for a patch IoT Hub would refuse.
   */
  async updateReported(identity: Identity, patch: unknown): Promise<{ version: number }> {
    const update = await this.serialized(identity, async () => {
      const current = await this.store.get(identity);
      const result = applyReportedPatch(current, patch);
      await this.store.put(identity, result.twin);
      return result;
    });
    const notification = buildTwinChangeNotification({
      edgeDeviceId: this.hub.edgeDeviceId,
      sender: identity,
      reportedPatch: update.patch,
      reportedVersion: update.version,
      now: this.clock.now(),
    });
    try {
      await this.ingest.ingest(
        { body: encoder.encode(JSON.stringify(notification.body)), properties: { ...notification.properties }, systemProperties: { ...notification.systemProperties } },
        { deviceId: this.hub.edgeDeviceId, moduleId: EDGE_HUB_MODULE_ID },
      );
    } catch (error) {
      // The patch is stored and acknowledged; only its notification could not be routed.
      this.log.warn('twin change notification not stored', { identity: formatIdentity(identity), version: update.version, error: error instanceof Error ? error.message : String(error) });
    }
    this.emit({ identity, section: 'reported', patch: update.patch, version: update.version });
    return { version: update.version };
  }

  /**
   * Applies a desired patch (from the deployment's modulesContent or the cloud) and pushes it to
   * the connected client when it listens for desired updates. Throws `TwinValidationError`.
   */
  async updateDesired(identity: Identity, patch: unknown): Promise<DesiredUpdate> {
    const update = await this.serialized(identity, async () => {
      const current = await this.store.get(identity);
      const result = applyDesiredPatch(current, patch);
      if (result.applied) await this.store.put(identity, result.twin);
      return result;
    });
    if (update.applied) {
      const channel = this.clients.get(identity);
      if (channel !== undefined && channel.has('twin-desired')) channel.sendDesiredPatch(update.patch, update.version);
      this.emit({ identity, section: 'desired', patch: update.patch, version: update.version });
    }
    return update;
  }

  /**
   * Takes the twin fetched from the cloud (a full refresh after a reconnect or a missed desired
   * version): the desired section is replaced and the difference pushed to a listening client; the
   * reported section is the cloud's unless `keepLocalReported` (patches made offline are still on
   * their way up). Returns the desired patch applied, if any.
   */
  async refreshFromCloud(identity: Identity, cloud: TwinDocument, keepLocalReported: boolean): Promise<JsonObject | undefined> {
    const patch = await this.serialized(identity, async () => {
      const current = await this.store.get(identity);
      const replaced = replaceDesired(current, cloud.desired);
      await this.store.put(identity, { ...replaced.twin, reported: keepLocalReported ? current.reported : cloud.reported });
      return replaced.patch;
    });
    if (patch !== undefined) {
      const channel = this.clients.get(identity);
      if (channel !== undefined && channel.has('twin-desired')) channel.sendDesiredPatch(patch, cloud.desired.$version);
      this.emit({ identity, section: 'desired', patch, version: cloud.desired.$version });
    }
    return patch;
  }

  /** Calls `listener` after each reported or desired change; returns the unsubscribe function. */
  onChange(listener: TwinChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: TwinChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.log.warn('twin change listener failed', { identity: formatIdentity(change.identity), error: error instanceof Error ? error.message : String(error) });
      }
    }
  }

  private serialized<T>(identity: Identity, work: () => Promise<T>): Promise<T> {
    const key = formatIdentity(identity);
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(key, settled);
    void settled.then(() => {
      if (this.chains.get(key) === settled) this.chains.delete(key);
    });
    return next;
  }
}
