import rhea, { type Delivery, type Message as AmqpMessage } from 'rhea';
import { type Identity, formatIdentity } from '../../domain/identity/identity.js';
import type { ConnectionGuard } from '../../application/hub/connection-guard.js';
import type { LogFields, Logger } from '../../application/ports/logger.js';
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
 * dropping an identity. Tokens are checked by the backend and never logged. With a
 * `ConnectionGuard`, a connection stops being pending at its first authentication, and failed
 * logins count for their source's back-off (their log lines collapsed once it backs off).
 */
export class AmqpAuthentication implements ClientHost {
  constructor(
    private readonly backend: AmqpBackend,
    private readonly links: AmqpLinks,
    private readonly log: Logger,
    private readonly guard: ConnectionGuard | undefined,
  ) {}

  send(link: LinkState, message: Outgoing, pending?: Pending): void {
    this.links.send(link, message, pending);
  }

  /** SASL PLAIN: `<device>[/modules/<module>]@sas.<hub>` with the SAS token as password. */
  async authenticatePlain(user: string, password: string, state: ConnectionState | undefined): Promise<{ identity: Identity; expiresAtMs: number } | undefined> {
    let identity: Identity;
    try {
      identity = parseSaslPlainUser(user).identity;
    } catch (error) {
      this.loginFailed(state, 'connection refused', { via: 'sasl-plain', reason: 'bad-user-name', detail: errorText(error) });
      return undefined;
    }
    try {
      const result = await this.backend.authenticate({ identity, token: password, audience: user, via: 'sasl-plain' });
      if (!result.ok) {
        this.loginFailed(state, 'connection refused', { via: 'sasl-plain', identity: formatIdentity(identity), status: result.status, reason: result.reason ?? `status-${result.status}`, detail: result.description });
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
        reply(400, errorText(error));
        this.loginFailed(state, 'put-token refused', { connection: state.id, reason: 'bad-audience', detail: errorText(error) });
        return;
      }
      const result = await this.backend.authenticate({ identity, token, audience, via: 'cbs' });
      if (!result.ok) {
        reply(result.status, result.description);
        // Never log the token: the backend's description is token-free by contract.
        this.loginFailed(state, 'put-token refused', { connection: state.id, identity: formatIdentity(identity), status: result.status, reason: result.reason ?? `status-${result.status}`, detail: result.description });
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

  /**
   * X.509: authenticates `identity` with the connection's client certificate (the first link of an
   * identity not yet authenticated on a connection that sent one). Links attaching together share
   * one check; a refusal is counted and logged like a refused login.
   */
  certificateLogin(state: ConnectionState, identity: Identity): Promise<boolean> {
    const key = formatIdentity(identity);
    let login = state.certificateLogins.get(key);
    if (login === undefined) {
      login = this.checkCertificate(state, identity).finally(() => state.certificateLogins.delete(key));
      state.certificateLogins.set(key, login);
    }
    return login;
  }

  private async checkCertificate(state: ConnectionState, identity: Identity): Promise<boolean> {
    const chain = state.clientCertificate;
    if (chain === undefined || this.backend.authenticateCertificate === undefined) return false;
    try {
      const result = await this.backend.authenticateCertificate({ identity, chain, connectionId: state.id });
      if (!result.ok) {
        this.loginFailed(state, 'connection refused', { via: 'x509', connection: state.id, identity: formatIdentity(identity), status: result.status, reason: result.reason ?? `status-${result.status}`, detail: result.description });
        return false;
      }
      this.authenticated(state, result.identity, result.expiresAtMs, 'x509', chain);
      return true;
    } catch (error) {
      this.log.error('certificate authentication failed unexpectedly', { connection: state.id, identity: formatIdentity(identity), error: errorText(error) });
      return false;
    }
  }

  /** Records a successful authentication of `identity` on `state` (new, or a renewal). */
  authenticated(state: ConnectionState, identity: Identity, expiresAtMs: number, via: string, certificateChain?: readonly Uint8Array[]): void {
    if (state.closed) return;
    if (!state.authenticated) {
      state.authenticated = true;
      if (state.peer !== undefined) this.guard?.authenticated(state.peer);
    }
    const key = formatIdentity(identity);
    let client = state.clients.get(key);
    const renewal = client !== undefined;
    if (client === undefined) {
      client = new ClientState(identity, state, this);
      state.clients.set(key, client);
    }
    client.certificateChain = certificateChain;
    if (client.expiryTimer !== undefined) clearTimeout(client.expiryTimer);
    const target = client;
    const schedule = (): void => {
      const left = expiresAtMs - Date.now();
      if (left <= 0) {
        const what = via === 'x509' ? 'client certificate expired' : 'token expired';
        this.log.info(`${what}, detaching links`, { connection: state.id, identity: key });
        this.dropClient(target, what, AmqpCondition.unauthorized);
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

  /**
   * A refused SASL PLAIN login or put-token: counted for the source's back-off and logged (`message`,
   * `fields`) unless the source's refusals are being collapsed. A connection whose source now
   * backs off is closed: it would otherwise keep trying tokens on the open connection.
   */
  private loginFailed(state: ConnectionState | undefined, message: string, fields: LogFields & { reason: string }): void {
    const peer = state?.peer;
    if (peer === undefined || this.guard === undefined) {
      this.log.warn(message, fields);
      return;
    }
    const { logInFull, backoffMs } = this.guard.loginFailed(peer.source, peer.listener, fields.reason);
    if (logInFull) this.log.warn(message, { ...fields, source: peer.source });
    if (backoffMs > 0) state!.socket.destroy();
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
