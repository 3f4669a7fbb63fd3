import type { Identity } from '../../domain/identity/identity.js';
import type { Message } from '../../domain/messages/message.js';

/**
 * Where cloud-to-device messages from the upstream go: the hub's durable per-device C2D queues,
 * which deliver to the device when it is connected and listening.
 */
export abstract class CloudToDeviceInbox {
  /** Queues `message` for device `identity`; resolves once stored (the upstream then accepts it). */
  abstract enqueue(identity: Identity, message: Message): Promise<void>;
}
