import { connect, type ChannelModel, type ConfirmChannel, type Options, type RecoveringChannelModel } from 'amqplib';
import { DeliveryError, type DeliveryResult } from '../../application/ports/endpoint-delivery.js';
import type { IdentityRecord } from '../../application/ports/identity-store.js';
import type { Logger } from '../../application/ports/logger.js';
import { Upstream, UpstreamError, type ConnectionListener, type UpstreamCapabilities, type UpstreamFeature, type UpstreamHandlers } from '../../application/ports/upstream.js';
import { type Identity, formatIdentity } from '../../domain/identity/identity.js';
import { SystemProperty, type Message } from '../../domain/messages/message.js';
import type { JsonObject } from '../../domain/twins/json.js';
import type { TwinDocument } from '../../domain/twins/twin-document.js';

export interface Amqp091UpstreamOptions {
  /** `amqp://user:pass@host:5672/vhost` (or `amqps://`). Never logged. */
  url: string;
  /** Exchange the messages are published to; declared durable `topic` unless it is `""` (the default exchange). */
  exchange: string;
  /** First reconnect delay (ms, default 500), doubled up to `maxReconnectDelayMs` (default 30 000), with jitter. */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /** AMQP `connection_name` client property (visible in the broker's management tools). */
  connectionName?: string;
}

/** `amqp://user:secret@host` -> `amqp://host` for logs. */
export function redactAmqpUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** Header names of the system properties that have no AMQP 0-9-1 basic property. */
const HEADER_OF: Record<string, string> = {
  [SystemProperty.connectionDeviceId]: 'iothub-connection-device-id',
  [SystemProperty.connectionModuleId]: 'iothub-connection-module-id',
  [SystemProperty.connectionAuthMethod]: 'iothub-connection-auth-method',
  [SystemProperty.outputName]: 'iothub-outputname',
  [SystemProperty.enqueuedTime]: 'iothub-enqueuedtime',
  [SystemProperty.creationTimeUtc]: 'iothub-creation-time-utc',
  [SystemProperty.messageSchema]: 'iothub-message-schema',
  [SystemProperty.edgeMessageId]: 'edgeport-message-id',
};

/** Publish properties of a stored message (the mapping documented in docs/upstream.md). */
export function publishOptions(identity: Identity, message: Message): Options.Publish {
  const sys = message.systemProperties;
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(message.properties)) if (value !== null) headers[key] = value;
  for (const [name, header] of Object.entries(HEADER_OF)) {
    const value = sys[name];
    if (value !== undefined && value !== null) headers[header] = value;
  }
  headers['iothub-connection-device-id'] ??= identity.deviceId;
  if (identity.kind === 'module') headers['iothub-connection-module-id'] ??= identity.moduleId;
  const options: Options.Publish = { persistent: true, headers };
  if (sys[SystemProperty.messageId] != null) options.messageId = sys[SystemProperty.messageId]!;
  if (sys[SystemProperty.correlationId] != null) options.correlationId = sys[SystemProperty.correlationId]!;
  if (sys[SystemProperty.contentType] != null) options.contentType = sys[SystemProperty.contentType]!;
  if (sys[SystemProperty.contentEncoding] != null) options.contentEncoding = sys[SystemProperty.contentEncoding]!;
  return options;
}

const NO_TWINS = 'the amqp091 upstream carries telemetry only (no twins, methods, C2D or device registry)';

/**
 * `$upstream` to a generic AMQP 0-9-1 broker (RabbitMQ): every message is published persistent to
 * one exchange with the sender identity (`dev` or `dev/mod`) as routing key, on a confirm channel.
 * A message counts as delivered (and the pump checkpoints it) only once the broker confirmed it;
 * a nack or a lost connection leaves it stored to be sent again (at least once, in order).
 * amqplib's connection recovery reconnects with exponential back-off and jitter.
 */
export class Amqp091Upstream extends Upstream {
  readonly kind = 'amqp091';
  readonly capabilities: UpstreamCapabilities = { twins: false, methods: false, cloudToDevice: false, deviceScope: false };
  private model: RecoveringChannelModel | undefined;
  private channel: ConfirmChannel | undefined;
  private readonly listeners = new Set<ConnectionListener>();
  private stopping = false;
  private readonly log: Logger;

  constructor(private readonly options: Amqp091UpstreamOptions, logger: Logger) {
    super();
    this.log = logger.child({ component: 'upstream-amqp091' });
  }

  async start(_handlers: UpstreamHandlers): Promise<void> {
    this.stopping = false;
    const where = redactAmqpUrl(this.options.url);
    this.model = await connect(this.options.url, {
      clientProperties: { connection_name: this.options.connectionName ?? 'edgeport-upstream' },
      recovery: {
        waitForConnect: false,
        initialDelay: this.options.reconnectDelayMs ?? 500,
        maxDelay: this.options.maxReconnectDelayMs ?? 30_000,
        setup: (model: ChannelModel) => this.setUp(model),
      },
    });
    this.model.on('disconnect', (error: Error) => {
      if (this.stopping) return;
      this.log.warn(`upstream broker ${where} disconnected; reconnecting`, { error: error.message });
      this.setChannel(undefined);
    });
    this.model.on('reconnect-scheduled', (info: { attempt: number; delay: number; error: Error }) => {
      if (info.attempt === 1 || info.attempt % 10 === 0) this.log.info(`upstream broker ${where} not reachable; retrying`, { attempt: info.attempt, delayMs: Math.round(info.delay), error: info.error.message });
    });
    this.model.on('error', (error: Error) => this.log.warn('upstream broker connection error', { error: error.message }));
  }

  private async setUp(model: ChannelModel): Promise<void> {
    const channel = await model.createConfirmChannel();
    channel.on('error', (error: Error) => this.log.warn('upstream channel error', { error: error.message }));
    channel.on('close', () => {
      if (this.channel === channel) this.setChannel(undefined);
    });
    if (this.options.exchange !== '') await channel.assertExchange(this.options.exchange, 'topic', { durable: true });
    this.log.info(`upstream broker ${redactAmqpUrl(this.options.url)} connected`, { exchange: this.options.exchange });
    this.setChannel(channel);
  }

  private setChannel(channel: ConfirmChannel | undefined): void {
    const was = this.channel !== undefined;
    this.channel = channel;
    const is = channel !== undefined;
    if (was !== is) for (const listener of this.listeners) listener(is);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const model = this.model;
    this.model = undefined;
    this.setChannel(undefined);
    if (model !== undefined) await model.close().catch((error: unknown) => this.log.debug('upstream broker connection did not close cleanly', { error: error instanceof Error ? error.message : String(error) }));
  }

  isConnected(): boolean {
    return this.channel !== undefined;
  }

  onConnectionChange(listener: ConnectionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async sendEvents(identity: Identity, messages: readonly Message[]): Promise<DeliveryResult> {
    const channel = this.channel;
    if (channel === undefined) return { delivered: 0, error: new DeliveryError('upstream broker not connected', true) };
    const routingKey = formatIdentity(identity);
    const confirms: Array<Promise<void>> = [];
    for (const message of messages) {
      confirms.push(
        new Promise<void>((resolve, reject) => {
          try {
            const ok = channel.publish(this.options.exchange, routingKey, Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength), publishOptions(identity, message), (error: unknown) => {
              if (error === null || error === undefined) resolve();
              else reject(error instanceof Error ? error : new Error('the broker did not confirm the message (nack)'));
            });
            void ok; // Back-pressure is bounded by the pump's batch size.
          } catch (error) {
            reject(error);
          }
        }),
      );
    }
    const results = await Promise.allSettled(confirms);
    for (let i = 0; i < results.length; i++) {
      const r = results[i]!;
      if (r.status === 'rejected') {
        const reason = r.reason instanceof Error ? r.reason.message : String(r.reason);
        // A RangeError (headers over 64 KiB) can never succeed: drop that message.
        return { delivered: i, error: new DeliveryError(`broker did not confirm: ${reason}`, !(r.reason instanceof RangeError), { cause: r.reason }) };
      }
    }
    return { delivered: messages.length };
  }

  async getTwin(_identity: Identity): Promise<TwinDocument> {
    throw new UpstreamError(NO_TWINS, false);
  }

  async updateReported(_identity: Identity, _patch: JsonObject): Promise<void> {
    throw new UpstreamError(NO_TWINS, false);
  }

  async setFeatures(_identity: Identity, features: ReadonlySet<UpstreamFeature>): Promise<void> {
    if (features.size > 0) throw new UpstreamError(NO_TWINS, false);
  }

  async deviceScope(): Promise<IdentityRecord[]> {
    throw new UpstreamError(NO_TWINS, false);
  }

  async createModuleIdentity(_moduleId: string): Promise<void> {
    throw new UpstreamError(NO_TWINS, false);
  }
}
