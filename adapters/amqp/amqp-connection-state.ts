import rhea, { type Connection, type Delivery, type Message as AmqpMessage, type Receiver, type Sender } from 'rhea';
import type { Duplex } from 'node:stream';
import { type Identity, formatIdentity } from '../../domain/identity/identity.js';
import type { Message } from '../../domain/messages/message.js';
import type { JsonObject } from '../../domain/twins/json.js';
import type { Peer } from '../../application/hub/connection-guard.js';
import type { ClientFeature } from '../../application/ports/client-channel.js';
import { DeliveryError } from '../../application/ports/endpoint-delivery.js';
import { type AmqpClient, AmqpCondition } from './amqp-backend.js';
import { encodeAmqpMessage, intOrLong, jsonSection, wireId } from './amqp-message.js';

/**
 * What the AMQP server core keeps per connection, per authenticated identity and per link. The
 * state is plain bookkeeping; what happens on the wire is in `AmqpLinks` (attach, credit, sends,
 * settlement), `AmqpAuthentication` (SASL PLAIN, CBS) and `AmqpInbound` (telemetry, twin, methods).
 */

export type LinkRole = 'cbs-in' | 'cbs-out' | 'telemetry' | 'inputs' | 'c2d' | 'twin-in' | 'twin-out' | 'methods-in' | 'methods-out';

/** The client feature a link role provides while it is attached (receiver links of the client). */
export const FEATURE_OF_ROLE: Partial<Record<LinkRole, ClientFeature>> = {
  inputs: 'inputs',
  c2d: 'c2d',
  'methods-out': 'methods',
  'twin-out': 'twin-responses',
};

export interface Pending {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** A message to send: rhea encodes an `AmqpMessage`; a `Buffer` is already encoded (format 0). */
export type Outgoing = AmqpMessage | Buffer;

export interface Outbound {
  readonly message: Outgoing;
  readonly pending?: Pending;
}

/** What a `ClientState` needs from the server core: sending on a link and forgetting the client. */
export interface ClientHost {
  send(link: LinkState, message: Outgoing, pending?: Pending): void;
  dropClient(client: ClientState, reason: string, condition: string): void;
}

/** State the core keeps per link it accepted. */
export class LinkState {
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
export class ConnectionState {
  readonly clients = new Map<string, ClientState>();
  readonly links = new Set<LinkState>();
  /** CBS replies waiting for the client's `$cbs` receiver link. */
  readonly cbsBacklog: AmqpMessage[] = [];
  closed = false;
  /** Some identity authenticated on it once (SASL PLAIN or CBS): its frames may then be as large as `max-frame-size`. */
  authenticated = false;
  /** Set when a limit was broken: nothing more it sends reaches rhea. */
  stopped = false;
  /** The client certificate chain of the TLS handshake (DER, leaf first), if the client sent one. */
  clientCertificate: Uint8Array[] | undefined;
  /** Certificate authentications in progress or done, by identity (links attaching together share one). */
  readonly certificateLogins = new Map<string, Promise<boolean>>();

  constructor(
    readonly id: string,
    readonly connection: Connection,
    readonly socket: Duplex,
    /** The admitted connection (`ConnectionGuard`), absent for a server without a guard. */
    readonly peer: Peer | undefined,
  ) {}

  cbsSender(): LinkState | undefined {
    for (const l of this.links) if (l.role === 'cbs-out' && !l.closed) return l;
    return undefined;
  }
}

/** An authenticated identity on one connection: what the backend sees as `AmqpClient`. */
export class ClientState implements AmqpClient {
  readonly links = new Set<LinkState>();
  desiredEnabled = false;
  expiryTimer: NodeJS.Timeout | undefined;
  gone = false;
  certificateChain: readonly Uint8Array[] | undefined;

  constructor(
    readonly identity: Identity,
    readonly conn: ConnectionState,
    private readonly host: ClientHost,
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
    this.host.send(link, { message_annotations: { version: intOrLong(version) }, body: jsonSection(patch) });
  }

  sendMethodRequest(methodName: string, requestId: string, payload: Uint8Array): void {
    const link = this.sender('methods-out');
    if (link === undefined) throw new Error(`${formatIdentity(this.identity)} has no method link open`);
    this.host.send(link, {
      correlation_id: wireId(requestId),
      application_properties: { 'IoThub-methodname': methodName },
      body: rhea.message.data_section(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)),
    });
  }

  close(reason: string, condition: string = AmqpCondition.unauthorized): void {
    this.host.dropClient(this, reason, condition);
  }

  private deliver(role: 'c2d' | 'inputs', message: Buffer): Promise<void> {
    const link = this.gone ? undefined : this.sender(role);
    if (link === undefined) {
      const what = role === 'c2d' ? 'cloud-to-device' : 'input';
      return Promise.reject(new DeliveryError(`${formatIdentity(this.identity)} has no ${what} link open`, true));
    }
    return new Promise<void>((resolve, reject) => this.host.send(link, message, { resolve, reject }));
  }
}
