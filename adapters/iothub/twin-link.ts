import rhea, { type EventContext, type Message as AmqpMessage, type Receiver, type Sender } from 'rhea';
import { UpstreamError } from '../../application/ports/upstream.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../../domain/twins/json.js';
import { twinFromResponseBody, type TwinDocument } from '../../domain/twins/twin-document.js';
import { bodyBytes, idText } from './amqp-mapping.js';
import { errorText, whenOpen } from './amqp-links.js';
import type { CloudIdentity } from './cloud-identities.js';
import { API_VERSION } from './iothub-options.js';
import { LinkHandler, type LinkContext } from './link-handler.js';
import { PendingReplies } from './pending-replies.js';

const decoder = new TextDecoder();

interface TwinState {
  sender?: Sender;
  receiver?: Receiver;
  ready?: Promise<void>;
}

/** A twin operation's answer: IoT Hub's status and the parsed body (text when it is not JSON). */
export interface TwinReply {
  readonly status: number;
  readonly body: unknown;
}

/** A body as JSON when it parses, else as the text itself (undefined when empty). */
function parseLenient(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Twins (edgeHub's twin link handlers): one `/twin` sender/receiver pair per identity, attached on
 * first use. Requests (GET, PATCH reported, PUT/DELETE desired notifications) are matched to their
 * replies by correlation id; a message without one is a desired-properties patch for the identity.
 */
export class TwinLink extends LinkHandler<TwinState> {
  private readonly replies: PendingReplies<AmqpMessage>;

  constructor(context: LinkContext) {
    super(context);
    this.replies = new PendingReplies(context.clock);
  }

  async getTwin(cloud: CloudIdentity): Promise<TwinDocument> {
    const reply = await this.request(cloud, 'GET', undefined, undefined);
    try {
      return twinFromResponseBody(reply.body);
    } catch (error) {
      throw new UpstreamError(`IoT Hub sent an unreadable twin: ${errorText(error)}`, false);
    }
  }

  async updateReported(cloud: CloudIdentity, patch: JsonObject): Promise<void> {
    await this.request(cloud, 'PATCH', '/properties/reported', patch);
  }

  /** Asks the cloud to push `cloud`'s desired-property patches. */
  async subscribeDesired(cloud: CloudIdentity): Promise<void> {
    await this.request(cloud, 'PUT', '/notifications/twin/properties/desired', undefined);
  }

  /** Stops the pushes when the twin links are open (best effort: closing the links stops them too). */
  async unsubscribeDesired(cloud: CloudIdentity): Promise<void> {
    if (this.states.of(cloud).sender === undefined) return;
    await this.request(cloud, 'DELETE', '/notifications/twin/properties/desired', undefined).catch((error: unknown) => {
      this.context.log.debug('desired notifications not cancelled', { identity: cloud.key, error: errorText(error) });
    });
  }

  /** Fails the requests waiting for replies and forgets the links of the lost connection. */
  override connectionLost(failure: Error): void {
    this.replies.failAll(failure);
    super.connectionLost(failure);
  }

  protected detach(state: TwinState): Array<Sender | Receiver | undefined> {
    const { sender, receiver } = state;
    delete state.sender;
    delete state.receiver;
    delete state.ready;
    return [receiver, sender];
  }

  /** One twin operation; rejects with `UpstreamError` (transient when not connected, timed out, throttled or 5xx). */
  async request(cloud: CloudIdentity, operation: string, resource: string | undefined, body: JsonValue | undefined): Promise<TwinReply> {
    if (!this.context.connection.isConnected()) throw new UpstreamError('not connected to IoT Hub', true);
    await this.links(cloud);
    const id = rhea.generate_uuid();
    const answer = this.replies.wait(id, this.context.operationTimeoutMs, () => new UpstreamError(`IoT Hub did not answer the twin ${operation} in time`, true));
    const annotations: Record<string, string> = { operation };
    if (resource !== undefined) annotations['resource'] = resource;
    this.states.of(cloud).sender!.send({ correlation_id: id, message_annotations: annotations, body: rhea.message.data_section(Buffer.from(body === undefined ? ' ' : JSON.stringify(body))) });
    const reply = await answer;
    const status = Number((reply.message_annotations as Record<string, unknown> | undefined)?.['status'] ?? 200);
    const text = decoder.decode(bodyBytes(reply)).trim();
    if (status < 200 || status >= 300) throw new UpstreamError(`IoT Hub answered the twin ${operation} with ${status}: ${text}`, status === 429 || status >= 500, status);
    return { status, body: parseLenient(text) };
  }

  /** Attaches `cloud`'s twin links now (an X.509 edge device's connection set-up: its certificate is checked on the first attach). */
  attach(cloud: CloudIdentity): Promise<void> {
    return this.links(cloud);
  }

  /** `cloud`'s twin sender and receiver, attached (after its token) on first use. */
  private links(cloud: CloudIdentity): Promise<void> {
    const state = this.states.of(cloud);
    state.ready ??= (async () => {
      const connection = await this.attachFor(cloud);
      const address = `${cloud.prefix}/twin`;
      const properties = { 'com.microsoft:channel-correlation-id': `twin:${rhea.generate_uuid()}`, 'com.microsoft:api-version': API_VERSION };
      const sender = connection.open_sender({ target: { address }, name: `twin-s-${cloud.key}-${rhea.generate_uuid()}`, properties, snd_settle_mode: 1, rcv_settle_mode: 0 });
      const receiver = connection.open_receiver({ source: { address }, name: `twin-r-${cloud.key}-${rhea.generate_uuid()}`, properties, autoaccept: true, rcv_settle_mode: 0 });
      receiver.on('message', (context: EventContext) => this.onMessage(cloud, context.message!));
      const forget = (): void => {
        if (state.sender === sender) this.detach(state);
      };
      sender.on('sender_close', forget);
      receiver.on('receiver_close', forget);
      state.sender = sender;
      state.receiver = receiver;
      await Promise.all([whenOpen(sender), whenOpen(receiver)]);
    })();
    const ready = state.ready;
    ready.catch((error: unknown) => {
      if (state.ready === ready) delete state.ready;
      this.context.log.debug('twin links not opened', { identity: cloud.key, error: errorText(error) });
    });
    return ready;
  }

  private onMessage(cloud: CloudIdentity, message: AmqpMessage): void {
    const id = idText(message.correlation_id);
    if (id !== undefined) {
      if (!this.replies.settle(id, message)) this.context.log.debug('twin reply for no pending request (late or unknown); ignored', { identity: cloud.key, correlationId: id });
      return;
    }
    this.onDesiredPatch(cloud, message);
  }

  /** A message without a correlation id: a desired-properties patch, `$version` from its annotations. */
  private onDesiredPatch(cloud: CloudIdentity, message: AmqpMessage): void {
    const log = this.context.log;
    let patch: unknown;
    try {
      patch = JSON.parse(decoder.decode(bodyBytes(message)));
    } catch {
      log.warn('desired patch from IoT Hub is not JSON; ignored', { identity: cloud.key });
      return;
    }
    if (!isJsonObject(patch)) {
      log.warn('desired patch from IoT Hub is not a JSON object; ignored', { identity: cloud.key, type: Array.isArray(patch) ? 'array' : patch === null ? 'null' : typeof patch });
      return;
    }
    const version = (message.message_annotations as Record<string, unknown> | undefined)?.['version'];
    if (patch['$version'] === undefined && typeof version === 'number') patch['$version'] = version;
    const handlers = this.context.handlers();
    if (handlers === undefined) {
      log.debug('desired patch before start; ignored', { identity: cloud.key });
      return;
    }
    void handlers.desiredPatch(cloud.identity, patch).catch((error: unknown) => log.warn('desired patch not applied', { identity: cloud.key, error: errorText(error) }));
  }
}
