import { inject, injectable } from 'inversify';
import { type Identity, deviceIdentity, formatIdentity, moduleIdentity } from '../../domain/identity/identity.js';
import { SystemProperty, type Message } from '../../domain/messages/message.js';
import type { Endpoint } from '../../domain/routing/index.js';
import { DeliveryError, EndpointDelivery, type AvailabilityListener, type DeliveryResult } from '../ports/endpoint-delivery.js';
import { Upstream } from '../ports/upstream.js';
import { ClientEndpointDelivery } from '../hub/client-endpoint-delivery.js';
import { HubIdentity } from '../hub/hub-identity.js';

const UPSTREAM_ID = '$upstream';

/** The identity a stored message goes up as: its sender (`connectionDeviceId`/`connectionModuleId`). */
export function senderOf(message: Message, fallbackDeviceId: string): Identity {
  const deviceId = message.systemProperties[SystemProperty.connectionDeviceId] ?? fallbackDeviceId;
  const moduleId = message.systemProperties[SystemProperty.connectionModuleId];
  return moduleId === undefined || moduleId === null || moduleId === '' ? deviceIdentity(deviceId) : moduleIdentity(deviceId, moduleId);
}

/**
 * Delivery for every endpoint once an upstream is configured: module inputs through
 * `ClientEndpointDelivery`, `$upstream` through the `Upstream` port. The upstream endpoint is
 * available while the upstream is connected, so the pump keeps messages stored (until their TTL)
 * while the cloud is away and resumes on reconnect.
 *
 * A batch holds messages of several senders; each sender's messages go up as that identity (IoT
 * Hub attributes telemetry to the connection's identity), in batch order on its own link, all
 * senders at once. The delivered count is the batch prefix before the first message the cloud did
 * not accept, so a failure re-sends from there (at least once; in order per sender, a message of
 * another sender accepted after that point may arrive twice).
 */
@injectable()
export class UpstreamEndpointDelivery extends EndpointDelivery {
  constructor(
    @inject(ClientEndpointDelivery) private readonly modules: ClientEndpointDelivery,
    @inject(Upstream) private readonly upstream: Upstream,
    @inject(HubIdentity) private readonly hub: HubIdentity,
  ) {
    super();
  }

  isAvailable(endpoint: Endpoint): boolean {
    return endpoint.type === 'upstream' ? this.upstream.isConnected() : this.modules.isAvailable(endpoint);
  }

  onAvailabilityChange(listener: AvailabilityListener): () => void {
    const offModules = this.modules.onAvailabilityChange(listener);
    const offUpstream = this.upstream.onConnectionChange((connected) => listener(UPSTREAM_ID, connected));
    return () => {
      offModules();
      offUpstream();
    };
  }

  async deliver(endpoint: Endpoint, messages: readonly Message[]): Promise<DeliveryResult> {
    if (endpoint.type !== 'upstream') return await this.modules.deliver(endpoint, messages);
    if (!this.upstream.isConnected()) return { delivered: 0, error: new DeliveryError(`upstream (${this.upstream.kind}) is not connected`, true) };
    // One group per sender, in batch order within each group (a batch of 20 interleaved clients
    // would otherwise be ~100 runs of one message).
    const groups = new Map<string, { identity: Identity; positions: number[]; messages: Message[] }>();
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i]!;
      const identity = senderOf(message, this.hub.edgeDeviceId);
      const key = formatIdentity(identity);
      let group = groups.get(key);
      if (group === undefined) groups.set(key, (group = { identity, positions: [], messages: [] }));
      group.positions.push(i);
      group.messages.push(message);
    }
    const list = [...groups.values()];
    const results = await Promise.all(
      list.map((group) => this.upstream.sendEvents(group.identity, group.messages).catch((error: unknown): DeliveryResult => ({ delivered: 0, error }))),
    );
    // Delivered = the batch prefix before the first message the cloud did not accept.
    let firstFailed = messages.length;
    let failure: unknown;
    for (let g = 0; g < list.length; g++) {
      const group = list[g]!;
      const accepted = Math.min(Math.max(0, results[g]!.delivered), group.messages.length);
      if (accepted < group.messages.length && group.positions[accepted]! < firstFailed) {
        firstFailed = group.positions[accepted]!;
        failure = results[g]!.error;
      }
    }
    if (firstFailed < messages.length) {
      const error = failure instanceof DeliveryError ? failure : new DeliveryError(`upstream send failed: ${failure instanceof Error ? failure.message : String(failure)}`, true, { cause: failure });
      return { delivered: firstFailed, error };
    }
    return { delivered: messages.length };
  }
}
