import rhea, { type AmqpError, type Connection, type Delivery, type EventContext, type Message as AmqpMessage, type Receiver, type Sender } from 'rhea';
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { type Server, type TLSSocket, createServer as createTlsServer } from 'node:tls';
import { type ClientOperation, authorize, describeDenial } from '../../domain/identity/authorization.js';
import { type Identity, formatIdentity } from '../../domain/identity/identity.js';
import type { Message } from '../../domain/messages/message.js';
import { type JsonObject, type JsonValue } from '../../domain/twins/json.js';
import type { ClientFeature } from '../../application/ports/client-channel.js';
import { DeliveryError } from '../../application/ports/endpoint-delivery.js';
import { type ListenInfo, listenOn } from '../../application/ports/hosted-service.js';
import type { Logger } from '../../application/ports/logger.js';
import { type AmqpBackend, type AmqpClient, AmqpCondition, AmqpRefusal, type TwinReply } from './amqp-backend.js';
import { BATCHED_MESSAGE_FORMAT, bodyBytes, encodeAmqpMessage, expandBatch, fromAmqpMessage, idText, wireId } from './amqp-message.js';
import { type LinkAddress, LinkAddressError, parseAudience, parseLinkAddress, parseSaslPlainUser } from './link-address.js';

/** Where and how the AMQP server listens. */
export interface AmqpServerOptions {
  host: string;
  /** 0 picks a free port (see the returned `ListenInfo`). */
  port: number;
  /** Server certificate chain and key, PEM (the SDKs only speak TLS). */
  tls: { cert: string; key: string };
  /** The configuration key named in listen errors, e.g. `hub.amqp.port`. */
  portSetting?: string;
  /**
   * Unsettled deliveries a client may have in flight per sending link (telemetry): the credit
   * granted, topped up as the backend settles them. Default 1000 (rhea's client window).
   */
  creditWindow?: number;
  /** `idle-time-out` advertised in our open frame: clients heartbeat at half of it; a silent peer is dropped after twice it. 0 = none. */
  idleTimeoutMs?: number;
}

const DEFAULT_CREDIT = 1000;
const CHANNEL_CORRELATION = 'com.microsoft:channel-correlation-id';
const MAX_TIMER_MS = 2_147_483_647;

type LinkRole = 'cbs-in' | 'cbs-out' | 'telemetry' | 'inputs' | 'c2d' | 'twin-in' | 'twin-out' | 'methods-in' | 'methods-out';

const FEATURE_OF_ROLE: Partial<Record<LinkRole, ClientFeature>> = {
  inputs: 'inputs',
  c2d: 'c2d',
  'methods-out': 'methods',
  'twin-out': 'twin-responses',
};

interface Pending {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** A message to send: rhea encodes an `AmqpMessage`; a `Buffer` is already encoded (format 0). */
type Outgoing = AmqpMessage | Buffer;

interface Outbound {
  readonly message: Outgoing;
  readonly pending?: Pending;
}

/** State the core keeps per link it accepted. */
class LinkState {
  /** Unsettled deliveries we sent on this (sender) link, by delivery. */
  readonly pending = new Map<Delivery, Pending>();
  /** Messages waiting for credit (sender links). */
  readonly queue: Outbound[] = [];
  /** Deliveries received and not yet settled (receiver links): credit is topped up as they settle. */
  inFlight = 0;
  closed = false;

  constructor(
    readonly role: LinkRole,
    readonly link: Sender | Receiver,
    readonly conn: ConnectionState,
    readonly client: ClientState | undefined,
    readonly channel: string | undefined,
  ) {}
}

/** One AMQP connection. */
class ConnectionState {
  readonly clients = new Map<string, ClientState>();
  readonly links = new Set<LinkState>();
  /** CBS replies waiting for the client's `$cbs` receiver link. */
  readonly cbsBacklog: AmqpMessage[] = [];
  closed = false;

  constructor(
    readonly id: string,
    readonly connection: Connection,
    readonly socket: Duplex,
  ) {}

  cbsSender(): LinkState | undefined {
    for (const l of this.links) if (l.role === 'cbs-out' && !l.closed) return l;
    return undefined;
  }
}

/** An authenticated identity on one connection: what the backend sees as `AmqpClient`. */
class ClientState implements AmqpClient {
  readonly links = new Set<LinkState>();
  desiredEnabled = false;
  expiryTimer: NodeJS.Timeout | undefined;
  gone = false;

  constructor(
    readonly identity: Identity,
    readonly conn: ConnectionState,
    private readonly server: AmqpServer,
  ) {}

  get connectionId(): string {
    return this.conn.id;
  }

  has(feature: ClientFeature): boolean {
    if (this.gone) return false;
    if (feature === 'twin-desired') return this.desiredEnabled && this.sender('twin-out') !== undefined;
    for (const l of this.links) if (!l.closed && FEATURE_OF_ROLE[l.role] === feature) return true;
    return false;
  }

  sender(role: LinkRole, channel?: string): LinkState | undefined {
    let any: LinkState | undefined;
    for (const l of this.links) {
      if (l.closed || l.role !== role) continue;
      if (channel === undefined || l.channel === channel) return l;
      any ??= l;
    }
    return any;
  }

  sendC2d(message: Message): Promise<void> {
    return this.deliver('c2d', encodeAmqpMessage(message));
  }

  sendInput(inputName: string, message: Message): Promise<void> {
    if (this.identity.kind !== 'module') return Promise.reject(new DeliveryError(`${formatIdentity(this.identity)} is a device: only modules have inputs`, false));
    return this.deliver('inputs', encodeAmqpMessage(message, { 'x-opt-input-name': inputName }));
  }

  sendDesiredPatch(patch: JsonObject, version: number): void {
    const link = this.sender('twin-out');
    if (link === undefined) return;
    this.server.send(link, { message_annotations: { version: intOrLong(version) }, body: jsonSection(patch) });
  }

  sendMethodRequest(methodName: string, requestId: string, payload: Uint8Array): void {
    const link = this.sender('methods-out');
    if (link === undefined) throw new Error(`${formatIdentity(this.identity)} has no method link open`);
    this.server.send(link, {
      correlation_id: wireId(requestId),
      application_properties: { 'IoThub-methodname': methodName },
      body: rhea.message.data_section(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)),
    });
  }

  close(reason: string, condition: string = AmqpCondition.unauthorized): void {
    this.server.dropClient(this, reason, condition);
  }

  private deliver(role: 'c2d' | 'inputs', message: Buffer): Promise<void> {
    const link = this.gone ? undefined : this.sender(role);
    if (link === undefined) {
      const what = role === 'c2d' ? 'cloud-to-device' : 'input';
      return Promise.reject(new DeliveryError(`${formatIdentity(this.identity)} has no ${what} link open`, true));
    }
    return new Promise<void>((resolve, reject) => this.server.send(link, message, { resolve, reject }));
  }
}

function intOrLong(n: number): unknown {
  return Number.isInteger(n) && n >= -2_147_483_648 && n <= 2_147_483_647 ? rhea.types.wrap_int(n) : rhea.types.wrap_long(n);
}

function jsonSection(value: JsonValue): unknown {
  return rhea.message.data_section(Buffer.from(JSON.stringify(value), 'utf8'));
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** SASL PLAIN on the server side: authenticates through the backend and keeps the result for `connection_open`. */
class PlainMechanism {
  outcome: boolean | undefined = undefined;
  username: string | undefined = undefined;
  result: { identity: Identity; expiresAtMs: number } | undefined = undefined;

  constructor(private readonly server: AmqpServer) {}

  async start(response: Buffer | undefined): Promise<void> {
    // authzid NUL authcid NUL password (RFC 4616).
    const fields = (response ?? Buffer.alloc(0)).toString('utf8').split('\u0000');
    if (fields.length !== 3) {
      this.outcome = false;
      return;
    }
    this.result = await this.server.authenticatePlain(fields[1] ?? '', fields[2] ?? '');
    this.outcome = this.result !== undefined;
    this.username = fields[1];
  }
}

/** The SASL mechanism object rhea used for a server connection (internal fields; rhea has no public accessor). */
function saslMechanism(connection: Connection): PlainMechanism | undefined {
  const transport = (connection as unknown as { sasl_transport?: { selected?: { mechanism?: unknown }; mechanism?: unknown } }).sasl_transport;
  const mechanism = transport?.selected?.mechanism ?? transport?.mechanism;
  return mechanism instanceof PlainMechanism ? mechanism : undefined;
}

/**
 * The AMQP 1.0 protocol server for IoT Hub device/module clients (iot-sdk-protocol.md §3): TLS
 * listener, SASL (none, ANONYMOUS, PLAIN `<device>[/modules/<module>]@sas.<hub>`), the CBS
 * `$cbs` node (put-token, numeric `status-code`, renewal on the same links, expiry detaches the
 * identity's links), link addresses, credit, dispositions and per-identity authorization (a link
 * must name an identity authenticated on its connection). Everything else goes to the
 * `AmqpBackend`.
 */
export class AmqpServer {
  private readonly container = rhea.create_container({ id: `edgeport-amqp-${randomUUID()}` });
  private readonly connections = new Map<Connection, ConnectionState>();
  private readonly links = new Map<Sender | Receiver, LinkState>();
  private server: Server | null = null;
  private readonly creditWindow: number;
  private nextConnection = 0;

  constructor(
    private readonly backend: AmqpBackend,
    private readonly log: Logger,
    private readonly options: AmqpServerOptions,
  ) {
    this.creditWindow = Math.max(1, options.creditWindow ?? DEFAULT_CREDIT);
    const mechanisms = this.container.sasl_server_mechanisms as Record<string, unknown> & { enable_anonymous(): void };
    // ANONYMOUS makes rhea accept the bare AMQP header too (the SDK does no SASL, iot-sdk-protocol.md §3.1).
    mechanisms.enable_anonymous();
    mechanisms['PLAIN'] = () => new PlainMechanism(this);
    const c = this.container;
    c.on('connection_open', (ctx: EventContext) => this.onConnectionOpen(ctx));
    c.on('connection_close', (ctx: EventContext) => this.onConnectionGone(ctx.connection, 'closed by the client'));
    c.on('connection_error', (ctx: EventContext) => this.log.debug('connection error', { error: describe(ctx.connection.error) }));
    c.on('sender_open', (ctx: EventContext) => this.onLinkOpen(ctx.connection, ctx.sender!));
    c.on('receiver_open', (ctx: EventContext) => this.onLinkOpen(ctx.connection, ctx.receiver!));
    c.on('sender_close', (ctx: EventContext) => this.onLinkClosed(ctx.sender!));
    c.on('receiver_close', (ctx: EventContext) => this.onLinkClosed(ctx.receiver!));
    c.on('sender_error', (ctx: EventContext) => this.log.debug('link error', { error: describe(ctx.sender?.error) }));
    c.on('receiver_error', (ctx: EventContext) => this.log.debug('link error', { error: describe(ctx.receiver?.error) }));
    c.on('session_error', (ctx: EventContext) => this.log.debug('session error', { error: describe(ctx.session?.error) }));
    c.on('message', (ctx: EventContext) => this.onMessage(ctx));
    c.on('sendable', (ctx: EventContext) => this.flush(this.links.get(ctx.sender!)));
    c.on('accepted', (ctx: EventContext) => this.onOutcome(ctx, 'accepted'));
    c.on('rejected', (ctx: EventContext) => this.onOutcome(ctx, 'rejected'));
    c.on('released', (ctx: EventContext) => this.onOutcome(ctx, 'released'));
    c.on('disconnected', (ctx: EventContext) => this.onConnectionGone(ctx.connection, 'disconnected'));
    // rhea re-emits unhandled protocol errors on the container; an unhandled 'error' would throw.
    c.on('error', (error: unknown) => this.log.debug('amqp error', { error: errorText(error) }));
  }

  /** Starts the TLS listener; resolves with the bound address (port 0 picks a free one). */
  async start(): Promise<ListenInfo> {
    if (this.server !== null) throw new Error('AMQP server already started');
    const server = createTlsServer({ cert: this.options.tls.cert, key: this.options.tls.key });
    server.on('secureConnection', (socket: TLSSocket) => this.accept(socket));
    server.on('tlsClientError', (error) => this.log.debug('TLS handshake failed', { error: error.message }));
    const info: ListenInfo = { protocol: 'amqps', host: this.options.host, port: this.options.port, setting: this.options.portSetting ?? 'amqp port' };
    const bound = await listenOn(server, info, (error) => this.log.error('listener error', { port: info.port, error: error.message }));
    this.server = server;
    this.log.debug('listening', { protocol: 'amqps', host: info.host, port: bound.port });
    return bound;
  }

  /** Serves one already-established transport (a TLS socket, or a WebSocket stream). */
  accept(socket: Duplex): void {
    if ('setNoDelay' in socket && typeof socket.setNoDelay === 'function') (socket as TLSSocket).setNoDelay(true);
    const connection = this.container.create_connection({
      // Link defaults: the core settles and grants credit itself.
      autoaccept: false,
      credit_window: 0,
      ...(this.options.idleTimeoutMs !== undefined && this.options.idleTimeoutMs > 0 ? { idle_time_out: this.options.idleTimeoutMs } : {}),
    } as unknown as Parameters<typeof this.container.create_connection>[0]);
    coalesceWrites(socket);
    const state = new ConnectionState(`amqp-${++this.nextConnection}`, connection, socket);
    this.connections.set(connection, state);
    socket.once('close', () => {
      this.onConnectionGone(connection, 'socket closed');
      // rhea listens for 'end' and 'error' only: a destroyed socket would leave its heartbeat timers running.
      (connection as unknown as { eof(): void }).eof();
    });
    (connection as unknown as { accept(socket: Duplex): void }).accept(socket);
  }

  /**
   * Drops every connection and closes the listener. The sockets are ended without an AMQP close:
   * the SDK treats a closed socket as `NotConnectedError` and reconnects with its retry policy at
   * once, while a close frame (any condition) sends it through a link-by-link detach that waits
   * for answers a stopped server never gives (seen: 45 s before it reconnects).
   */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const state of [...this.connections.values()]) {
      this.onConnectionGone(state.connection, 'server stopped');
      state.socket.destroy();
    }
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Connected identities (all connections), for tests and metrics. */
  clients(): AmqpClient[] {
    return [...this.connections.values()].flatMap((c) => [...c.clients.values()]);
  }

  // Authentication -------------------------------------------------------------------------

  /** SASL PLAIN: `<device>[/modules/<module>]@sas.<hub>` with the SAS token as password. */
  async authenticatePlain(user: string, password: string): Promise<{ identity: Identity; expiresAtMs: number } | undefined> {
    let identity: Identity;
    try {
      identity = parseSaslPlainUser(user).identity;
    } catch (error) {
      this.log.warn('connection refused', { via: 'sasl-plain', reason: 'bad-user-name', detail: errorText(error) });
      return undefined;
    }
    try {
      const result = await this.backend.authenticate({ identity, token: password, audience: user, via: 'sasl-plain' });
      if (!result.ok) {
        this.log.warn('connection refused', { via: 'sasl-plain', identity: formatIdentity(identity), status: result.status, reason: result.reason, detail: result.description });
        return undefined;
      }
      return { identity: result.identity, expiresAtMs: result.expiresAtMs };
    } catch (error) {
      this.log.error('authentication failed unexpectedly', { via: 'sasl-plain', identity: formatIdentity(identity), error: errorText(error) });
      return undefined;
    }
  }

  private onConnectionOpen(ctx: EventContext): void {
    const state = this.connections.get(ctx.connection);
    if (state === undefined) return;
    const plain = saslMechanism(ctx.connection);
    if (plain?.result !== undefined) this.authenticated(state, plain.result.identity, plain.result.expiresAtMs, 'sasl-plain');
  }

  /** Records a successful authentication of `identity` on `state` (new, or a renewal). */
  private authenticated(state: ConnectionState, identity: Identity, expiresAtMs: number, via: string): void {
    if (state.closed) return;
    const key = formatIdentity(identity);
    let client = state.clients.get(key);
    const renewal = client !== undefined;
    if (client === undefined) {
      client = new ClientState(identity, state, this);
      state.clients.set(key, client);
    }
    if (client.expiryTimer !== undefined) clearTimeout(client.expiryTimer);
    const target = client;
    const schedule = (): void => {
      const left = expiresAtMs - Date.now();
      if (left <= 0) {
        this.log.info('token expired, detaching links', { connection: state.id, identity: key });
        this.dropClient(target, 'token expired', AmqpCondition.unauthorized);
        return;
      }
      target.expiryTimer = setTimeout(schedule, Math.min(left, MAX_TIMER_MS));
      target.expiryTimer.unref?.();
    };
    schedule();
    if (client.gone) return;
    if (renewal) {
      this.log.debug('token renewed', { connection: state.id, identity: key, via });
      return;
    }
    this.log.info('client connected', { connection: state.id, identity: key, via });
    this.backend.clientConnected(client);
  }

  /** Forgets `client`'s authentication on its connection and detaches its links. */
  dropClient(client: ClientState, reason: string, condition: string): void {
    if (client.gone) return;
    client.gone = true;
    if (client.expiryTimer !== undefined) clearTimeout(client.expiryTimer);
    const conn = client.conn;
    if (conn.clients.get(formatIdentity(client.identity)) === client) conn.clients.delete(formatIdentity(client.identity));
    for (const link of [...client.links]) {
      this.closeLink(link, { condition, description: `${formatIdentity(client.identity)}: ${reason}` }, reason);
    }
    this.log.info('client disconnected', { connection: conn.id, identity: formatIdentity(client.identity), reason });
    this.backend.clientDisconnected(client, reason);
  }

  private onConnectionGone(connection: Connection, why: string): void {
    const state = this.connections.get(connection);
    if (state === undefined || state.closed) return;
    state.closed = true;
    this.connections.delete(connection);
    for (const link of [...state.links]) this.linkGone(link, `connection ${why}`);
    for (const client of [...state.clients.values()]) {
      client.gone = true;
      if (client.expiryTimer !== undefined) clearTimeout(client.expiryTimer);
      this.log.info('client disconnected', { connection: state.id, identity: formatIdentity(client.identity), reason: why });
      this.backend.clientDisconnected(client, why);
    }
    state.clients.clear();
    if (why !== 'server stopped' && !connection.is_closed()) {
      try {
        connection.close();
      } catch {
        // the socket is gone
      }
    }
  }

  // Links -----------------------------------------------------------------------------------

  private onLinkOpen(connection: Connection, link: Sender | Receiver): void {
    const state = this.connections.get(connection);
    if (state === undefined) return;
    const isSender = link.is_sender();
    // Our sender serves the client's receiver: the node is its source; our receiver: its target.
    const remote = (link as unknown as { remote: { attach?: { source?: { address?: string }; target?: { address?: string }; snd_settle_mode?: number; properties?: Record<string, unknown> } } }).remote.attach;
    const address = isSender ? remote?.source?.address : remote?.target?.address;
    // rhea's typings want an address; a terminus without one is valid AMQP (a client's local name may be absent).
    link.set_source({ address: remote?.source?.address } as { address: string });
    link.set_target({ address: remote?.target?.address } as { address: string });
    if (isSender && remote?.snd_settle_mode !== undefined) {
      // Honour the client's requested settle mode (twin links ask for pre-settled transfers).
      (link as unknown as { local: { attach: { snd_settle_mode: number } } }).local.attach.snd_settle_mode = remote.snd_settle_mode;
    }
    const channelValue = remote?.properties?.[CHANNEL_CORRELATION];
    const channel = typeof channelValue === 'string' ? channelValue : undefined;

    let parsed: LinkAddress;
    try {
      parsed = parseLinkAddress(address);
    } catch (error) {
      if (!(error instanceof LinkAddressError)) throw error;
      this.refuse(state, link, AmqpCondition.notFound, error.message);
      return;
    }
    if (parsed.kind === 'cbs') {
      this.addLink(state, new LinkState(isSender ? 'cbs-out' : 'cbs-in', link, state, undefined, channel));
      if (isSender) {
        const sender = [...state.links].find((l) => l.link === link)!;
        for (const reply of state.cbsBacklog.splice(0)) this.send(sender, reply);
      }
      return;
    }
    const client = state.clients.get(formatIdentity(parsed.identity));
    if (client === undefined || client.gone) {
      this.refuse(state, link, AmqpCondition.unauthorized, `${formatIdentity(parsed.identity)} is not authenticated on this connection (put a token on $cbs first)`);
      return;
    }
    let role: LinkRole;
    let operation: ClientOperation;
    switch (parsed.kind) {
      case 'events':
        role = isSender ? 'inputs' : 'telemetry';
        operation = isSender ? { kind: 'receive-inputs', target: parsed.identity } : { kind: 'send-telemetry', target: parsed.identity };
        break;
      case 'devicebound':
        if (!isSender) {
          this.refuse(state, link, AmqpCondition.notAllowed, 'clients cannot send to the devicebound node');
          return;
        }
        role = 'c2d';
        operation = { kind: 'receive-c2d', target: parsed.identity };
        break;
      case 'twin':
        role = isSender ? 'twin-out' : 'twin-in';
        operation = isSender ? { kind: 'twin-receive-responses' } : { kind: 'twin-get' };
        break;
      case 'methods':
        role = isSender ? 'methods-out' : 'methods-in';
        operation = isSender ? { kind: 'method-receive' } : { kind: 'method-respond' };
        break;
    }
    const decision = authorize(client.identity, operation);
    if (!decision.allowed) {
      const condition = decision.reason === 'other-identity' ? AmqpCondition.unauthorized : AmqpCondition.notAllowed;
      this.refuse(state, link, condition, describeDenial(client.identity, operation, decision.reason));
      return;
    }
    const linkState = new LinkState(role, link, state, client, channel);
    this.addLink(state, linkState);
    client.links.add(linkState);
    if (FEATURE_OF_ROLE[role] !== undefined) this.backend.clientChanged(client);
  }

  private addLink(state: ConnectionState, link: LinkState): void {
    state.links.add(link);
    this.links.set(link.link, link);
    if (link.link.is_receiver()) (link.link as Receiver).add_credit(this.creditWindow);
  }

  private refuse(state: ConnectionState, link: Sender | Receiver, condition: string, description: string): void {
    this.log.warn('link refused', { connection: state.id, address: linkAddress(link), condition, detail: description });
    link.close({ condition, description });
  }

  private onLinkClosed(link: Sender | Receiver): void {
    const state = this.links.get(link);
    if (state === undefined) return;
    this.linkGone(state, 'link detached');
    if (state.client !== undefined && FEATURE_OF_ROLE[state.role] !== undefined && !state.client.gone) this.backend.clientChanged(state.client);
    if (state.role === 'twin-out' && state.client !== undefined && state.client.sender('twin-out') === undefined) state.client.desiredEnabled = false;
  }

  private closeLink(state: LinkState, error: AmqpError, why: string): void {
    if (!state.closed) {
      try {
        state.link.close(error);
      } catch {
        // the connection is gone
      }
    }
    this.linkGone(state, why);
  }

  /** A link ended: fail what waits on it and forget it. */
  private linkGone(state: LinkState, why: string): void {
    if (state.closed) return;
    state.closed = true;
    this.links.delete(state.link);
    state.client?.links.delete(state);
    state.conn.links.delete(state);
    const error = (): DeliveryError => new DeliveryError(`${state.client === undefined ? 'link' : formatIdentity(state.client.identity)}: ${why} before the message was settled`, true);
    for (const [delivery, p] of state.pending) {
      p.reject(error());
      // The peer will never settle a delivery of a detached link, and rhea frees its session's
      // outgoing buffer only from the oldest delivery on while `settled && remote_settled`: mark it
      // done (rhea has no API for this), or the session stops sending after ~2048 more transfers.
      (delivery as { remote_settled: boolean }).remote_settled = true;
      delivery.update(true);
    }
    state.pending.clear();
    for (const o of state.queue.splice(0)) o.pending?.reject(error());
  }

  // Sending ---------------------------------------------------------------------------------

  /** Sends on `link` now if it has credit, else when it gets some; `pending` settles with the client's outcome. */
  send(link: LinkState, message: Outgoing, pending?: Pending): void {
    if (link.closed) {
      pending?.reject(new DeliveryError('link closed', true));
      return;
    }
    if (link.queue.length > 0 || !(link.link as Sender).sendable()) {
      link.queue.push(pending === undefined ? { message } : { message, pending });
      return;
    }
    this.transmit(link, message, pending);
  }

  private transmit(link: LinkState, message: Outgoing, pending: Pending | undefined): void {
    const sender = link.link as Sender;
    const delivery = Buffer.isBuffer(message) ? sender.send(message, undefined, 0) : sender.send(message);
    if (pending === undefined) return;
    if (delivery.settled) pending.resolve(); // pre-settled link: nothing more will come
    else link.pending.set(delivery, pending);
  }

  private flush(link: LinkState | undefined): void {
    if (link === undefined || link.closed) return;
    const sender = link.link as Sender;
    while (link.queue.length > 0 && sender.sendable()) {
      const next = link.queue.shift()!;
      this.transmit(link, next.message, next.pending);
    }
  }

  private onOutcome(ctx: EventContext, outcome: 'accepted' | 'rejected' | 'released'): void {
    const link = ctx.sender === undefined ? undefined : this.links.get(ctx.sender);
    const delivery = ctx.delivery;
    if (link === undefined || delivery === undefined) return;
    const pending = link.pending.get(delivery);
    if (pending === undefined) return;
    link.pending.delete(delivery);
    if (outcome === 'accepted') {
      pending.resolve();
      return;
    }
    const who = link.client === undefined ? 'client' : formatIdentity(link.client.identity);
    const condition = (delivery.remote_state as { error?: AmqpError } | undefined)?.error;
    const detail = condition === undefined ? '' : `: ${describe(condition)}`;
    pending.reject(
      outcome === 'rejected'
        ? new DeliveryError(`${who} rejected the message${detail}`, false)
        : new DeliveryError(`${who} released (abandoned) the message${detail}`, true),
    );
  }

  // Receiving -------------------------------------------------------------------------------

  private onMessage(ctx: EventContext): void {
    const link = ctx.receiver === undefined ? undefined : this.links.get(ctx.receiver);
    const delivery = ctx.delivery;
    const message = ctx.message;
    if (link === undefined || delivery === undefined || message === undefined) return;
    const state = this.connections.get(ctx.connection);
    if (state === undefined) return;
    link.inFlight++;
    switch (link.role) {
      case 'cbs-in':
        void this.onPutToken(state, link, delivery, message);
        return;
      case 'telemetry':
        if ((ctx as { format?: number }).format === BATCHED_MESSAGE_FORMAT) void this.onTelemetryBatch(link, delivery, message as unknown as Buffer);
        else void this.onTelemetry(link, delivery, message);
        return;
      case 'twin-in':
        void this.onTwinRequest(link, delivery, message);
        return;
      case 'methods-in':
        this.onMethodResponse(link, delivery, message);
        return;
      default:
        this.settle(link, delivery, { condition: AmqpCondition.notAllowed, description: 'this link does not accept messages' });
    }
  }

  /** Settles a received delivery (accepted when `error` is undefined) and tops up the link's credit. */
  private settle(link: LinkState, delivery: Delivery, error?: AmqpError): void {
    link.inFlight--;
    if (!link.closed && !delivery.remote_settled) {
      if (error === undefined) delivery.accept();
      else delivery.reject(error);
    } else if (!delivery.settled) {
      // Pre-settled by the client (the SDK's twin sender) or the link is gone: settle locally too, or
      // rhea keeps the delivery at the head of the session's incoming buffer and the session window
      // closes after ~2048 later transfers (telemetry stalls).
      delivery.update(true);
    }
    if (link.closed) return;
    const receiver = link.link as Receiver & { credit: number };
    const room = this.creditWindow - receiver.credit - link.inFlight;
    if (room >= this.creditWindow / 2 || (receiver.credit === 0 && room > 0)) receiver.add_credit(room);
  }

  private async onPutToken(state: ConnectionState, link: LinkState, delivery: Delivery, message: AmqpMessage): Promise<void> {
    const props = (message.application_properties ?? {}) as Record<string, unknown>;
    const reply = (status: number, description: string): void => {
      const response = {
        to: typeof message.reply_to === 'string' ? message.reply_to : undefined,
        application_properties: { 'status-code': rhea.types.wrap_int(status), 'status-description': description },
      } as unknown as AmqpMessage;
      if (message.message_id !== undefined) response.correlation_id = message.message_id;
      const sender = state.cbsSender();
      if (sender === undefined) state.cbsBacklog.push(response);
      else this.send(sender, response);
    };
    try {
      if (props['operation'] !== 'put-token') {
        reply(400, `unsupported CBS operation ${JSON.stringify(props['operation'])}`);
        return;
      }
      const audience = typeof props['name'] === 'string' ? props['name'] : '';
      const token = bodyBytes(message.body).toString('utf8');
      let identity: Identity;
      try {
        identity = parseAudience(audience).identity;
      } catch (error) {
        this.log.warn('put-token refused', { connection: state.id, reason: 'bad-audience', detail: errorText(error) });
        reply(400, errorText(error));
        return;
      }
      const result = await this.backend.authenticate({ identity, token, audience, via: 'cbs' });
      if (!result.ok) {
        // Never log the token: the backend's description is token-free by contract.
        this.log.warn('put-token refused', { connection: state.id, identity: formatIdentity(identity), status: result.status, reason: result.reason, detail: result.description });
        reply(result.status, result.description);
        return;
      }
      this.authenticated(state, result.identity, result.expiresAtMs, 'cbs');
      reply(200, 'OK');
    } catch (error) {
      this.log.error('put-token failed unexpectedly', { connection: state.id, error: errorText(error) });
      reply(500, 'internal error');
    } finally {
      this.settle(link, delivery);
    }
  }

  /** A telemetry message as the backend gets it, or the refusal that settles its delivery. */
  private telemetryMessage(client: AmqpClient, amqp: AmqpMessage): Message | AmqpError {
    let message: Message;
    try {
      message = fromAmqpMessage(amqp);
    } catch (error) {
      return { condition: 'amqp:decode-error', description: errorText(error) };
    }
    const outputName = message.systemProperties['outputName'];
    if (outputName !== undefined && outputName !== null) {
      const operation: ClientOperation = { kind: 'send-telemetry', target: client.identity, outputName };
      const decision = authorize(client.identity, operation);
      if (!decision.allowed) return { condition: AmqpCondition.notAllowed, description: describeDenial(client.identity, operation, decision.reason) };
    }
    return message;
  }

  private async onTelemetry(link: LinkState, delivery: Delivery, amqp: AmqpMessage): Promise<void> {
    const message = this.telemetryMessage(link.client!, amqp);
    if (!('body' in message)) {
      this.settle(link, delivery, message);
      return;
    }
    await this.receive(link, delivery, [message]);
  }

  /**
   * A batch (`BATCHED_MESSAGE_FORMAT`): every message is checked first, then all go to the backend
   * in order (started together, as pipelined single transfers would be) and the one delivery is
   * accepted when all are taken, else rejected with the first refusal, as IoT Hub settles a batch.
   */
  private async onTelemetryBatch(link: LinkState, delivery: Delivery, payload: Buffer): Promise<void> {
    const messages: Message[] = [];
    try {
      for (const amqp of expandBatch(payload)) {
        const message = this.telemetryMessage(link.client!, amqp);
        if (!('body' in message)) {
          this.settle(link, delivery, message);
          return;
        }
        messages.push(message);
      }
    } catch (error) {
      this.settle(link, delivery, { condition: 'amqp:decode-error', description: `malformed batch: ${errorText(error)}` });
      return;
    }
    await this.receive(link, delivery, messages);
  }

  private async receive(link: LinkState, delivery: Delivery, messages: readonly Message[]): Promise<void> {
    const client = link.client!;
    try {
      if (messages.length === 1) await this.backend.receiveMessage(client, messages[0]!);
      else await Promise.all(messages.map((message) => this.backend.receiveMessage(client, message)));
      this.settle(link, delivery);
    } catch (error) {
      const condition = error instanceof AmqpRefusal ? error.condition : AmqpCondition.internal;
      if (!(error instanceof AmqpRefusal)) this.log.error('message not stored', { identity: formatIdentity(client.identity), error: errorText(error) });
      else this.log.warn('message refused', { identity: formatIdentity(client.identity), condition, detail: error.message });
      this.settle(link, delivery, { condition, description: error instanceof AmqpRefusal ? error.message : 'the message could not be stored' });
    }
  }

  private async onTwinRequest(link: LinkState, delivery: Delivery, amqp: AmqpMessage): Promise<void> {
    const client = link.client!;
    const annotations = (amqp.message_annotations ?? {}) as Record<string, unknown>;
    const operation = typeof annotations['operation'] === 'string' ? annotations['operation'].toUpperCase() : '';
    const resource = typeof annotations['resource'] === 'string' ? annotations['resource'].toLowerCase() : '';
    const correlationId = amqp.correlation_id;
    this.settle(link, delivery);
    let reply: TwinReply;
    try {
      if (operation === 'GET') reply = await this.backend.getTwin(client);
      else if (operation === 'PATCH' && resource === '/properties/reported') {
        let patch: JsonValue;
        try {
          patch = JSON.parse(bodyBytes(amqp.body).toString('utf8')) as JsonValue;
        } catch {
          reply = { status: 400, body: { errorCode: 400004, message: 'reported properties patch is not valid JSON' } };
          this.twinReply(client, link.channel, correlationId, reply);
          return;
        }
        reply = await this.backend.patchReported(client, patch);
      } else if ((operation === 'PUT' || operation === 'DELETE') && resource === '/notifications/twin/properties/desired') {
        const enable = operation === 'PUT';
        if (client.desiredEnabled !== enable) {
          client.desiredEnabled = enable;
          this.backend.clientChanged(client);
        }
        reply = { status: 200 };
      } else {
        reply = { status: 400, body: { errorCode: 400027, message: `unsupported twin operation ${JSON.stringify(operation)} on ${JSON.stringify(resource)}` } };
      }
    } catch (error) {
      this.log.error('twin operation failed', { identity: formatIdentity(client.identity), operation, error: errorText(error) });
      reply = { status: 500, body: { errorCode: 500001, message: 'twin operation failed' } };
    }
    this.twinReply(client, link.channel, correlationId, reply);
  }

  private twinReply(client: ClientState, channel: string | undefined, correlationId: unknown, reply: TwinReply): void {
    const sender = client.sender('twin-out', channel);
    if (sender === undefined) {
      this.log.warn('twin response dropped: no twin receiver link', { identity: formatIdentity(client.identity) });
      return;
    }
    const annotations: Record<string, unknown> = { status: rhea.types.wrap_int(reply.status) };
    if (reply.version !== undefined) annotations['version'] = intOrLong(reply.version);
    // The SDK matches responses by correlation id used as an object key: echo it exactly (a string).
    const message = { correlation_id: correlationId as string, message_annotations: annotations } as AmqpMessage;
    if (reply.body !== undefined) message.body = jsonSection(reply.body);
    this.send(sender, message);
  }

  private onMethodResponse(link: LinkState, delivery: Delivery, amqp: AmqpMessage): void {
    const client = link.client!;
    const requestId = idText(amqp.correlation_id);
    const statusValue = (amqp.application_properties as Record<string, unknown> | undefined)?.['IoThub-status'];
    const status = typeof statusValue === 'number' ? statusValue : Number(statusValue);
    this.settle(link, delivery);
    if (requestId === undefined || !Number.isInteger(status)) {
      this.log.warn('method response ignored: no correlation id or IoThub-status', { identity: formatIdentity(client.identity) });
      return;
    }
    this.backend.methodResponse(client, requestId, status, bodyBytes(amqp.body));
  }
}

/**
 * rhea writes every frame with its own `socket.write`. Cork the socket on the first write of an
 * event-loop turn and uncork it in that turn's check phase (`setImmediate`), so that all frames of
 * the turn (the transfers of a delivery batch, the dispositions and flows of several reads) leave
 * in one `writev`: one TLS record and one system call instead of one per frame, and the client
 * reads them in one chunk too. This wraps `write` of our own socket object only; rhea is unchanged.
 */
function coalesceWrites(socket: Duplex): void {
  const write = socket.write;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  socket.write = function (this: Duplex, ...args: Parameters<Duplex['write']>): boolean {
    if (!corked) {
      corked = true;
      socket.cork();
      setImmediate(uncork);
    }
    return write.apply(this, args);
  } as Duplex['write'];
}

function linkAddress(link: Sender | Receiver): string | undefined {
  return link.is_sender() ? link.source?.address : link.target?.address;
}

function describe(error: unknown): string {
  if (error === undefined || error === null) return 'none';
  const e = error as { condition?: string; description?: string; message?: string };
  return [e.condition, e.description ?? e.message].filter((x) => x !== undefined).join(': ') || String(error);
}
