import { inject, injectable } from 'inversify';
import { type DeviceIdentity, IdentityError, deviceIdentity } from '../../domain/identity/identity.js';
import { base64ToBytes, bytesToBase64 } from '../../domain/messages/base64.js';
import type { Message } from '../../domain/messages/message.js';
import { ClientDirectory } from './client-directory.js';
import { Clock } from '../ports/clock.js';
import { DeliveryError } from '../ports/endpoint-delivery.js';
import { HostedService, type ListenInfo } from '../ports/hosted-service.js';
import { IdentityStore } from '../ports/identity-store.js';
import { Logger } from '../ports/logger.js';
import { RandomSource } from '../ports/random-source.js';
import { StateStore, type JsonValue } from '../ports/state-store.js';

/** IoT Hub's cloud-to-device limits (IoT Hub quotas: 50 queued per device, TTL 1 h default and 48 h max, 64 KB). */
export class CloudToDeviceOptions {
  maxQueuedPerDevice = 50;
  defaultTtlMs = 60 * 60 * 1000;
  maxTtlMs = 48 * 60 * 60 * 1000;
  maxMessageBytes = 64 * 1024;

  constructor(overrides: Partial<CloudToDeviceOptions> = {}) {
    Object.assign(this, overrides);
  }
}

/** IoT Hub's feedback request of a C2D message (`iothub-ack`). */
export type CloudToDeviceAck = 'none' | 'positive' | 'negative' | 'full';
const ACKS: readonly string[] = ['none', 'positive', 'negative', 'full'];

/** A C2D message to send, whoever sends it (management API, CLI, later the IoT Hub upstream). */
export interface CloudToDeviceRequest {
  readonly deviceId: string;
  readonly body: Uint8Array;
  /** Application properties. */
  readonly properties?: Readonly<Record<string, string>>;
  /** Default: a random UUID. */
  readonly messageId?: string;
  readonly correlationId?: string;
  readonly userId?: string;
  readonly contentType?: string;
  readonly contentEncoding?: string;
  /** Absolute expiry (epoch ms); wins over `ttlSeconds`. Default: now + 1 h. */
  readonly expiresAt?: number;
  readonly ttlSeconds?: number;
  readonly ack?: CloudToDeviceAck;
}

export interface CloudToDeviceAccepted {
  readonly deviceId: string;
  readonly messageId: string;
  readonly expiresAt: number;
  /** Messages queued for the device, this one included. */
  readonly queued: number;
}

export type CloudToDeviceErrorCode = 'invalid-request' | 'device-not-found' | 'queue-full' | 'message-too-large';

/** A C2D message was refused; nothing was stored. `status` is the HTTP status IoT Hub answers. */
export class CloudToDeviceError extends Error {
  constructor(
    readonly code: CloudToDeviceErrorCode,
    readonly status: 400 | 403 | 404 | 413,
    message: string,
  ) {
    super(message);
    this.name = 'CloudToDeviceError';
  }
}

/** State-store namespace of one device's C2D queue; keys are zero-padded sequence numbers (list order = send order). */
export function c2dNamespace(deviceId: string): string {
  return `c2d/${deviceId}`;
}

interface StoredC2d {
  readonly key: string;
  readonly sequence: number;
  readonly expiresAt: number;
  readonly message: Message;
}

interface DeviceQueue {
  /** Next sequence number; undefined until read from storage. */
  next: number | undefined;
  /** Sends to this device, one at a time (sequence numbers and the limit check). */
  sending: Promise<unknown>;
  running: Promise<void> | null;
  again: boolean;
}

function sequenceKey(sequence: number): string {
  return String(sequence).padStart(16, '0');
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}

function fromDocument(key: string, value: JsonValue): StoredC2d | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const { body, properties, systemProperties, expiresAt } = value;
  if (typeof body !== 'string' || typeof expiresAt !== 'number' || !isStringRecord(properties) || !isStringRecord(systemProperties)) return undefined;
  const sequence = Number(key);
  if (!Number.isSafeInteger(sequence)) return undefined;
  return { key, sequence, expiresAt, message: { body: base64ToBytes(body), properties: { ...properties }, systemProperties: { ...systemProperties } } };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Cloud-to-device messages to leaf devices (IoT Hub semantics, transport-free): `send` validates
 * and stores a message durably in the `StateStore` (namespace `c2d/<deviceId>`, one document per
 * message keyed by a zero-padded sequence number, so the queue survives restarts and is read back
 * in order); while the device is connected and listens for C2D (`ClientChannel.has('c2d')`) the
 * queue is delivered in order, one message at a time, through `ClientChannel.sendC2d`, and a
 * message is removed only once the client accepted it (MQTT PUBACK). Expired messages are dropped
 * (and logged) instead of delivered. A message the client refuses (non-transient `DeliveryError`,
 * e.g. an AMQP reject) is removed, as IoT Hub dead-letters a rejected message.
 */
@injectable()
export class CloudToDeviceService extends HostedService {
  readonly name = 'c2d';
  private readonly queues = new Map<string, DeviceQueue>();
  private readonly log: Logger;
  private unsubscribe: (() => void) | null = null;
  private running = false;

  constructor(
    @inject(StateStore) private readonly state: StateStore,
    @inject(ClientDirectory) private readonly clients: ClientDirectory,
    @inject(IdentityStore) private readonly identities: IdentityStore,
    @inject(Clock) private readonly clock: Clock,
    @inject(RandomSource) private readonly random: RandomSource,
    @inject(CloudToDeviceOptions) private readonly options: CloudToDeviceOptions,
    @inject(Logger) logger: Logger,
  ) {
    super();
    this.log = logger.child({ component: 'c2d' });
  }

  async start(): Promise<ListenInfo[]> {
    if (this.running) return [];
    this.running = true;
    this.unsubscribe = this.clients.onChange((identity) => {
      if (identity.kind === 'device') this.kick(identity.deviceId);
    });
    return [];
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribe?.();
    this.unsubscribe = null;
    await Promise.all([...this.queues.values()].map((q) => q.running));
  }

  /** Validates and stores a message for `request.deviceId`; delivers it at once if the device listens. */
  async send(request: CloudToDeviceRequest): Promise<CloudToDeviceAccepted> {
    const identity = this.validDevice(request.deviceId);
    const now = this.clock.now();
    const expiresAt = this.expiryOf(request, now);
    const message = this.messageOf(request, expiresAt);
    if (request.body.length > this.options.maxMessageBytes) {
      throw new CloudToDeviceError('message-too-large', 413, `the message body is ${request.body.length} bytes; IoT Hub allows at most ${this.options.maxMessageBytes} bytes for cloud-to-device messages`);
    }
    if ((await this.identities.get(identity)) === undefined) {
      throw new CloudToDeviceError('device-not-found', 404, `device ${JSON.stringify(request.deviceId)} is not registered on this edge device (add it with: edgeport identity add ${request.deviceId})`);
    }
    const queue = this.queueOf(request.deviceId);
    const result = queue.sending.then(() => this.append(request.deviceId, queue, message, now, expiresAt));
    queue.sending = result.catch(() => undefined);
    const accepted = await result;
    this.log.info('cloud-to-device message queued', { deviceId: request.deviceId, messageId: accepted.messageId, queued: accepted.queued });
    this.kick(request.deviceId);
    return accepted;
  }

  /** Messages queued for `deviceId` (expired ones included until they are swept), in delivery order. */
  async pending(deviceId: string): Promise<Message[]> {
    return (await this.read(deviceId)).map((s) => s.message);
  }

  private validDevice(deviceId: string): DeviceIdentity {
    try {
      return deviceIdentity(deviceId);
    } catch (error) {
      if (error instanceof IdentityError) throw new CloudToDeviceError('invalid-request', 400, error.message);
      throw error;
    }
  }

  private expiryOf(request: CloudToDeviceRequest, now: number): number {
    if (request.expiresAt !== undefined) {
      if (!Number.isFinite(request.expiresAt) || request.expiresAt <= now) throw new CloudToDeviceError('invalid-request', 400, 'expiry must be in the future');
      if (request.expiresAt - now > this.options.maxTtlMs) throw new CloudToDeviceError('invalid-request', 400, `expiry must be at most ${this.options.maxTtlMs / 3_600_000} hours ahead (IoT Hub's maximum time to live)`);
      return request.expiresAt;
    }
    if (request.ttlSeconds !== undefined) {
      const ttlMs = request.ttlSeconds * 1000;
      if (!Number.isFinite(ttlMs) || ttlMs <= 0 || ttlMs > this.options.maxTtlMs) {
        throw new CloudToDeviceError('invalid-request', 400, `time to live must be 1 to ${this.options.maxTtlMs / 1000} seconds (IoT Hub's maximum is 48 hours)`);
      }
      return now + ttlMs;
    }
    return now + this.options.defaultTtlMs;
  }

  private messageOf(request: CloudToDeviceRequest, expiresAt: number): Message {
    if (request.ack !== undefined && !ACKS.includes(request.ack)) throw new CloudToDeviceError('invalid-request', 400, `ack must be one of ${ACKS.join(', ')}`);
    const properties: Record<string, string> = {};
    for (const [key, value] of Object.entries(request.properties ?? {})) {
      if (key.length === 0) throw new CloudToDeviceError('invalid-request', 400, 'a property name must not be empty');
      if (typeof value !== 'string') throw new CloudToDeviceError('invalid-request', 400, `property ${JSON.stringify(key)} must be a string`);
      Object.defineProperty(properties, key, { value, enumerable: true, writable: true, configurable: true });
    }
    // IoT Hub sends the feedback request as the `iothub-ack` property on MQTT.
    if (request.ack !== undefined) properties['iothub-ack'] = request.ack;
    const messageId = request.messageId ?? this.random.uuid();
    if (messageId.length === 0 || messageId.length > 128) throw new CloudToDeviceError('invalid-request', 400, 'messageId must be 1-128 characters');
    const system: Record<string, string> = {
      messageId,
      to: `/devices/${request.deviceId}/messages/devicebound`,
      'absolute-expiry-time': new Date(expiresAt).toISOString(),
    };
    if (request.correlationId !== undefined) system['correlationId'] = request.correlationId;
    if (request.userId !== undefined) system['userId'] = request.userId;
    if (request.contentType !== undefined) system['contentType'] = request.contentType;
    if (request.contentEncoding !== undefined) system['contentEncoding'] = request.contentEncoding;
    return { body: request.body, properties, systemProperties: system };
  }

  private async append(deviceId: string, queue: DeviceQueue, message: Message, now: number, expiresAt: number): Promise<CloudToDeviceAccepted> {
    const stored = await this.read(deviceId);
    let live = 0;
    for (const s of stored) {
      if (s.expiresAt <= now) await this.remove(deviceId, s, 'expired');
      else live++;
    }
    if (live >= this.options.maxQueuedPerDevice) {
      throw new CloudToDeviceError(
        'queue-full',
        403,
        `device ${deviceId} already has ${live} cloud-to-device messages queued (IoT Hub's maximum is ${this.options.maxQueuedPerDevice}): connect the device to receive them, or wait for them to expire`,
      );
    }
    const last = stored.at(-1)?.sequence ?? 0;
    const sequence = Math.max(queue.next ?? 0, last + 1, 1);
    queue.next = sequence + 1;
    const document: { [key: string]: JsonValue } = {
      body: bytesToBase64(message.body),
      properties: message.properties as { [key: string]: string },
      systemProperties: message.systemProperties as { [key: string]: string },
      enqueuedAt: now,
      expiresAt,
    };
    await this.state.put(c2dNamespace(deviceId), sequenceKey(sequence), document);
    return { deviceId, messageId: message.systemProperties['messageId'] as string, expiresAt, queued: live + 1 };
  }

  private async read(deviceId: string): Promise<StoredC2d[]> {
    const out: StoredC2d[] = [];
    for (const { key, value } of await this.state.list(c2dNamespace(deviceId))) {
      const stored = fromDocument(key, value);
      if (stored === undefined) this.log.warn('unreadable cloud-to-device document ignored', { deviceId, key });
      else out.push(stored);
    }
    return out;
  }

  private async remove(deviceId: string, stored: StoredC2d, why: 'delivered' | 'expired' | 'rejected'): Promise<void> {
    await this.state.delete(c2dNamespace(deviceId), stored.key);
    const fields = { deviceId, messageId: stored.message.systemProperties['messageId'] ?? undefined, why };
    if (why === 'delivered') this.log.debug('cloud-to-device message delivered', fields);
    else this.log.warn(`cloud-to-device message dropped (${why})`, fields);
  }

  private queueOf(deviceId: string): DeviceQueue {
    let queue = this.queues.get(deviceId);
    if (queue === undefined) {
      queue = { next: undefined, sending: Promise.resolve(), running: null, again: false };
      this.queues.set(deviceId, queue);
    }
    return queue;
  }

  /** Starts delivering to `deviceId` if it listens (or marks the running delivery to look again). */
  private kick(deviceId: string): void {
    if (!this.running) return;
    const queue = this.queueOf(deviceId);
    if (queue.running !== null) {
      queue.again = true;
      return;
    }
    queue.running = this.deliver(deviceId, queue)
      .catch((error: unknown) => this.log.error('cloud-to-device delivery failed', { deviceId, error: errorText(error) }))
      .finally(() => {
        queue.running = null;
      });
  }

  private async deliver(deviceId: string, queue: DeviceQueue): Promise<void> {
    do {
      queue.again = false;
      if (!this.running) return;
      const channel = this.clients.get(deviceIdentity(deviceId));
      if (channel === undefined || !channel.has('c2d')) return;
      for (const stored of await this.read(deviceId)) {
        if (!this.running) return;
        if (stored.expiresAt <= this.clock.now()) {
          await this.remove(deviceId, stored, 'expired');
          continue;
        }
        try {
          await channel.sendC2d(stored.message);
        } catch (error) {
          if (error instanceof DeliveryError && !error.transient) {
            await this.remove(deviceId, stored, 'rejected');
            continue;
          }
          // Connection gone: the message stays queued for the next connection.
          this.log.debug('cloud-to-device delivery interrupted', { deviceId, error: errorText(error) });
          break;
        }
        await this.remove(deviceId, stored, 'delivered');
      }
    } while (queue.again);
  }
}
