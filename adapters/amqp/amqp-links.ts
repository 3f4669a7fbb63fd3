import type { AmqpError, Delivery, EventContext, Receiver, Sender } from 'rhea';
import { type ClientOperation, authorize, describeDenial } from '../../domain/identity/authorization.js';
import { type Identity, formatIdentity } from '../../domain/identity/identity.js';
import { DeliveryError } from '../../application/ports/endpoint-delivery.js';
import type { Logger } from '../../application/ports/logger.js';
import { type AmqpBackend, AmqpCondition } from './amqp-backend.js';
import { type ConnectionState, FEATURE_OF_ROLE, type LinkRole, LinkState, type Outgoing, type Pending } from './amqp-connection-state.js';
import { describeError } from './amqp-diagnostics.js';
import { type LinkAddress, LinkAddressError, parseLinkAddress } from './link-address.js';

const CHANNEL_CORRELATION = 'com.microsoft:channel-correlation-id';

/**
 * The links of the AMQP server core: attach (address parsing, per-identity authorization, the
 * client's settle mode and channel correlation), detach, credit (the core grants `creditWindow`
 * per receiving link and tops it up as deliveries settle), sends waiting for credit and the
 * client's outcomes of what we sent.
 */
export class AmqpLinks {
  private readonly links = new Map<Sender | Receiver, LinkState>();

  /** X.509: authenticates an identity with the connection's client certificate (set by the server core). */
  certificateLogin: ((state: ConnectionState, identity: Identity) => Promise<boolean>) | undefined;

  constructor(
    private readonly backend: AmqpBackend,
    private readonly log: Logger,
    private readonly creditWindow: number,
  ) {}

  get(link: Sender | Receiver | undefined): LinkState | undefined {
    return link === undefined ? undefined : this.links.get(link);
  }

  // Attach and detach ------------------------------------------------------------------------

  onLinkOpen(state: ConnectionState, link: Sender | Receiver): void {
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
    if ((client === undefined || client.gone) && state.clientCertificate !== undefined && this.certificateLogin !== undefined) {
      this.attachWithCertificate(state, link, parsed.identity);
      return;
    }
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

  /**
   * The first link of an identity on a connection with a client certificate and no token: the
   * attach is answered once the certificate was checked (X.509 clients send no CBS token), then
   * the link is opened as usual, or refused with `amqp:unauthorized-access`.
   */
  private attachWithCertificate(state: ConnectionState, link: Sender | Receiver, identity: Identity): void {
    holdAttach(link);
    void this.certificateLogin!(state, identity).then(
      (ok) => {
        if (state.closed) return;
        if (ok) {
          link.open();
          this.onLinkOpen(state, link);
          return;
        }
        // AMQP 1.0 §2.6.3: a refused attach is answered with a null terminus, then detached (as IoT Hub does).
        const local = (link as unknown as { local: { attach: { source?: unknown; target?: unknown } } }).local.attach;
        if (link.is_sender()) local.source = null;
        else local.target = null;
        link.open();
        this.refuse(state, link, AmqpCondition.unauthorized, `${formatIdentity(identity)}: the client certificate is not accepted for this identity`);
      },
      (error: unknown) => this.log.error('certificate check failed', { connection: state.id, error: error instanceof Error ? error.message : String(error) }),
    );
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

  onLinkClosed(link: Sender | Receiver): void {
    const state = this.links.get(link);
    if (state === undefined) return;
    this.linkGone(state, 'link detached');
    if (state.client !== undefined && FEATURE_OF_ROLE[state.role] !== undefined && !state.client.gone) this.backend.clientChanged(state.client);
    if (state.role === 'twin-out' && state.client !== undefined && state.client.sender('twin-out') === undefined) state.client.desiredEnabled = false;
  }

  closeLink(state: LinkState, error: AmqpError, why: string): void {
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
  linkGone(state: LinkState, why: string): void {
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

  flush(link: LinkState | undefined): void {
    if (link === undefined || link.closed) return;
    const sender = link.link as Sender;
    while (link.queue.length > 0 && sender.sendable()) {
      const next = link.queue.shift()!;
      this.transmit(link, next.message, next.pending);
    }
  }

  onOutcome(ctx: EventContext, outcome: 'accepted' | 'rejected' | 'released'): void {
    const link = this.get(ctx.sender);
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
    const detail = condition === undefined ? '' : `: ${describeError(condition)}`;
    pending.reject(
      outcome === 'rejected'
        ? new DeliveryError(`${who} rejected the message${detail}`, false)
        : new DeliveryError(`${who} released (abandoned) the message${detail}`, true),
    );
  }

  // Receiving -------------------------------------------------------------------------------

  /** Settles a received delivery (accepted when `error` is undefined) and tops up the link's credit. */
  settle(link: LinkState, delivery: Delivery, error?: AmqpError): void {
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
}

function linkAddress(link: Sender | Receiver): string | undefined {
  return link.is_sender() ? link.source?.address : link.target?.address;
}

/**
 * rhea answers an incoming attach on its own (`on_attach` opens the link, the attach frame leaves
 * on the next tick): take the pending local open back so nothing is sent until `link.open()`.
 * `state` is rhea's EndpointState (`local_open`, `open_requests`); the X.509 tests catch a change.
 */
function holdAttach(link: Sender | Receiver): void {
  const state = (link as unknown as { state: { local_open: boolean; open_requests: number } }).state;
  state.local_open = false;
  state.open_requests = 0;
}
