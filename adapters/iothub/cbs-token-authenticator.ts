import rhea, { type Connection, type EventContext, type Message as AmqpMessage, type Receiver, type Sender } from 'rhea';
import type { Clock, TimerHandle } from '../../application/ports/clock.js';
import type { SasSigner } from '../../application/ports/crypto.js';
import type { IdentityStore } from '../../application/ports/identity-store.js';
import type { Logger } from '../../application/ports/logger.js';
import { UpstreamError } from '../../application/ports/upstream.js';
import { encodeUriComponentStrict, formatSasToken, sasResourceFor, stringToSignFor } from '../../domain/identity/sas-token.js';
import { idText } from './amqp-mapping.js';
import { errorText, whenOpen } from './amqp-links.js';
import { PerIdentity, type CloudIdentity } from './cloud-identities.js';
import type { IotHubConnection } from './iothub-connection.js';
import { IOTHUB_DEFAULTS, hubHostOf, operationTimeoutOf, type IotHubUpstreamOptions } from './iothub-options.js';
import { PendingReplies } from './pending-replies.js';

/** A SAS token for one identity and what it is good for. */
export interface CloudToken {
  readonly token: string;
  /** The CBS `name`: the identity's resource URI, percent-encoded. */
  readonly audience: string;
  readonly expiresAt: number;
  /** Signed with the edge device's key on the identity's behalf. */
  readonly onBehalf: boolean;
}

interface TokenState {
  /** The cloud refused the identity's own key: its tokens are signed with the edge device's key. */
  onBehalf: boolean;
  /** The put-token on the current connection (undefined: not yet, or it failed). */
  authenticated?: Promise<void>;
  renewTimer?: TimerHandle;
}

/**
 * Claims-based security on the shared connection (edgeHub's token authenticator): one `$cbs`
 * sender/receiver pair per connection, one put-token per identity, signed with the identity's key
 * from the identity store, else with the edge device's key on its behalf (as edgeHub connects for its
 * clients); tokens are renewed on the same link at 75 % of their lifetime.
 */
export class CbsTokenAuthenticator {
  private cbsSender: Sender | undefined;
  private cbsReady: Promise<void> | undefined;
  private readonly replies: PendingReplies<AmqpMessage>;
  private readonly tokens = new PerIdentity<TokenState>(() => ({ onBehalf: false }));

  constructor(
    private readonly options: IotHubUpstreamOptions,
    private readonly deps: { readonly identities: IdentityStore; readonly signer: SasSigner; readonly clock: Clock; readonly log: Logger },
    private readonly connection: IotHubConnection,
  ) {
    this.replies = new PendingReplies(deps.clock);
  }

  /** Opens the `$cbs` links on `connection` (once per connection). */
  open(connection: Connection): Promise<void> {
    this.cbsReady ??= (async () => {
      const sender = connection.open_sender({ target: { address: '$cbs' }, name: `cbs-sender-${rhea.generate_uuid()}` });
      const receiver: Receiver = connection.open_receiver({ source: { address: '$cbs' }, name: `cbs-receiver-${rhea.generate_uuid()}`, autoaccept: true });
      receiver.on('message', (context: EventContext) => {
        const message = context.message!;
        const id = idText(message.correlation_id);
        if (!this.replies.settle(id, message)) this.deps.log.debug('CBS reply for no pending request; ignored', { correlationId: id ?? null });
      });
      this.cbsSender = sender;
      await Promise.all([whenOpen(sender), whenOpen(receiver)]);
    })();
    return this.cbsReady;
  }

  /** Puts `cloud`'s token on the current connection once; later calls share that attempt until it fails. */
  authenticate(cloud: CloudIdentity): Promise<void> {
    // An X.509 edge device is authenticated by the TLS handshake: no token (wave2-facts.md §7).
    if (this.isX509Edge(cloud)) return Promise.resolve();
    const state = this.tokens.of(cloud);
    if (state.authenticated === undefined) {
      const attempt = this.putToken(cloud);
      state.authenticated = attempt;
      attempt.catch((error: unknown) => {
        if (state.authenticated === attempt) delete state.authenticated;
        this.deps.log.debug('CBS put-token failed', { identity: cloud.key, error: errorText(error) });
      });
    }
    return state.authenticated;
  }

  /** The cloud detached a link for an expired or refused token: put a token again before the next link. */
  invalidate(cloud: CloudIdentity): void {
    delete this.tokens.of(cloud).authenticated;
  }

  /** A fresh SAS token for `cloud` (also the HTTPS calls' `Authorization`). */
  async token(cloud: CloudIdentity): Promise<CloudToken> {
    const hubHost = hubHostOf(this.options);
    const expiry = Math.floor(this.deps.clock.now() / 1000) + (this.options.tokenTtlSeconds ?? IOTHUB_DEFAULTS.tokenTtlSeconds);
    const key = await this.keyFor(cloud);
    const signature = this.deps.signer.hmacSha256Base64(key, stringToSignFor(hubHost, cloud.identity, expiry));
    return {
      token: formatSasToken({ hubHostName: hubHost, identity: cloud.identity, signatureBase64: signature, expirySeconds: expiry }),
      audience: encodeUriComponentStrict(sasResourceFor(hubHost, cloud.identity)),
      expiresAt: expiry * 1000,
      onBehalf: key === this.options.connection.sharedAccessKey,
    };
  }

  private isX509Edge(cloud: CloudIdentity): boolean {
    return this.options.x509 !== undefined && cloud.identity.kind === 'device' && cloud.identity.deviceId === this.options.connection.deviceId;
  }

  /** Forgets the connection's CBS links and every identity's put-token; pending put-tokens fail with `failure`. */
  connectionLost(failure: Error): void {
    this.replies.failAll(failure);
    for (const state of this.tokens.values()) {
      state.renewTimer?.cancel();
      delete state.renewTimer;
      delete state.authenticated;
    }
    this.cbsSender = undefined;
    this.cbsReady = undefined;
  }

  /**
   * The key that signs `cloud`'s token: the edge device's own; for a leaf device its key from the
   * identity store (the cached device scope) when it has one and the cloud took it before;
   * otherwise (modules of this device, whose local keys the cloud may not know, and leaf devices
   * without a key the cloud accepts) the edge device's key, on the identity's behalf as edgeHub does.
   */
  private async keyFor(cloud: CloudIdentity): Promise<string> {
    const identity = cloud.identity;
    const edgeKey = this.options.connection.sharedAccessKey;
    if (this.options.x509 !== undefined) {
      // No edge device key to sign on behalf with: every other identity signs with its own key.
      const own = (await this.deps.identities.get(identity))?.primaryKey;
      if (own === undefined || own === '') throw new UpstreamError(`${cloud.key} has no SAS key of its own, and an X.509 edge device has no key to sign on its behalf: register its keys (identity add) or sync the device scope`, false, 401);
      return own;
    }
    if (identity.kind === 'module' || identity.deviceId === this.options.connection.deviceId || this.tokens.of(cloud).onBehalf) return edgeKey;
    return (await this.deps.identities.get(identity))?.primaryKey ?? edgeKey;
  }

  private async putToken(cloud: CloudIdentity): Promise<void> {
    const connection = this.connection.require();
    await this.open(connection);
    const token = await this.token(cloud);
    try {
      await this.request(token);
    } catch (error) {
      if (error instanceof UpstreamError && error.status === 401 && !token.onBehalf && this.options.x509 === undefined) {
        // The cloud does not know the locally kept key: sign on the identity's behalf from now on.
        this.deps.log.debug('the cloud refused the identity\'s own key; signing on its behalf', { identity: cloud.key });
        this.tokens.of(cloud).onBehalf = true;
        return await this.putToken(cloud);
      }
      throw error;
    }
    this.scheduleRenewal(cloud, token.expiresAt - this.deps.clock.now());
  }

  /** Sends one put-token and waits for its status. */
  private async request(token: CloudToken): Promise<void> {
    const id = rhea.generate_uuid();
    const answer = this.replies.wait(id, operationTimeoutOf(this.options), () => {
      // An unanswered CBS request means the connection hangs: drop it and reconnect.
      this.connection.drop();
      return new UpstreamError('IoT Hub did not answer the CBS put-token in time', true);
    });
    this.cbsSender!.send({
      message_id: id,
      to: '$cbs',
      reply_to: 'cbs',
      application_properties: { operation: 'put-token', type: 'servicebus.windows.net:sastoken', name: token.audience },
      body: token.token,
    });
    const reply = await answer;
    const status = Number(reply.application_properties?.['status-code']);
    if (status !== 200) throw new UpstreamError(`IoT Hub refused the token (${status}): ${String(reply.application_properties?.['status-description'] ?? '')}`, status >= 500, status);
  }

  private scheduleRenewal(cloud: CloudIdentity, ttlMs: number): void {
    const state = this.tokens.of(cloud);
    state.renewTimer?.cancel();
    state.renewTimer = this.deps.clock.schedule(Math.max(1000, ttlMs * 0.75), () => {
      void this.putToken(cloud).then(
        () => this.deps.log.debug('token renewed', { identity: cloud.key }),
        (error: unknown) => this.deps.log.warn('token renewal failed', { identity: cloud.key, error: errorText(error) }),
      );
    });
  }
}
