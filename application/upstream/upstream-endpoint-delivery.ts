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
 * A batch holds messages of several senders; each consecutive run of one sender goes up as that
 * identity (IoT Hub attributes telemetry to the connection's identity). Runs are sent at once,
 * each in order on its identity's link; the delivered count is the prefix the cloud accepted, so
 * a failure re-sends from the first unaccepted message (at least once, in order).
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
    const runs: Array<{ identity: Identity; messages: Message[] }> = [];
    let lastKey = '';
    for (const message of messages) {
      const identity = senderOf(message, this.hub.edgeDeviceId);
      const key = formatIdentity(identity);
      if (key !== lastKey || runs.length === 0) {
        runs.push({ identity, messages: [] });
        lastKey = key;
      }
      runs[runs.length - 1]!.messages.push(message);
    }
    const results = await Promise.all(
      runs.map((run) =>
        this.upstream.sendEvents(run.identity, run.messages).catch((error: unknown): DeliveryResult => ({ delivered: 0, error })),
      ),
    );
    let delivered = 0;
    for (let i = 0; i < runs.length; i++) {
      const result = results[i]!;
      const run = runs[i]!;
      const accepted = Math.min(Math.max(0, result.delivered), run.messages.length);
      delivered += accepted;
      if (accepted < run.messages.length) {
        const error = result.error instanceof DeliveryError ? result.error : new DeliveryError(`upstream send failed: ${result.error instanceof Error ? result.error.message : String(result.error)}`, true, { cause: result.error });
        return { delivered, error };
      }
    }
    return { delivered };
  }
}
