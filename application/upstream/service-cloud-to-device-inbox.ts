import { inject, injectable } from 'inversify';
import type { Identity } from '../../domain/identity/identity.js';
import { SystemProperty, type Message } from '../../domain/messages/message.js';
import { CloudToDeviceInbox } from '../ports/cloud-to-device-inbox.js';
import { UpstreamError } from '../ports/upstream.js';
import { CloudToDeviceError, CloudToDeviceService, type CloudToDeviceRequest } from '../hub/cloud-to-device-service.js';

/**
 * Cloud-to-device messages from the upstream into the hub's durable per-device queues
 * (`CloudToDeviceService`). A full queue is transient (the cloud message is released and comes
 * again); any other refusal (unknown device, too large, invalid) is permanent (rejected).
 */
@injectable()
export class ServiceCloudToDeviceInbox extends CloudToDeviceInbox {
  constructor(@inject(CloudToDeviceService) private readonly service: CloudToDeviceService) {
    super();
  }

  async enqueue(identity: Identity, message: Message): Promise<void> {
    if (identity.kind !== 'device') throw new UpstreamError('cloud-to-device messages go to devices, not modules', false);
    const sys = message.systemProperties;
    const properties: Record<string, string> = {};
    for (const [k, v] of Object.entries(message.properties)) if (v !== null && k !== 'iothub-ack') properties[k] = v;
    const expiry = sys[SystemProperty.expiryTimeUtc];
    const expiresAt = expiry == null ? undefined : Date.parse(expiry);
    const ack = message.properties['iothub-ack'];
    const request: CloudToDeviceRequest = {
      deviceId: identity.deviceId,
      body: message.body,
      properties,
      ...(sys[SystemProperty.messageId] != null ? { messageId: sys[SystemProperty.messageId]! } : {}),
      ...(sys[SystemProperty.correlationId] != null ? { correlationId: sys[SystemProperty.correlationId]! } : {}),
      ...(sys[SystemProperty.userId] != null ? { userId: sys[SystemProperty.userId]! } : {}),
      ...(sys[SystemProperty.contentType] != null ? { contentType: sys[SystemProperty.contentType]! } : {}),
      ...(sys[SystemProperty.contentEncoding] != null ? { contentEncoding: sys[SystemProperty.contentEncoding]! } : {}),
      ...(expiresAt !== undefined && Number.isFinite(expiresAt) ? { expiresAt } : {}),
      ...(ack === 'none' || ack === 'positive' || ack === 'negative' || ack === 'full' ? { ack } : {}),
    };
    try {
      await this.service.send(request);
    } catch (error) {
      if (error instanceof CloudToDeviceError) throw new UpstreamError(error.message, error.code === 'queue-full', error.status, { cause: error });
      throw error;
    }
  }
}
