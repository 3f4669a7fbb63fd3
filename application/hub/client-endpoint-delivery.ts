import { inject, injectable } from 'inversify';
import { moduleIdentity } from '../../domain/identity/identity.js';
import type { Message } from '../../domain/messages/message.js';
import type { Endpoint } from '../../domain/routing/index.js';
import { DeliveryError, EndpointDelivery, type AvailabilityListener, type DeliveryResult } from '../ports/endpoint-delivery.js';
import { ClientDirectory } from './client-directory.js';
import { HubIdentity } from './hub-identity.js';

/**
 * Delivers stored messages to module inputs through the connected clients (any protocol head).
 * A module endpoint (`BrokeredEndpoint("/modules/<m>/inputs/<i>")`) is available while module
 * `<edge device>/<m>` is connected and listens to its inputs. The upstream endpoint is not
 * available until an upstream connection exists (the pump keeps its messages stored).
 */
@injectable()
export class ClientEndpointDelivery extends EndpointDelivery {
  private readonly listeners = new Set<AvailabilityListener>();
  private readonly known = new Map<string, boolean>();
  /** Endpoint ids the pumps asked about, by module: the ids to notify when the module comes and goes. */
  private readonly endpointIds = new Map<string, Set<string>>();

  constructor(
    @inject(ClientDirectory) private readonly clients: ClientDirectory,
    @inject(HubIdentity) private readonly hub: HubIdentity,
  ) {
    super();
    clients.onChange((identity) => {
      if (identity.kind !== 'module' || identity.deviceId !== hub.edgeDeviceId) return;
      const available = this.moduleListening(identity.moduleId);
      if ((this.known.get(identity.moduleId) ?? false) === available) return;
      this.known.set(identity.moduleId, available);
      // Pumps are keyed by endpoint id (`<module>/<input>`): notify every id asked about.
      for (const id of this.endpointIds.get(identity.moduleId) ?? []) {
        for (const listener of this.listeners) listener(id, available);
      }
    });
  }

  isAvailable(endpoint: Endpoint): boolean {
    if (endpoint.type !== 'module') return false;
    let ids = this.endpointIds.get(endpoint.module);
    if (ids === undefined) {
      ids = new Set();
      this.endpointIds.set(endpoint.module, ids);
    }
    ids.add(endpoint.id);
    return this.moduleListening(endpoint.module);
  }

  onAvailabilityChange(listener: AvailabilityListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async deliver(endpoint: Endpoint, messages: readonly Message[]): Promise<DeliveryResult> {
    if (endpoint.type !== 'module') {
      return { delivered: 0, error: new DeliveryError('no upstream connection is configured', true) };
    }
    const channel = this.channelFor(endpoint.module);
    if (channel === undefined || !channel.has('inputs')) {
      return { delivered: 0, error: new DeliveryError(`module ${endpoint.module} is not connected`, true) };
    }
    // All messages of the batch go out at once (QoS 1 window = batch) in order; MQTT keeps the
    // order, and the delivered count is the acknowledged prefix.
    const results = await Promise.allSettled(messages.map((m) => channel.sendInput(endpoint.input, m)));
    for (let i = 0; i < results.length; i++) {
      const r = results[i]!;
      if (r.status === 'rejected') {
        const error = r.reason instanceof DeliveryError ? r.reason : new DeliveryError(`delivery to module ${endpoint.module} failed: ${String(r.reason instanceof Error ? r.reason.message : r.reason)}`, true, { cause: r.reason });
        return { delivered: i, error };
      }
    }
    return { delivered: messages.length };
  }

  private channelFor(moduleId: string) {
    try {
      return this.clients.get(moduleIdentity(this.hub.edgeDeviceId, moduleId));
    } catch {
      return undefined;
    }
  }

  private moduleListening(moduleId: string): boolean {
    return this.channelFor(moduleId)?.has('inputs') ?? false;
  }
}
