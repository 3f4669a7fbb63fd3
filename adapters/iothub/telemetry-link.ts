import rhea, { type Delivery, type EventContext, type Sender } from 'rhea';
import { DeliveryError, type DeliveryResult } from '../../application/ports/endpoint-delivery.js';
import type { Message } from '../../domain/messages/message.js';
import { encodeEvent, encodeTransfers } from './amqp-mapping.js';
import { conditionText, errorText, isUnauthorized, whenOpen } from './amqp-links.js';
import type { CloudIdentity } from './cloud-identities.js';
import { LinkHandler } from './link-handler.js';

interface Settlement {
  resolve: () => void;
  reject: (error: DeliveryError) => void;
}

interface EventsState {
  sender?: Sender;
  open?: Promise<void>;
  /** The identity's send in progress: resolves with whether it delivered everything. */
  sending?: Promise<boolean>;
}

/**
 * Device-to-cloud telemetry (edgeHub's events link handler): one `/messages/events` sender per
 * identity on the shared connection, opened on first use, credit-aware, each transfer settled by
 * the cloud's disposition.
 */
export class TelemetryLink extends LinkHandler<EventsState> {
  private readonly settlements = new WeakMap<Delivery, Settlement>();
  /** Unsettled sends per sender, failed together when the link or connection goes. */
  private readonly unsettled = new WeakMap<Sender, Set<Settlement>>();
  private readonly creditWaits = new WeakMap<Sender, Promise<void>>();

  /**
   * Sends `messages` as `cloud`'s identity, in order, and resolves with how many the cloud accepted.
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
  async send(cloud: CloudIdentity, messages: readonly Message[]): Promise<DeliveryResult> {
    const state = this.states.of(cloud);
    const previous = state.sending;
    let finished!: (complete: boolean) => void;
    const mine = new Promise<boolean>((resolve) => (finished = resolve));
    state.sending = mine;
    let complete = false;
    try {
      if (previous !== undefined && !(await previous)) return { delivered: 0, error: new DeliveryError(`not sent: an earlier send of ${cloud.key} was not accepted`, true) };
      const result = await this.sendInOrder(cloud, messages);
      complete = result.delivered >= messages.length;
      return result;
    } finally {
      finished(complete);
      if (state.sending === mine) delete state.sending;
    }
  }

  /** Fails every unsettled send (transient: they go again after the reconnect) and forgets the links. */
  override connectionLost(failure: Error): void {
    for (const state of this.states.values()) {
      if (state.sender !== undefined) this.failUnsettled(state.sender, 'IoT Hub connection lost before the message was settled');
    }
    super.connectionLost(failure);
  }

  /** The sender only: a send in progress (`sending`) outlives its link. */
  protected detach(state: EventsState): Array<Sender | undefined> {
    const sender = state.sender;
    delete state.sender;
    delete state.open;
    return [sender];
  }

  private async sendInOrder(cloud: CloudIdentity, messages: readonly Message[]): Promise<DeliveryResult> {
    let sender: Sender;
    try {
      sender = await this.sender(cloud);
    } catch (error) {
      // Authentication or link refusals are retried (the token is put again): messages wait in the
      // store until their TTL rather than being dropped for what may be a passing registry state.
      this.context.authenticator.invalidate(cloud);
      return { delivered: 0, error: new DeliveryError(`IoT Hub telemetry link for ${cloud.key} not available: ${errorText(error)}`, true, { cause: error }) };
    }
    const to = `${cloud.prefix}/messages/events`;
    for (const { payload, format, start, end } of encodeTransfers(messages, to)) {
      const error = await this.transfer(sender, payload, format);
      if (error !== undefined && end - start > 1 && !error.transient) {
        // Which message the cloud refuses is unknown: each on its own transfer, in order.
        const each = await this.sendEach(sender, messages.slice(start, end).map((message) => encodeEvent(message, to)));
        if (each.delivered < end - start) return { delivered: start + each.delivered, error: each.error };
      } else if (error !== undefined) return { delivered: start, error };
    }
    return { delivered: messages.length };
  }

  /** `cloud`'s open telemetry sender, attached (after its token) on first use. */
  private async sender(cloud: CloudIdentity): Promise<Sender> {
    const connection = await this.attachFor(cloud);
    const state = this.states.of(cloud);
    if (state.sender === undefined) {
      const sender = connection.open_sender({ target: { address: `${cloud.prefix}/messages/events` }, name: `events-${cloud.key}-${rhea.generate_uuid()}`, autosettle: true });
      this.onDispositions(sender);
      sender.on('sender_close', (context: EventContext) => {
        if (state.sender === sender) this.detach(state);
        const condition = context.sender?.error;
        if (condition !== undefined) this.context.log.debug('IoT Hub closed a telemetry link', { identity: cloud.key, error: conditionText(condition) });
        // Detached for an expired or refused token: put a token again before the next link.
        if (isUnauthorized(condition)) this.context.authenticator.invalidate(cloud);
        this.failUnsettled(sender, 'IoT Hub closed the telemetry link before the message was settled');
      });
      state.sender = sender;
      state.open = whenOpen(sender);
      // Awaited below by this call; later calls await it too. Logged here so a refusal is seen once.
      state.open.catch((error: unknown) => this.context.log.debug('telemetry link not opened', { identity: cloud.key, error: errorText(error) }));
    }
    const sender = state.sender;
    await state.open;
    return sender;
  }

  private onDispositions(sender: Sender): void {
    sender.on('accepted', (context: EventContext) => this.settle(context, undefined));
    sender.on('rejected', (context: EventContext) => this.settle(context, new DeliveryError(`IoT Hub rejected the message: ${JSON.stringify((context.delivery?.remote_state as { error?: unknown } | undefined)?.error ?? '')}`, false)));
    sender.on('released', (context: EventContext) => this.settle(context, new DeliveryError('IoT Hub released the message', true)));
    sender.on('modified', (context: EventContext) => this.settle(context, new DeliveryError('IoT Hub did not take the message (modified)', true)));
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

  /** Fails the sends still waiting for a disposition on `sender` (transient: they go again). */
  private failUnsettled(sender: Sender, reason: string): void {
    const pending = this.unsettled.get(sender);
    if (pending === undefined) return;
    this.unsettled.delete(sender);
    for (const settlement of pending) settlement.reject(new DeliveryError(reason, true));
  }
}
