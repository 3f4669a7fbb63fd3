import { request as httpsRequest } from 'node:https';
import rhea, { type Connection, type Container, type Delivery, type EventContext, type Message as AmqpMessage, type Receiver, type Sender } from 'rhea';
import type { Clock, TimerHandle } from '../../application/ports/clock.js';
import type { SasSigner } from '../../application/ports/crypto.js';
import { DeliveryError, type DeliveryResult } from '../../application/ports/endpoint-delivery.js';
import type { IdentityRecord, IdentityStore } from '../../application/ports/identity-store.js';
import type { Logger } from '../../application/ports/logger.js';
import { Upstream, UpstreamError, type ConnectionListener, type UpstreamCapabilities, type UpstreamFeature, type UpstreamHandlers } from '../../application/ports/upstream.js';
import { type Identity, deviceIdentity, formatIdentity, moduleIdentity } from '../../domain/identity/identity.js';
import { encodeUriComponentStrict, formatSasToken, sasResourceFor, stringToSignFor } from '../../domain/identity/sas-token.js';
import type { Message } from '../../domain/messages/message.js';
import { retryDelayMs } from '../../domain/messages/store-and-forward.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../../domain/twins/json.js';
import { twinFromResponseBody, type TwinDocument } from '../../domain/twins/twin-document.js';
import { BATCH_SECTION_OVERHEAD, BATCHED_MESSAGE_FORMAT, MAX_BATCH_BYTES, bodyBytes, encodeBatch, encodeEvent, fromAmqpC2d, idText } from './amqp-mapping.js';
import type { DeviceConnectionString } from './connection-string.js';

export interface IotHubUpstreamOptions {
  readonly connection: DeviceConnectionString;
  /** Where to connect (default: `GatewayHostName`, else `HostName`); tests point it at the emulator. */
  readonly host?: string;
  readonly amqpPort?: number;
  readonly httpsPort?: number;
  /** Extra trusted CA (PEM) for the hub's TLS certificate. */
  readonly ca?: string;
  /** SAS token lifetime (default 3600 s); renewed at 75 % of it. */
  readonly tokenTtlSeconds?: number;
  /** Twin, CBS and scope request timeout (edgeHub `CloudOperationTimeoutSecs` 20). */
  readonly operationTimeoutMs?: number;
  /** AMQP idle time-out advertised (heartbeats at half): how fast a dead connection is noticed (default 60 000). */
  readonly idleTimeoutMs?: number;
  /** Reconnect back-off cap (default 60 000). */
  readonly maxReconnectDelayMs?: number;
}

export interface IotHubUpstreamDeps {
  readonly identities: IdentityStore;
  readonly signer: SasSigner;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random: () => number;
}

const API_VERSION = '2021-04-12';
const SCOPE_API_VERSION = '2018-08-30-preview';
const decoder = new TextDecoder();

interface Settlement {
  resolve: () => void;
  reject: (error: DeliveryError) => void;
}

interface Pending<T> {
  resolve: (value: T) => void;
  reject: (error: Error) => void;
  timer: TimerHandle;
}

/** One identity behind the edge on the shared connection: its token and links. */
interface IdentityLinks {
  readonly identity: Identity;
  readonly key: string;
  readonly prefix: string;
  /** The cloud refused the identity's own key: tokens are signed with the edge device's key. */
  onBehalf?: boolean;
  authenticated?: Promise<void>;
  renewTimer?: TimerHandle;
  events?: Sender;
  eventsOpen?: Promise<void>;
  twinSender?: Sender;
  twinReceiver?: Receiver;
  twinReady?: Promise<void>;
  methodsSender?: Sender;
  methodsReceiver?: Receiver;
  c2dReceiver?: Receiver;
  /** The identity's send in progress: resolves with whether it delivered everything. */
  sending?: Promise<boolean>;
  features: Set<UpstreamFeature>;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Links open when the peer attached back (`*_open`), rejected when it refuses or the connection drops. */
function whenOpen(link: Sender | Receiver): Promise<void> {
  if (link.is_open()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const opened = link.is_receiver() ? 'receiver_open' : 'sender_open';
    const failed = link.is_receiver() ? 'receiver_error' : 'sender_error';
    const closed = link.is_receiver() ? 'receiver_close' : 'sender_close';
    const done = (): void => {
      link.removeListener(opened, onOpen);
      link.removeListener(failed, onFail);
      link.removeListener(closed, onFail);
      link.connection.removeListener('disconnected', onFail);
    };
    const onOpen = (): void => {
      done();
      resolve();
    };
    const onFail = (context: EventContext): void => {
      done();
      const condition = (context.receiver ?? context.sender)?.error;
      reject(new UpstreamError(`link ${link.name} refused: ${condition === undefined ? 'link closed' : String((condition as { description?: string }).description ?? (condition as { condition?: string }).condition ?? condition)}`, !/unauthorized|not-found|not-allowed/.test(JSON.stringify(condition ?? ''))));
    };
    link.once(opened, onOpen);
    link.once(failed, onFail);
    link.once(closed, onFail);
    link.connection.once('disconnected', onFail);
  });
}

/**
 * IoT Hub over ONE AMQP 1.0 connection (rhea) for every identity of the device: the edge device,
 * `$edgeAgent`, `$edgeHub`, modules and leaf devices. Each identity authenticates with its own
 * CBS put-token (signed with its key from the identity store, else with the edge device's key,
 * as edgeHub connects on behalf of its clients) and gets its own links, attached on first use:
 * telemetry sender, twin sender/receiver pair, methods pair, C2D receiver. Tokens are renewed on
 * the same CBS link before they expire. Connectivity: AMQP heartbeats (idle time-out) and
 * operation time-outs detect a dead connection; reconnect with exponential back-off and jitter,
 * then every identity re-authenticates lazily and the application resyncs on the connect event.
 */
export class IotHubUpstream extends Upstream {
  readonly kind = 'iothub';
  readonly capabilities: UpstreamCapabilities = { twins: true, methods: true, cloudToDevice: true, deviceScope: true };
  private readonly container: Container;
  private connection: Connection | undefined;
  private connected = false;
  private running = false;
  private attempt = 0;
  private reconnectTimer: TimerHandle | undefined;
  private handlers: UpstreamHandlers | undefined;
  private readonly listeners = new Set<ConnectionListener>();
  private readonly links = new Map<string, IdentityLinks>();
  private cbsSender: Sender | undefined;
  private cbsReceiver: Receiver | undefined;
  private cbsReady: Promise<void> | undefined;
  private readonly cbsPending = new Map<string, Pending<void>>();
  private readonly twinPending = new Map<string, Pending<AmqpMessage>>();
  private readonly settlements = new WeakMap<Delivery, Settlement>();
  /** Unsettled sends per telemetry sender, failed together when the link or connection goes. */
  private readonly unsettled = new WeakMap<Sender, Set<Settlement>>();
  private readonly creditWaits = new WeakMap<Sender, Promise<void>>();
  private readonly log: Logger;
  /** Connection attempts so far, and how many of them were set up (tests and logs). */
  connectAttempts = 0;
  connectionsEstablished = 0;

  constructor(
    private readonly options: IotHubUpstreamOptions,
    private readonly deps: IotHubUpstreamDeps,
  ) {
    super();
    this.container = rhea.create_container({ id: `edgeport-${options.connection.deviceId}` });
    this.log = deps.logger.child({ component: 'upstream-iothub' });
  }

  private get hubHost(): string {
    return this.options.connection.hostName;
  }

  private get connectHost(): string {
    return this.options.host ?? this.options.connection.gatewayHostName ?? this.options.connection.hostName;
  }

  // ---- connection ---------------------------------------------------------------------------

  async start(handlers: UpstreamHandlers): Promise<void> {
    this.handlers = handlers;
    this.running = true;
    this.connect();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.reconnectTimer?.cancel();
    const connection = this.connection;
    this.lost('stopped');
    if (connection !== undefined) {
      await new Promise<void>((resolve) => {
        if (!connection.is_open()) {
          connection.socket?.destroy?.();
          resolve();
          return;
        }
        const timer = setTimeout(() => {
          connection.socket?.destroy?.();
          resolve();
        }, 2000);
        connection.once('connection_close', () => {
          clearTimeout(timer);
          resolve();
        });
        connection.once('disconnected', () => {
          clearTimeout(timer);
          resolve();
        });
        connection.close();
      });
    }
  }

  isConnected(): boolean {
    return this.connected;
  }

  onConnectionChange(listener: ConnectionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private connect(): void {
    if (!this.running) return;
    this.reconnectTimer = undefined;
    const connection = this.container.connect({
      host: this.connectHost,
      hostname: this.hubHost,
      port: this.options.amqpPort ?? 5671,
      transport: 'tls',
      servername: this.connectHost,
      ...(this.options.ca === undefined ? {} : { ca: this.options.ca }),
      reconnect: false,
      idle_time_out: this.options.idleTimeoutMs ?? 60_000,
    } as Parameters<Container['connect']>[0]);
    this.connection = connection;
    // Every identity's pending link attach and credit wait listens for the disconnect.
    connection.setMaxListeners(0);
    this.connectAttempts++;
    connection.on('connection_open', () => {
      if (this.connection !== connection) return;
      void this.onOpen(connection);
    });
    connection.on('connection_error', (context: EventContext) => {
      this.log.warn('IoT Hub closed the connection with an error', { error: String((context.connection.error as { description?: string } | undefined)?.description ?? context.connection.error ?? '') });
    });
    connection.on('disconnected', (context: EventContext) => {
      if (this.connection !== connection) return;
      this.connection = undefined;
      const reason = (context as { error?: unknown }).error;
      this.lost(reason === undefined ? 'connection closed' : errorText(reason));
      this.scheduleReconnect();
    });
    connection.on('error', (error: unknown) => this.log.debug('connection error event', { error: errorText(error) }));
    // rhea emits per-link errors on the connection when no link listener handles them.
    for (const event of ['sender_error', 'receiver_error', 'session_error'] as const) connection.on(event, () => undefined);
  }

  private async onOpen(connection: Connection): Promise<void> {
    try {
      await this.openCbs(connection);
      // The edge device proves the connection works before it counts as connected.
      await this.authenticate(this.linksOf(deviceIdentity(this.options.connection.deviceId)));
      this.attempt = 0;
      this.connectionsEstablished++;
      this.setConnected(true);
      this.log.info(`connected to IoT Hub ${this.hubHost}`, { host: this.connectHost, connections: this.connectionsEstablished });
    } catch (error) {
      this.log.warn('IoT Hub connection could not be set up; reconnecting', { error: errorText(error) });
      connection.close();
      connection.socket?.destroy?.();
    }
  }

  private scheduleReconnect(): void {
    if (!this.running || this.reconnectTimer !== undefined) return;
    const delay = Math.min(retryDelayMs(this.attempt, this.deps.random()), this.options.maxReconnectDelayMs ?? 60_000);
    this.attempt++;
    if (this.attempt === 1 || this.attempt % 10 === 0) this.log.info('IoT Hub not reachable; reconnecting', { attempt: this.attempt, delayMs: Math.round(delay) });
    this.reconnectTimer = this.deps.clock.schedule(delay, () => this.connect());
  }

  /** Forgets everything bound to the lost connection; pending work fails transiently. */
  private lost(reason: string): void {
    const failure = new UpstreamError(`IoT Hub connection lost: ${reason}`, true);
    for (const pending of [...this.cbsPending.values(), ...this.twinPending.values()]) {
      pending.timer.cancel();
      pending.reject(failure);
    }
    this.cbsPending.clear();
    this.twinPending.clear();
    for (const links of this.links.values()) {
      links.renewTimer?.cancel();
      for (const link of [links.events, links.twinSender, links.twinReceiver, links.methodsSender, links.methodsReceiver, links.c2dReceiver]) {
        if (link !== undefined) this.failUnsettled(link);
      }
      delete links.authenticated;
      delete links.renewTimer;
      delete links.events;
      delete links.eventsOpen;
      delete links.twinSender;
      delete links.twinReceiver;
      delete links.twinReady;
      delete links.methodsSender;
      delete links.methodsReceiver;
      delete links.c2dReceiver;
    }
    this.cbsSender = undefined;
    this.cbsReceiver = undefined;
    this.cbsReady = undefined;
    this.setConnected(false);
  }

  /** Fails the sends still waiting for a disposition on `link` (transient: they go again after the reconnect). */
  private failUnsettled(link: Sender | Receiver, reason = 'IoT Hub connection lost before the message was settled'): void {
    if (!link.is_sender()) return;
    const sender = link as Sender;
    const pending = this.unsettled.get(sender);
    if (pending === undefined) return;
    this.unsettled.delete(sender);
    for (const settlement of pending) settlement.reject(new DeliveryError(reason, true));
  }

  private setConnected(connected: boolean): void {
    if (this.connected === connected) return;
    this.connected = connected;
    for (const listener of this.listeners) listener(connected);
  }

  private requireConnection(): Connection {
    const connection = this.connection;
    if (connection === undefined || !connection.is_open()) throw new UpstreamError('not connected to IoT Hub', true);
    return connection;
  }

  // ---- CBS ----------------------------------------------------------------------------------

  private openCbs(connection: Connection): Promise<void> {
    this.cbsReady ??= (async () => {
      const sender = connection.open_sender({ target: { address: '$cbs' }, name: `cbs-sender-${rhea.generate_uuid()}` });
      const receiver = connection.open_receiver({ source: { address: '$cbs' }, name: `cbs-receiver-${rhea.generate_uuid()}`, autoaccept: true });
      receiver.on('message', (context: EventContext) => {
        const message = context.message!;
        const id = idText(message.correlation_id);
        const pending = id === undefined ? undefined : this.cbsPending.get(id);
        if (pending === undefined) return;
        this.cbsPending.delete(id!);
        pending.timer.cancel();
        const status = Number(message.application_properties?.['status-code']);
        if (status === 200) pending.resolve();
        else pending.reject(new UpstreamError(`IoT Hub refused the token (${status}): ${String(message.application_properties?.['status-description'] ?? '')}`, status >= 500, status));
      });
      this.cbsSender = sender;
      this.cbsReceiver = receiver;
      await Promise.all([whenOpen(sender), whenOpen(receiver)]);
    })();
    return this.cbsReady;
  }

  /**
   * The key that signs `identity`'s token: the edge device's own; for a leaf device its key from
   * the identity store (the cached device scope) when it has one and the cloud took it before;
   * otherwise (modules of this device, whose local keys the cloud may not know, and leaf devices
   * without a key the cloud accepts) the edge device's key, on the identity's behalf as edgeHub does.
   */
  private async keyFor(links: IdentityLinks): Promise<string> {
    const identity = links.identity;
    const edgeKey = this.options.connection.sharedAccessKey;
    if (identity.kind === 'module' || identity.deviceId === this.options.connection.deviceId || links.onBehalf === true) return edgeKey;
    return (await this.deps.identities.get(identity))?.primaryKey ?? edgeKey;
  }

  private async token(links: IdentityLinks): Promise<{ token: string; audience: string; expiresAt: number; onBehalf: boolean }> {
    const identity = links.identity;
    const ttl = this.options.tokenTtlSeconds ?? 3600;
    const expiry = Math.floor(this.deps.clock.now() / 1000) + ttl;
    const key = await this.keyFor(links);
    const signature = this.deps.signer.hmacSha256Base64(key, stringToSignFor(this.hubHost, identity, expiry));
    return {
      token: formatSasToken({ hubHostName: this.hubHost, identity, signatureBase64: signature, expirySeconds: expiry }),
      audience: encodeUriComponentStrict(sasResourceFor(this.hubHost, identity)),
      expiresAt: expiry * 1000,
      onBehalf: key === this.options.connection.sharedAccessKey,
    };
  }

  private async putToken(links: IdentityLinks): Promise<void> {
    const connection = this.requireConnection();
    await this.openCbs(connection);
    const { token, audience, expiresAt, onBehalf } = await this.token(links);
    const id = rhea.generate_uuid();
    const answered = new Promise<void>((resolve, reject) => {
      const timer = this.deps.clock.schedule(this.options.operationTimeoutMs ?? 20_000, () => {
        if (this.cbsPending.delete(id)) {
          reject(new UpstreamError('IoT Hub did not answer the CBS put-token in time', true));
          // An unanswered CBS request means the connection hangs: drop it and reconnect.
          this.connection?.socket?.destroy?.();
        }
      });
      this.cbsPending.set(id, { resolve, reject, timer });
    });
    this.cbsSender!.send({
      message_id: id,
      to: '$cbs',
      reply_to: 'cbs',
      application_properties: { operation: 'put-token', type: 'servicebus.windows.net:sastoken', name: audience },
      body: token,
    });
    try {
      await answered;
    } catch (error) {
      if (error instanceof UpstreamError && error.status === 401 && !onBehalf) {
        // The cloud does not know the locally kept key: sign on the identity's behalf from now on.
        links.onBehalf = true;
        return await this.putToken(links);
      }
      throw error;
    }
    const ttlMs = expiresAt - this.deps.clock.now();
    links.renewTimer?.cancel();
    links.renewTimer = this.deps.clock.schedule(Math.max(1000, ttlMs * 0.75), () => {
      void this.putToken(links).then(
        () => this.log.debug('token renewed', { identity: links.key }),
        (error: unknown) => this.log.warn('token renewal failed', { identity: links.key, error: errorText(error) }),
      );
    });
  }

  private authenticate(links: IdentityLinks): Promise<void> {
    if (links.authenticated === undefined) {
      const attempt = this.putToken(links);
      links.authenticated = attempt;
      attempt.catch(() => {
        if (links.authenticated === attempt) delete links.authenticated;
      });
    }
    return links.authenticated;
  }

  private linksOf(identity: Identity): IdentityLinks {
    const key = formatIdentity(identity);
    let links = this.links.get(key);
    if (links === undefined) {
      const prefix = identity.kind === 'device' ? `/devices/${identity.deviceId}` : `/devices/${identity.deviceId}/modules/${identity.moduleId}`;
      links = { identity, key, prefix, features: new Set() };
      this.links.set(key, links);
    }
    return links;
  }

  // ---- telemetry ----------------------------------------------------------------------------

  private async eventsSender(links: IdentityLinks): Promise<Sender> {
    await this.authenticate(links);
    if (links.events === undefined) {
      const connection = this.requireConnection();
      const sender = connection.open_sender({ target: { address: `${links.prefix}/messages/events` }, name: `events-${links.key}-${rhea.generate_uuid()}`, autosettle: true });
      sender.on('accepted', (context: EventContext) => this.settle(context, undefined));
      sender.on('rejected', (context: EventContext) => this.settle(context, new DeliveryError(`IoT Hub rejected the message: ${JSON.stringify((context.delivery?.remote_state as { error?: unknown } | undefined)?.error ?? '')}`, false)));
      sender.on('released', (context: EventContext) => this.settle(context, new DeliveryError('IoT Hub released the message', true)));
      sender.on('modified', (context: EventContext) => this.settle(context, new DeliveryError('IoT Hub did not take the message (modified)', true)));
      sender.on('sender_close', (context: EventContext) => {
        if (links.events === sender) {
          delete links.events;
          delete links.eventsOpen;
        }
        // Detached for an expired or refused token: put a token again before the next link.
        if (/unauthorized/.test(JSON.stringify(context.sender?.error ?? ''))) delete links.authenticated;
        this.failUnsettled(sender, 'IoT Hub closed the telemetry link before the message was settled');
      });
      links.events = sender;
      links.eventsOpen = whenOpen(sender);
      links.eventsOpen.catch(() => undefined);
    }
    const sender = links.events;
    await links.eventsOpen;
    return sender;
  }

  /** Resolves when `sender` has credit again, or is closed, or the connection drops (one waiter per sender). */
  private creditFor(sender: Sender): Promise<void> {
    let waiting = this.creditWaits.get(sender);
    if (waiting === undefined) {
      waiting = new Promise<void>((resolve) => {
        const done = (): void => {
          sender.removeListener('sendable', done);
          sender.removeListener('sender_close', done);
          sender.connection.removeListener('disconnected', done);
          this.creditWaits.delete(sender);
          resolve();
        };
        sender.once('sendable', done);
        sender.once('sender_close', done);
        sender.connection.once('disconnected', done);
      });
      this.creditWaits.set(sender, waiting);
    }
    return waiting;
  }

  private settle(context: EventContext, error: DeliveryError | undefined): void {
    const delivery = context.delivery;
    if (delivery === undefined) return;
    const callbacks = this.settlements.get(delivery);
    if (callbacks === undefined) return;
    this.settlements.delete(delivery);
    this.unsettled.get(delivery.link as Sender)?.delete(callbacks);
    if (error === undefined) callbacks.resolve();
    else callbacks.reject(error);
  }

  /**
   * Sends `messages` as `identity`, in order, and resolves with how many the cloud accepted.
   *
   * One send per identity at a time, in call order (the pump keeps two batches in flight, each
   * with a run of this sender): a send waits for the previous one of its identity, and fails
   * without sending when that one did not deliver everything, so messages the cloud refused are
   * never overtaken by later messages of the same sender.
   *
   * The messages go in IoT Hub's batched format (`BATCHED_MESSAGE_FORMAT`, as edgeHub sends its
   * upstream batches): as many as fit in `MAX_BATCH_BYTES` per transfer, one transfer at a time;
   * a lone message goes as a plain transfer. A batch the cloud rejects is sent again one message
   * per transfer, so only a message the cloud rejects on its own is reported as rejected.
   */
  async sendEvents(identity: Identity, messages: readonly Message[]): Promise<DeliveryResult> {
    if (!this.connected) return { delivered: 0, error: new DeliveryError('not connected to IoT Hub', true) };
    const links = this.linksOf(identity);
    const previous = links.sending;
    let finished!: (complete: boolean) => void;
    const mine = new Promise<boolean>((resolve) => (finished = resolve));
    links.sending = mine;
    let complete = false;
    try {
      if (previous !== undefined && !(await previous)) return { delivered: 0, error: new DeliveryError(`not sent: an earlier send of ${links.key} was not accepted`, true) };
      const result = await this.sendInOrder(links, messages);
      complete = result.delivered >= messages.length;
      return result;
    } finally {
      finished(complete);
      if (links.sending === mine) delete links.sending;
    }
  }

  private async sendInOrder(links: IdentityLinks, messages: readonly Message[]): Promise<DeliveryResult> {
    let sender: Sender;
    try {
      sender = await this.eventsSender(links);
    } catch (error) {
      // Authentication or link refusals are retried (the token is put again): messages wait in the
      // store until their TTL rather than being dropped for what may be a passing registry state.
      delete links.authenticated;
      return { delivered: 0, error: new DeliveryError(`IoT Hub telemetry link for ${links.key} not available: ${errorText(error)}`, true, { cause: error }) };
    }
    const to = `${links.prefix}/messages/events`;
    const encoded = messages.map((message) => encodeEvent(message, to));
    let start = 0;
    while (start < encoded.length) {
      // The next batch: at least one message, then as many as fit.
      let end = start + 1;
      let bytes = encoded[start]!.length + BATCH_SECTION_OVERHEAD;
      while (end < encoded.length && bytes + encoded[end]!.length + BATCH_SECTION_OVERHEAD <= MAX_BATCH_BYTES) bytes += encoded[end++]!.length + BATCH_SECTION_OVERHEAD;
      const error = end - start === 1 ? await this.transfer(sender, encoded[start]!, 0) : await this.transfer(sender, encodeBatch(encoded.slice(start, end)), BATCHED_MESSAGE_FORMAT);
      if (error !== undefined && end - start > 1 && !error.transient) {
        // Which message the cloud refuses is unknown: each on its own transfer, in order.
        const each = await this.sendEach(sender, encoded.slice(start, end));
        if (each.delivered < end - start) return { delivered: start + each.delivered, error: each.error };
      } else if (error !== undefined) return { delivered: start, error };
      start = end;
    }
    return { delivered: encoded.length };
  }

  /** Sends `payload` once `sender` has credit; resolves with the cloud's refusal, or undefined when accepted. */
  private async transfer(sender: Sender, payload: Buffer, format: number): Promise<DeliveryError | undefined> {
    while (!sender.sendable() && sender.is_open()) await this.creditFor(sender);
    const settled = this.dispatch(sender, payload, format);
    if (settled === undefined) return new DeliveryError('IoT Hub telemetry link closed', true);
    try {
      await settled;
      return undefined;
    } catch (error) {
      return error instanceof DeliveryError ? error : new DeliveryError(errorText(error), true);
    }
  }

  /** Encoded messages one per transfer, pipelined; delivered = the prefix the cloud accepted. */
  private async sendEach(sender: Sender, encoded: readonly Buffer[]): Promise<DeliveryResult> {
    const results: Array<Promise<void>> = [];
    for (const payload of encoded) {
      while (!sender.sendable() && sender.is_open()) await this.creditFor(sender);
      const settled = this.dispatch(sender, payload, 0);
      if (settled === undefined) break;
      results.push(settled);
    }
    const settled = await Promise.allSettled(results);
    for (let i = 0; i < settled.length; i++) {
      const r = settled[i]!;
      if (r.status === 'rejected') return { delivered: i, error: r.reason instanceof DeliveryError ? r.reason : new DeliveryError(errorText(r.reason), true) };
    }
    if (settled.length < encoded.length) return { delivered: settled.length, error: new DeliveryError('IoT Hub telemetry link closed', true) };
    return { delivered: encoded.length };
  }

  /**
   * Sends `payload` now when `sender` has credit (undefined when it is closed or has none); the
   * promise settles with the cloud's disposition, or fails when the link or connection goes.
   */
  private dispatch(sender: Sender, payload: Buffer, format: number): Promise<void> | undefined {
    if (!sender.is_open() || !sender.sendable()) return undefined;
    const delivery = sender.send(payload, undefined, format);
    return new Promise<void>((resolve, reject) => {
      const settlement: Settlement = { resolve, reject };
      this.settlements.set(delivery, settlement);
      let pending = this.unsettled.get(sender);
      if (pending === undefined) this.unsettled.set(sender, (pending = new Set()));
      pending.add(settlement);
    });
  }

  // ---- twins --------------------------------------------------------------------------------

  private twinLinks(links: IdentityLinks): Promise<void> {
    links.twinReady ??= (async () => {
      await this.authenticate(links);
      const connection = this.requireConnection();
      const address = `${links.prefix}/twin`;
      const properties = { 'com.microsoft:channel-correlation-id': `twin:${rhea.generate_uuid()}`, 'com.microsoft:api-version': API_VERSION };
      const sender = connection.open_sender({ target: { address }, name: `twin-s-${links.key}-${rhea.generate_uuid()}`, properties, snd_settle_mode: 1, rcv_settle_mode: 0 });
      const receiver = connection.open_receiver({ source: { address }, name: `twin-r-${links.key}-${rhea.generate_uuid()}`, properties, autoaccept: true, rcv_settle_mode: 0 });
      receiver.on('message', (context: EventContext) => this.onTwinMessage(links, context.message!));
      const forget = (): void => {
        if (links.twinSender === sender) {
          delete links.twinSender;
          delete links.twinReceiver;
          delete links.twinReady;
        }
      };
      sender.on('sender_close', forget);
      receiver.on('receiver_close', forget);
      links.twinSender = sender;
      links.twinReceiver = receiver;
      await Promise.all([whenOpen(sender), whenOpen(receiver)]);
    })();
    const ready = links.twinReady;
    ready.catch(() => {
      if (links.twinReady === ready) delete links.twinReady;
    });
    return ready;
  }

  private onTwinMessage(links: IdentityLinks, message: AmqpMessage): void {
    const id = idText(message.correlation_id);
    if (id !== undefined) {
      const pending = this.twinPending.get(id);
      if (pending === undefined) return;
      this.twinPending.delete(id);
      pending.timer.cancel();
      pending.resolve(message);
      return;
    }
    // No correlation id: a desired-properties patch.
    const text = decoder.decode(bodyBytes(message));
    let patch: unknown;
    try {
      patch = JSON.parse(text);
    } catch {
      this.log.warn('desired patch from IoT Hub is not JSON; ignored', { identity: links.key });
      return;
    }
    if (!isJsonObject(patch)) return;
    const version = (message.message_annotations as Record<string, unknown> | undefined)?.['version'];
    if (patch['$version'] === undefined && typeof version === 'number') patch['$version'] = version;
    void this.handlers?.desiredPatch(links.identity, patch).catch((error: unknown) => this.log.warn('desired patch not applied', { identity: links.key, error: errorText(error) }));
  }

  private async twinRequest(identity: Identity, operation: string, resource: string | undefined, body: JsonValue | undefined): Promise<{ status: number; body: unknown }> {
    if (!this.connected) throw new UpstreamError('not connected to IoT Hub', true);
    const links = this.linksOf(identity);
    await this.twinLinks(links);
    const id = rhea.generate_uuid();
    const answer = new Promise<AmqpMessage>((resolve, reject) => {
      const timer = this.deps.clock.schedule(this.options.operationTimeoutMs ?? 20_000, () => {
        if (this.twinPending.delete(id)) reject(new UpstreamError(`IoT Hub did not answer the twin ${operation} in time`, true));
      });
      this.twinPending.set(id, { resolve, reject, timer });
    });
    const annotations: Record<string, string> = { operation };
    if (resource !== undefined) annotations['resource'] = resource;
    links.twinSender!.send({ correlation_id: id, message_annotations: annotations, body: rhea.message.data_section(Buffer.from(body === undefined ? ' ' : JSON.stringify(body))) });
    const reply = await answer;
    const status = Number((reply.message_annotations as Record<string, unknown> | undefined)?.['status'] ?? 200);
    const text = decoder.decode(bodyBytes(reply)).trim();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = text;
    }
    if (status < 200 || status >= 300) throw new UpstreamError(`IoT Hub answered the twin ${operation} with ${status}: ${text}`, status === 429 || status >= 500, status);
    return { status, body: parsed };
  }

  async getTwin(identity: Identity): Promise<TwinDocument> {
    const reply = await this.twinRequest(identity, 'GET', undefined, undefined);
    try {
      return twinFromResponseBody(reply.body);
    } catch (error) {
      throw new UpstreamError(`IoT Hub sent an unreadable twin: ${errorText(error)}`, false);
    }
  }

  async updateReported(identity: Identity, patch: JsonObject): Promise<void> {
    await this.twinRequest(identity, 'PATCH', '/properties/reported', patch);
  }

  // ---- features: desired notifications, methods, C2D ---------------------------------------

  async setFeatures(identity: Identity, features: ReadonlySet<UpstreamFeature>): Promise<void> {
    const links = this.linksOf(identity);
    const previous = links.features;
    links.features = new Set(features);
    if (!this.connected) return;
    if (features.has('desired')) {
      await this.twinRequest(identity, 'PUT', '/notifications/twin/properties/desired', undefined);
    } else if (previous.has('desired') && links.twinSender !== undefined) {
      await this.twinRequest(identity, 'DELETE', '/notifications/twin/properties/desired', undefined).catch(() => undefined);
    }
    if (features.has('methods')) await this.openMethods(links);
    else this.closeLink(links, 'methodsReceiver', 'methodsSender');
    if (features.has('c2d') && identity.kind === 'device') await this.openC2d(links);
    else this.closeLink(links, 'c2dReceiver');
    if (features.size === 0) {
      this.closeLink(links, 'twinReceiver', 'twinSender', 'events');
      delete links.twinReady;
    }
  }

  private closeLink(links: IdentityLinks, ...names: Array<'methodsReceiver' | 'methodsSender' | 'c2dReceiver' | 'twinReceiver' | 'twinSender' | 'events'>): void {
    for (const name of names) {
      const link = links[name];
      if (link === undefined) continue;
      delete links[name];
      link.close();
    }
  }

  private async openMethods(links: IdentityLinks): Promise<void> {
    if (links.methodsReceiver !== undefined) return;
    await this.authenticate(links);
    const connection = this.requireConnection();
    const address = `${links.prefix}/methods/devicebound`;
    const properties = { 'com.microsoft:channel-correlation-id': `methods:${rhea.generate_uuid()}`, 'com.microsoft:api-version': API_VERSION };
    const sender = connection.open_sender({ target: { address }, name: `methods-s-${links.key}-${rhea.generate_uuid()}`, properties, rcv_settle_mode: 0 });
    const receiver = connection.open_receiver({ source: { address }, name: `methods-r-${links.key}-${rhea.generate_uuid()}`, properties, autoaccept: true, rcv_settle_mode: 0 });
    links.methodsSender = sender;
    links.methodsReceiver = receiver;
    receiver.on('message', (context: EventContext) => void this.onMethod(links, sender, context.message!));
    await Promise.all([whenOpen(sender), whenOpen(receiver)]);
  }

  private async onMethod(links: IdentityLinks, sender: Sender, message: AmqpMessage): Promise<void> {
    const name = String(message.application_properties?.['IoThub-methodname'] ?? '');
    const text = decoder.decode(bodyBytes(message));
    let payload: JsonValue | undefined;
    try {
      payload = text.trim() === '' ? undefined : (JSON.parse(text) as JsonValue);
    } catch {
      payload = text;
    }
    const timeoutSeconds = Number(message.application_properties?.['IoThub-methodtimeout'] ?? NaN);
    const request = Number.isFinite(timeoutSeconds) ? { name, payload, timeoutMs: timeoutSeconds * 1000 } : { name, payload };
    const response = this.handlers === undefined ? { status: 503, payload: null } : await this.handlers.method(links.identity, request);
    if (!sender.is_open()) {
      this.log.warn('method response not sent: the methods link is closed', { identity: links.key, method: name });
      return;
    }
    sender.send({ correlation_id: message.correlation_id, application_properties: { 'IoThub-status': response.status }, body: rhea.message.data_section(Buffer.from(JSON.stringify(response.payload ?? null))) });
  }

  private async openC2d(links: IdentityLinks): Promise<void> {
    if (links.c2dReceiver !== undefined) return;
    await this.authenticate(links);
    const connection = this.requireConnection();
    const receiver = connection.open_receiver({ source: { address: `${links.prefix}/messages/devicebound` }, name: `c2d-${links.key}-${rhea.generate_uuid()}`, autoaccept: false, credit_window: 10 });
    links.c2dReceiver = receiver;
    receiver.on('message', (context: EventContext) => {
      const delivery = context.delivery!;
      const message = fromAmqpC2d(context.message!);
      if (this.handlers === undefined) {
        delivery.release();
        return;
      }
      this.handlers.cloudToDevice(links.identity, message).then(
        () => delivery.accept(),
        (error: unknown) => {
          const permanent = error instanceof UpstreamError && !error.transient;
          this.log.warn('cloud-to-device message not taken', { identity: links.key, error: errorText(error) });
          if (permanent) delivery.reject({ condition: 'amqp:not-allowed', description: errorText(error) });
          else delivery.release();
        },
      );
    });
    await whenOpen(receiver);
  }

  // ---- device scope (HTTPS) -----------------------------------------------------------------

  async deviceScope(): Promise<IdentityRecord[]> {
    if (!this.connected) throw new UpstreamError('not connected to IoT Hub', true);
    const edge = this.options.connection.deviceId;
    const records: IdentityRecord[] = [];
    let continuation: string | null = null;
    do {
      const body: Record<string, unknown> = { pageSize: 100 };
      if (continuation !== null) body['continuationLink'] = continuation;
      const page = (await this.https('POST', `/devices/${encodeURIComponent(edge)}/modules/${encodeURIComponent('$edgeHub')}/devicesAndModulesInDeviceScope?api-version=${SCOPE_API_VERSION}`, body)) as { items?: unknown[]; continuationLink?: string | null };
      for (const item of page.items ?? []) {
        if (!isJsonObject(item as JsonValue)) continue;
        const entry = item as Record<string, unknown>;
        const key = (entry['authentication'] as { symmetricKey?: { primaryKey?: string; secondaryKey?: string } } | undefined)?.symmetricKey;
        if (typeof entry['deviceId'] !== 'string' || typeof key?.primaryKey !== 'string' || typeof key.secondaryKey !== 'string') continue;
        const identity = typeof entry['moduleId'] === 'string' && entry['moduleId'] !== '' ? moduleIdentity(entry['deviceId'], entry['moduleId']) : deviceIdentity(entry['deviceId']);
        records.push({ identity, credentials: { primaryKey: key.primaryKey, secondaryKey: key.secondaryKey, status: entry['status'] === 'disabled' ? 'disabled' : 'enabled' } });
      }
      continuation = typeof page.continuationLink === 'string' && page.continuationLink !== '' ? page.continuationLink : null;
    } while (continuation !== null);
    return records;
  }

  async createModuleIdentity(moduleId: string): Promise<void> {
    if (!this.connected) throw new UpstreamError('not connected to IoT Hub', true);
    const edge = this.options.connection.deviceId;
    try {
      await this.https('PUT', `/devices/${encodeURIComponent(edge)}/modules/${encodeURIComponent(moduleId)}?api-version=${API_VERSION}`, { deviceId: edge, moduleId });
    } catch (error) {
      // 409: it exists already.
      if (error instanceof UpstreamError && error.status === 409) return;
      throw error;
    }
  }

  /** An HTTPS request to the hub's service endpoint, authorized with the edge device's token. */
  private async https(method: string, path: string, body: unknown): Promise<unknown> {
    const { token } = await this.token(this.linksOf(deviceIdentity(this.options.connection.deviceId)));
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return await new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: this.connectHost,
          servername: this.connectHost,
          port: this.options.httpsPort ?? 443,
          method,
          path,
          ...(this.options.ca === undefined ? {} : { ca: this.options.ca }),
          headers: { Authorization: token, 'Content-Type': 'application/json', ...(payload === undefined ? {} : { 'Content-Length': payload.length }) },
          timeout: this.options.operationTimeoutMs ?? 20_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) {
              reject(new UpstreamError(`IoT Hub ${method} ${path.split('?')[0]} answered ${status}: ${text.slice(0, 200)}`, status === 429 || status >= 500, status));
              return;
            }
            try {
              resolve(text === '' ? {} : JSON.parse(text));
            } catch {
              reject(new UpstreamError(`IoT Hub ${method} ${path.split('?')[0]} answered with invalid JSON`, false, status));
            }
          });
          res.on('error', (error) => reject(new UpstreamError(errorText(error), true)));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (error) => reject(new UpstreamError(`IoT Hub ${method} ${path.split('?')[0]} failed: ${error.message}`, true)));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }
}
