import rhea, { type Connection, type EventContext } from 'rhea';
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { type Server, TLSSocket, createServer as createTlsServer } from 'node:tls';
import type { ConnectionGuard, Peer } from '../../application/hub/connection-guard.js';
import { ConnectionLimits } from '../../application/hub/connection-limits.js';
import { type ListenInfo, listenOn } from '../../application/ports/hosted-service.js';
import type { Logger } from '../../application/ports/logger.js';
import { type AmqpBackend, type AmqpClient, AmqpCondition } from './amqp-backend.js';
import { AmqpAuthentication } from './amqp-authentication.js';
import { ConnectionState } from './amqp-connection-state.js';
import { describeError, errorText } from './amqp-diagnostics.js';
import { useExactFrameBuffers } from './amqp-frame-writer.js';
import { AmqpFrameGuard, type AmqpFrameViolation } from './amqp-frame-guard.js';
import { AmqpInbound } from './amqp-inbound.js';
import { decodeTelemetry } from './amqp-telemetry-decoder.js';
import type { Message } from '../../domain/messages/message.js';
import { AmqpLinks } from './amqp-links.js';
import { BATCHED_MESSAGE_FORMAT } from './amqp-message.js';
import { ExternalMechanism, PlainMechanism, saslMechanism } from './amqp-sasl-plain.js';

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
  /** `max-frame-size` advertised in our open frame and enforced on every frame once a connection authenticated. Default 64 KiB. */
  maxFrameSize?: number;
  /**
   * Connection limits (admission, handshake deadline, login back-off; `ConnectionGuard`). Without
   * one, only the frame and delivery size limits of `ConnectionLimits`' defaults apply.
   */
  guard?: ConnectionGuard;
  /**
   * X.509: reads the client certificate chain of a TLS socket (`CertificateVerifier.peerChain`).
   * The listener asks for a certificate without requiring one; without this, none is read and
   * certificate clients are refused.
   */
  peerChain?: (socket: TLSSocket) => readonly Uint8Array[] | undefined;
}

const DEFAULT_CREDIT = 1000;
/**
 * The message format the transfer hook puts on standard-format (0) transfers so rhea hands their
 * bytes over undecoded (rhea decodes format 0 only, and hands over any other format's bytes). AMQP
 * 1.0 §2.7.5 requires a format on a delivery's first transfer; a client that writes an explicit
 * null there is now read as format 0 (before, rhea handed its bytes over as an unknown format).
 */
const UNDECODED_FORMAT = null;
/** IoT Hub's and Microsoft.Azure.Amqp's default `max-frame-size`: a 256 KB message goes in a few frames. */
const DEFAULT_MAX_FRAME_SIZE = 64 * 1024;
/** After a delivery over the size limit, the close frame has this long to leave before the socket is destroyed. */
const CLOSE_GRACE_MS = 1_000;

/**
 * The AMQP 1.0 protocol server for IoT Hub device/module clients (iot-sdk-protocol.md §3): the TLS
 * listener and the connections on it (or on streams handed over, AMQP over WebSocket), with SASL
 * (none, ANONYMOUS, PLAIN) and the CBS node in `AmqpAuthentication`, links, credit and
 * dispositions in `AmqpLinks`, and what clients send in `AmqpInbound`. Everything else goes to the
 * `AmqpBackend`.
 */
export class AmqpServer {
  private readonly container = rhea.create_container({ id: `edgeport-amqp-${randomUUID()}` });
  private readonly connections = new Map<Connection, ConnectionState>();
  private readonly links: AmqpLinks;
  private readonly auth: AmqpAuthentication;
  private readonly inbound: AmqpInbound;
  private server: Server | null = null;
  private nextConnection = 0;
  private readonly limits: ConnectionLimits;
  private readonly maxFrameSize: number;
  /** Per-delivery events handled on each link (`onLinkOpen`). */
  private readonly receiverEvents: ReadonlyArray<readonly [string, (ctx: EventContext) => void]>;
  private readonly senderEvents: ReadonlyArray<readonly [string, (ctx: EventContext) => void]>;
  /** The connection whose bytes rhea is reading now: a SASL mechanism is created (synchronously) for it. */
  private reading: ConnectionState | undefined;

  constructor(
    private readonly backend: AmqpBackend,
    private readonly log: Logger,
    private readonly options: AmqpServerOptions,
  ) {
    this.limits = options.guard?.limits ?? new ConnectionLimits();
    this.maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    this.links = new AmqpLinks(backend, log, Math.max(1, options.creditWindow ?? DEFAULT_CREDIT));
    this.auth = new AmqpAuthentication(backend, this.links, log, options.guard);
    this.inbound = new AmqpInbound(backend, this.links, log);
    const mechanisms = this.container.sasl_server_mechanisms as Record<string, unknown> & { enable_anonymous(): void };
    // ANONYMOUS makes rhea accept the bare AMQP header too (the SDK does no SASL, iot-sdk-protocol.md §3.1).
    mechanisms.enable_anonymous();
    mechanisms['PLAIN'] = () => {
      const state = this.reading;
      return new PlainMechanism((user, password) => this.auth.authenticatePlain(user, password, state));
    };
    // X.509 (SASL EXTERNAL, or no SASL at all as the Node SDK does): identities are authenticated by the certificate as their links attach.
    mechanisms['EXTERNAL'] = () => {
      const state = this.reading;
      return new ExternalMechanism(() => state?.clientCertificate !== undefined);
    };
    this.links.certificateLogin = (state, identity) => this.auth.certificateLogin(state, identity);
    const c = this.container;
    c.on('connection_open', (ctx: EventContext) => this.onConnectionOpen(ctx));
    c.on('connection_close', (ctx: EventContext) => this.onConnectionGone(ctx.connection, 'closed by the client'));
    c.on('connection_error', (ctx: EventContext) => this.log.debug('connection error', { error: describeError(ctx.connection.error) }));
    c.on('sender_open', (ctx: EventContext) => this.onLinkOpen(ctx.connection, ctx.sender!));
    c.on('receiver_open', (ctx: EventContext) => this.onLinkOpen(ctx.connection, ctx.receiver!));
    c.on('sender_close', (ctx: EventContext) => this.links.onLinkClosed(ctx.sender!));
    c.on('receiver_close', (ctx: EventContext) => this.links.onLinkClosed(ctx.receiver!));
    c.on('sender_error', (ctx: EventContext) => this.log.debug('link error', { error: describeError(ctx.sender?.error) }));
    c.on('receiver_error', (ctx: EventContext) => this.log.debug('link error', { error: describeError(ctx.receiver?.error) }));
    c.on('session_error', (ctx: EventContext) => this.log.debug('session error', { error: describeError(ctx.session?.error) }));
    this.receiverEvents = [
      ['message', (ctx: EventContext) => this.onMessage(ctx)],
      ['settled', () => {}],
    ];
    this.senderEvents = [
      ['sendable', (ctx: EventContext) => this.links.flush(this.links.get(ctx.sender))],
      ['accepted', (ctx: EventContext) => this.links.onOutcome(ctx, 'accepted')],
      ['rejected', (ctx: EventContext) => this.links.onOutcome(ctx, 'rejected')],
      ['released', (ctx: EventContext) => this.links.onOutcome(ctx, 'released')],
      ['settled', () => {}],
    ];
    // The same handlers stay on the container: an event no link handles still reaches them.
    for (const [name, handler] of [...this.receiverEvents, ...this.senderEvents]) if (name !== 'settled') c.on(name, handler);
    c.on('disconnected', (ctx: EventContext) => this.onConnectionGone(ctx.connection, 'disconnected'));
    // rhea re-emits unhandled protocol errors on the container; an unhandled 'error' would throw.
    c.on('error', (error: unknown) => this.log.debug('amqp error', { error: errorText(error) }));
  }

  /** Starts the TLS listener; resolves with the bound address (port 0 picks a free one). */
  async start(): Promise<ListenInfo> {
    if (this.server !== null) throw new Error('AMQP server already started');
    const guard = this.options.guard;
    const server = createTlsServer({ cert: this.options.tls.cert, key: this.options.tls.key, requestCert: true, rejectUnauthorized: false, handshakeTimeout: this.limits.handshakeTimeoutMs });
    // Admission on the raw socket, before the TLS handshake: a refused one costs no handshake.
    if (guard !== undefined) server.prependListener('connection', (socket) => guard.admit(socket, 'amqps'));
    server.on('secureConnection', (socket: TLSSocket) => this.accept(socket, guard?.peerOf(socket)));
    server.on('tlsClientError', (error) => this.log.debug('TLS handshake failed', { error: error.message }));
    const info: ListenInfo = { protocol: 'amqps', host: this.options.host, port: this.options.port, setting: this.options.portSetting ?? 'amqp port' };
    const bound = await listenOn(server, info, (error) => this.log.error('listener error', { port: info.port, error: error.message }));
    this.server = server;
    this.log.debug('listening', { protocol: 'amqps', host: info.host, port: bound.port });
    return bound;
  }

  /**
   * Serves one already-established transport (a TLS socket, or a WebSocket stream) of the admitted
   * `peer`; `tls` is the TLS socket under a WebSocket stream (its client certificate counts).
   */
  accept(socket: Duplex, peer?: Peer, tls?: TLSSocket): void {
    if ('setNoDelay' in socket && typeof socket.setNoDelay === 'function') (socket as TLSSocket).setNoDelay(true);
    const connection = this.container.create_connection({
      // Link defaults: the core settles and grants credit itself.
      autoaccept: false,
      credit_window: 0,
      max_frame_size: this.maxFrameSize,
      ...(this.options.idleTimeoutMs !== undefined && this.options.idleTimeoutMs > 0 ? { idle_time_out: this.options.idleTimeoutMs } : {}),
    } as unknown as Parameters<typeof this.container.create_connection>[0]);
    coalesceWrites(socket);
    useExactFrameBuffers(connection, socket instanceof TLSSocket);
    const state = new ConnectionState(`amqp-${++this.nextConnection}`, connection, socket, peer);
    const tlsSocket = tls ?? (socket instanceof TLSSocket ? socket : undefined);
    const chain = tlsSocket === undefined ? undefined : this.options.peerChain?.(tlsSocket);
    if (chain !== undefined) state.clientCertificate = [...chain];
    this.connections.set(connection, state);
    socket.once('close', () => {
      this.onConnectionGone(connection, 'socket closed');
      // rhea listens for 'end' and 'error' only: a destroyed socket would leave its heartbeat timers running.
      (connection as unknown as { eof(): void }).eof();
    });
    (connection as unknown as { accept(socket: Duplex): void }).accept(socket);
    this.guardFrames(state);
  }

  /**
   * Puts the size limits between the socket and rhea: every frame's declared size is checked on
   * its header (`AmqpFrameGuard`) before rhea buffers the frame, and a delivery's transfers are
   * summed as they arrive (rhea collects a multi-frame delivery whole, with no limit). Before the
   * connection authenticates both are held to `preAuthPacketBytes`; after, frames to the advertised
   * `max-frame-size` and deliveries to `maxPacketBytes` (IoT Hub's message size plus headers).
   */
  private guardFrames(state: ConnectionState): void {
    const { socket, connection } = state;
    const frames = new AmqpFrameGuard(() => (state.authenticated ? this.maxFrameSize : this.limits.preAuthPacketBytes));
    // rhea reads with one 'data' listener (added by accept): feed it only bytes the guard passed.
    const input = socket.listeners('data').at(-1) as (chunk: Buffer) => void;
    socket.removeListener('data', input);
    socket.on('data', (chunk: Buffer) => {
      if (state.stopped) return;
      const violation = frames.feed(chunk);
      if (violation !== undefined) {
        this.frameViolation(state, violation);
        return;
      }
      this.reading = state;
      try {
        input(chunk);
      } finally {
        this.reading = undefined;
      }
    });
    // Transfers reach the connection's `on_transfer` (rhea dispatches each performative to the
    // connection's `on_<name>` method): sum each link's unfinished delivery there.
    const sizes = new Map<string, number>();
    const onTransfer = (connection as unknown as { on_transfer(frame: TransferFrame): void }).on_transfer;
    (connection as unknown as { on_transfer(frame: TransferFrame): void }).on_transfer = (frame: TransferFrame) => {
      if (state.stopped) return;
      const key = `${frame.channel}/${String(frame.performative.handle)}`;
      const size = (sizes.get(key) ?? 0) + (frame.payload?.length ?? 0);
      const limit = state.authenticated ? this.limits.maxPacketBytes : this.limits.preAuthPacketBytes;
      if (size > limit) {
        this.deliveryViolation(state, size, limit);
        return;
      }
      if (frame.performative.more === true && frame.performative.aborted !== true) sizes.set(key, size);
      else sizes.delete(key);
      // rhea decodes a standard-format (0) delivery itself; any other format it hands over as bytes:
      // have it hand these over too (`onMessage` decodes them).
      if (frame.performative.message_format === 0) frame.performative.message_format = UNDECODED_FORMAT;
      onTransfer.call(connection, frame);
    };
  }

  /** A frame declared over the limit: the socket is destroyed at once, before its bytes are read. */
  private frameViolation(state: ConnectionState, violation: AmqpFrameViolation): void {
    state.stopped = true;
    this.limitBroken(state, violation.reason, { ...violation });
    state.socket.destroy();
  }

  /** A delivery grew over the limit: nothing more is read; the client gets a close frame naming the condition, then the socket ends. */
  private deliveryViolation(state: ConnectionState, size: number, limit: number): void {
    state.stopped = true;
    this.limitBroken(state, 'delivery-too-large', { size, limit });
    try {
      state.connection.close({ condition: AmqpCondition.messageSize, description: `a delivery is larger than ${limit} bytes` });
    } catch {
      // the socket is gone
    }
    setTimeout(() => state.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  private limitBroken(state: ConnectionState, reason: string, fields: Record<string, unknown>): void {
    const detail = { connection: state.id, authenticated: state.authenticated, ...fields };
    if (state.peer !== undefined && this.options.guard !== undefined) this.options.guard.violation(state.peer, reason, detail);
    else this.log.warn('connection refused by limits', { reason, ...detail });
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

  private onConnectionOpen(ctx: EventContext): void {
    const state = this.connections.get(ctx.connection);
    if (state === undefined) return;
    const plain = saslMechanism(ctx.connection);
    if (plain?.result !== undefined) this.auth.authenticated(state, plain.result.identity, plain.result.expiresAtMs, 'sasl-plain');
  }

  private onConnectionGone(connection: Connection, why: string): void {
    const state = this.connections.get(connection);
    if (state === undefined || state.closed) return;
    state.closed = true;
    this.connections.delete(connection);
    for (const link of [...state.links]) this.links.linkGone(link, `connection ${why}`);
    this.auth.connectionGone(state, why);
    if (why !== 'server stopped' && !connection.is_closed()) {
      try {
        connection.close();
      } catch {
        // the socket is gone
      }
    }
  }

  private onLinkOpen(connection: Connection, link: Parameters<AmqpLinks['onLinkOpen']>[1]): void {
    // rhea passes a link's events up link -> session -> connection -> container, copying the
    // listener list and logging at every level: the per-delivery ones stop at the link (the same
    // handlers as the container's; 'settled' has none).
    const events = link.is_receiver() ? this.receiverEvents : this.senderEvents;
    if (link.listenerCount('settled') === 0) for (const [name, handler] of events) link.on(name, handler); // once per link
    const state = this.connections.get(connection);
    if (state !== undefined) this.links.onLinkOpen(state, link);
  }

  private onMessage(ctx: EventContext): void {
    const link = this.links.get(ctx.receiver);
    const delivery = ctx.delivery;
    let message = ctx.message;
    const format = (ctx as { format?: number | null }).format;
    // A standard-format message the transfer hook left undecoded (`guardFrames`): telemetry goes
    // through the head's own decoder when it can, everything else through rhea's, here as rhea
    // would have (its errors reach rhea's connection the same way).
    let decoded: Message | undefined;
    if (format === UNDECODED_FORMAT) {
      const bytes = message as unknown as Buffer;
      if (link?.role === 'telemetry' && Buffer.isBuffer(bytes)) decoded = decodeTelemetry(bytes);
      if (decoded === undefined) message = rhea.message.decode(bytes) as unknown as typeof message;
    }
    if (link === undefined || delivery === undefined || (message === undefined && decoded === undefined)) return;
    const state = this.connections.get(ctx.connection);
    if (state === undefined) return;
    link.inFlight++;
    switch (link.role) {
      case 'cbs-in':
        void this.auth.onPutToken(state, link, delivery, message!);
        return;
      case 'telemetry':
        if (decoded !== undefined) void this.inbound.onDecodedTelemetry(link, delivery, decoded);
        else if (format === BATCHED_MESSAGE_FORMAT) void this.inbound.onTelemetryBatch(link, delivery, message as unknown as Buffer);
        else void this.inbound.onTelemetry(link, delivery, message!);
        return;
      case 'twin-in':
        void this.inbound.onTwinRequest(link, delivery, message!);
        return;
      case 'methods-in':
        this.inbound.onMethodResponse(link, delivery, message!);
        return;
      default:
        this.links.settle(link, delivery, { condition: AmqpCondition.notAllowed, description: 'this link does not accept messages' });
    }
  }
}

/** The parts of a rhea transfer frame the delivery size limit reads. */
interface TransferFrame {
  readonly channel: number;
  readonly performative: { readonly handle?: number; readonly more?: boolean; readonly aborted?: boolean; message_format?: number | null };
  readonly payload?: Buffer;
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
