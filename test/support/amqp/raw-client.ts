import rhea, { type Connection, type ConnectionOptions, type EventContext, type Message, type Receiver, type Sender } from 'rhea';
import { sdkEncodeUriComponentStrict, sdkSharedAccessSignatureCreate } from '../identity/sdk-sas-token.js';

/**
 * A plain rhea AMQP client for protocol-level tests of the hub's AMQP head (what the SDK never
 * does on purpose: SASL PLAIN, foreign links, short-lived tokens, explicit dispositions).
 */

/** A SAS token for `<hub>/devices/<d>[/modules/<m>]`, valid `seconds` from now, and its CBS audience. */
export function sasFor(hub: string, id: string, key: string, seconds = 3600): { token: string; audience: string } {
  const [deviceId, moduleId] = id.split('/');
  const resource = moduleId === undefined ? `${hub}/devices/${deviceId}` : `${hub}/devices/${deviceId}/modules/${moduleId}`;
  const audience = sdkEncodeUriComponentStrict(resource);
  return { token: sdkSharedAccessSignatureCreate(audience, null, key, Math.floor(Date.now() / 1000) + seconds), audience };
}

/** Opens a TLS connection to the hub (no SASL unless `options` sets a user name and password). */
export async function connectRaw(port: number, ca: string, options: Partial<ConnectionOptions> = {}): Promise<Connection> {
  const container = rhea.create_container();
  const connection = container.connect({ host: 'localhost', port, transport: 'tls', ca, servername: 'localhost', reconnect: false, ...options } as ConnectionOptions);
  return await new Promise<Connection>((resolve, reject) => {
    connection.once('connection_open', () => resolve(connection));
    connection.once('connection_error', (ctx: EventContext) => reject(new Error(`connection error: ${JSON.stringify(ctx.connection.error)}`)));
    connection.once('disconnected', (ctx: EventContext) => reject(new Error(`disconnected: ${String((ctx as { error?: unknown }).error ?? 'no error')}`)));
  });
}

export interface LinkOutcome<L> {
  readonly link: L;
  /** Undefined when the hub accepted the link; the detach condition when it refused it. */
  readonly refused?: string;
  /** Resolves with the condition when the hub detaches the link later. */
  readonly detached: Promise<string | undefined>;
}

function outcomeOf<L extends Sender | Receiver>(link: L, kind: 'sender' | 'receiver'): Promise<LinkOutcome<L>> {
  let detach!: (condition: string | undefined) => void;
  const detached = new Promise<string | undefined>((resolve) => (detach = resolve));
  return new Promise((resolve) => {
    let opened = false;
    link.on(`${kind}_open`, () => {
      // A refusal is an attach followed at once by a detach: give the detach a moment.
      setTimeout(() => {
        if (!opened) {
          opened = true;
          resolve({ link, detached });
        }
      }, 100);
    });
    link.on(`${kind}_error`, () => undefined);
    link.on(`${kind}_close`, (ctx: EventContext) => {
      const condition = (ctx[kind]?.error as { condition?: string } | undefined)?.condition;
      detach(condition);
      if (!opened) {
        opened = true;
        resolve({ link, refused: condition ?? 'none', detached });
      }
    });
  });
}

/** Attaches a sender (client -> hub) to `address`. */
export function attachSender(connection: Connection, address: string, options: Record<string, unknown> = {}): Promise<LinkOutcome<Sender>> {
  return outcomeOf(connection.open_sender({ target: { address }, ...options }), 'sender');
}

/**
 * Attaches a receiver (hub -> client) on `address`; messages are not settled automatically.
 * `onMessage` is registered before the attach, so nothing sent right after it is missed.
 */
export function attachReceiver(connection: Connection, address: string, options: Record<string, unknown> = {}, onMessage?: (ctx: EventContext) => void): Promise<LinkOutcome<Receiver>> {
  const receiver = connection.open_receiver({ source: { address }, autoaccept: false, ...options });
  if (onMessage !== undefined) receiver.on('message', onMessage);
  return outcomeOf(receiver, 'receiver');
}

const outcomes = new WeakMap<Sender, Map<unknown, (outcome: string) => void>>();

function settled(sender: Sender): Map<unknown, (outcome: string) => void> {
  let waiting = outcomes.get(sender);
  if (waiting === undefined) {
    const map = new Map<unknown, (outcome: string) => void>();
    const on = (outcome: string) => (ctx: EventContext): void => {
      const condition = (ctx.delivery?.remote_state as { error?: { condition?: string } } | undefined)?.error?.condition;
      map.get(ctx.delivery)?.(condition === undefined ? outcome : `${outcome}:${condition}`);
      map.delete(ctx.delivery);
    };
    sender.on('accepted', on('accepted'));
    sender.on('rejected', on('rejected'));
    sender.on('released', on('released'));
    outcomes.set(sender, map);
    waiting = map;
  }
  return waiting;
}

/** Sends `message` (waiting for credit) and resolves with the hub's outcome (`accepted`, `rejected:<condition>`, `released`). */
export function sendAndSettle(sender: Sender, message: Message): Promise<string> {
  const waiting = settled(sender);
  return new Promise((resolve) => {
    const run = (): void => {
      if (!sender.sendable()) {
        sender.once('sendable', run);
        return;
      }
      waiting.set(sender.send(message), resolve);
    };
    run();
  });
}

export interface CbsReply {
  readonly status: unknown;
  readonly description: unknown;
  /** Whether `correlation_id` echoed the request's `message_id`. */
  readonly correlated: boolean;
}

/** The client side of the `$cbs` node as the SDK uses it (iot-sdk-protocol.md §3.2): one link pair, many put-tokens. */
export async function openCbs(connection: Connection): Promise<{ put(audience: string, token: string): Promise<CbsReply> }> {
  const sender = (await attachSender(connection, '$cbs')).link;
  const receiver = (await attachReceiver(connection, '$cbs', { autoaccept: true })).link;
  const waiting = new Map<string, (reply: CbsReply) => void>();
  receiver.on('message', (ctx: EventContext) => {
    const props = (ctx.message?.application_properties ?? {}) as Record<string, unknown>;
    const id = String(ctx.message?.correlation_id);
    waiting.get(id)?.({ status: props['status-code'], description: props['status-description'], correlated: true });
    waiting.delete(id);
  });
  return {
    put(audience, token) {
      const messageId = rhea.generate_uuid();
      return new Promise<CbsReply>((resolve) => {
        waiting.set(messageId, resolve);
        const send = (): void => {
          sender.send({
            to: '$cbs',
            reply_to: 'cbs',
            message_id: messageId,
            application_properties: { operation: 'put-token', type: 'servicebus.windows.net:sastoken', name: audience },
            body: token,
          });
        };
        if (sender.sendable()) send();
        else sender.once('sendable', send);
      });
    },
  };
}

/** One put-token on fresh `$cbs` links. */
export async function putToken(connection: Connection, audience: string, token: string): Promise<CbsReply> {
  return await (await openCbs(connection)).put(audience, token);
}

export async function closeRaw(connection: Connection): Promise<void> {
  if (connection.is_closed()) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 1000);
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
