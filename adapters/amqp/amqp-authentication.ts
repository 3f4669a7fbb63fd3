import rhea, { type Delivery, type Message as AmqpMessage } from 'rhea';
import { type Identity, formatIdentity } from '../../domain/identity/identity.js';
import type { Logger } from '../../application/ports/logger.js';
import { type AmqpBackend, AmqpCondition } from './amqp-backend.js';
import { type ClientHost, ClientState, type ConnectionState, type LinkState, type Outgoing, type Pending } from './amqp-connection-state.js';
import { errorText } from './amqp-diagnostics.js';
import type { AmqpLinks } from './amqp-links.js';
import { bodyBytes } from './amqp-message.js';
import { parseAudience, parseSaslPlainUser } from './link-address.js';

const MAX_TIMER_MS = 2_147_483_647;

/**
 * Who is authenticated on each AMQP connection: SASL PLAIN (`<device>[/modules/<module>]@sas.<hub>`
 * with the SAS token as password) and the CBS `$cbs` node (put-token, numeric `status-code`,
 * renewal on the same links), each identity's token expiry (expiry detaches its links) and
 * dropping an identity. Tokens are checked by the backend and never logged.
 */
export class AmqpAuthentication implements ClientHost {
  constructor(
    private readonly backend: AmqpBackend,
    private readonly links: AmqpLinks,
    private readonly log: Logger,
  ) {}

  send(link: LinkState, message: Outgoing, pending?: Pending): void {
    this.links.send(link, message, pending);
  }

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

  async onPutToken(state: ConnectionState, link: LinkState, delivery: Delivery, message: AmqpMessage): Promise<void> {
    const props = (message.application_properties ?? {}) as Record<string, unknown>;
    const reply = (status: number, description: string): void => {
      const response = {
        to: typeof message.reply_to === 'string' ? message.reply_to : undefined,
        application_properties: { 'status-code': rhea.types.wrap_int(status), 'status-description': description },
      } as unknown as AmqpMessage;
      if (message.message_id !== undefined) response.correlation_id = message.message_id;
      const sender = state.cbsSender();
      if (sender === undefined) state.cbsBacklog.push(response);
      else this.links.send(sender, response);
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
      this.links.settle(link, delivery);
    }
  }

  /** Records a successful authentication of `identity` on `state` (new, or a renewal). */
  authenticated(state: ConnectionState, identity: Identity, expiresAtMs: number, via: string): void {
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
      this.links.closeLink(link, { condition, description: `${formatIdentity(client.identity)}: ${reason}` }, reason);
    }
    this.log.info('client disconnected', { connection: conn.id, identity: formatIdentity(client.identity), reason });
    this.backend.clientDisconnected(client, reason);
  }

  /** The connection ended: every identity on it is gone (no links to detach any more). */
  connectionGone(state: ConnectionState, why: string): void {
    for (const client of [...state.clients.values()]) {
      client.gone = true;
      if (client.expiryTimer !== undefined) clearTimeout(client.expiryTimer);
      this.log.info('client disconnected', { connection: state.id, identity: formatIdentity(client.identity), reason: why });
      this.backend.clientDisconnected(client, why);
    }
    state.clients.clear();
  }
}
