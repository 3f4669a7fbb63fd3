import { inject, injectable, optional } from 'inversify';
import { type Identity, deviceIdentity } from '../../domain/identity/identity.js';
import { SasTokenError, checkSasResource, isSasTokenExpired, parseSasToken, signingCandidates, stringToSign } from '../../domain/identity/sas-token.js';
import { Clock } from '../ports/clock.js';
import { SasSigner } from '../ports/crypto.js';
import { IdentityStore } from '../ports/identity-store.js';
import { DeviceScopeParents } from './device-scope-parents.js';

export interface AuthenticateClientRequest {
  /** Who the client says it is (MQTT clientId/username, AMQP CBS audience). */
  readonly identity: Identity;
  /** The SAS token (MQTT password, CBS put-token body). Never logged, never echoed. */
  readonly token: string;
  /** The IoT hub host name the SDKs put in `sr` (`HostName`, never `GatewayHostName`). */
  readonly iotHubHostName: string;
  /** The edge device host name, which edgeHub also accepts in `sr` (iotedge-semantics.md §8). */
  readonly edgeHostName?: string;
  /** edgeHub's `allowDeviceAuthForModule`, default true: a module's token may be signed with its device's key. */
  readonly allowDeviceKeyForModule?: boolean;
  /** Tolerated clock difference with the token issuer, default 0. */
  readonly clockSkewSeconds?: number;
}

export type AuthenticationFailure =
  /** Not a SAS token, or a field is missing, duplicated or badly encoded. */
  | 'malformed'
  /** `sr` names another host, another identity, or no identity at all. */
  | 'wrong-resource'
  /** `se` is not in the future. */
  | 'expired'
  /** No identity whose keys may have signed the token is in the store. */
  | 'unknown-identity'
  /** Every identity whose keys may have signed the token is disabled. */
  | 'disabled'
  /** Neither the primary nor the secondary key produces the signature. */
  | 'bad-signature'
  /** The identity is of kind x509: it must present its certificate, SAS tokens are refused. */
  | 'x509-identity';

export type AuthenticationResult =
  | {
      readonly ok: true;
      readonly identity: Identity;
      readonly expiresAtMs: number;
      /** Whose key signed: the identity itself, or its device (edgeHub `allowDeviceAuthForModule`). */
      readonly signedBy: Identity;
      readonly keyUsed: 'primary' | 'secondary';
    }
  | { readonly ok: false; readonly reason: AuthenticationFailure; readonly detail: string };

/**
 * Authenticates a client's SAS token locally against the identity store (edgeHub's
 * `DeviceScopeTokenAuthenticator`, iotedge-semantics.md §8; token rules iot-sdk-protocol.md §4):
 * parse, check `sr` (host and identity), check expiry, then verify the signature over
 * `sr_as_received + "\n" + se_as_received` with the primary or secondary key of the claimed
 * identity, or, for a module, of its device. Results and their details never contain the token or
 * any part of its signature.
 */
@injectable()
export class AuthenticateClient {
  constructor(
    @inject(IdentityStore) private readonly identities: IdentityStore,
    @inject(SasSigner) private readonly signer: SasSigner,
    @inject(Clock) private readonly clock: Clock,
    /** Nested edge: the child edge devices whose keys may sign for the devices of their scope (on behalf of). */
    @inject(DeviceScopeParents) @optional() private readonly parents?: DeviceScopeParents,
  ) {}

  /**
   * Whose keys may have signed a token for `claim`: the identity, its device (modules), and with
   * nested edge the child edge devices above its device (a child edge hub connects for its scope
   * on their behalf, as Azure's nested edge hub does). Lazy: the parent links are read only when
   * the identity's own keys did not verify.
   */
  private async *candidates(claim: Identity, allowDeviceKeyForModule: boolean): AsyncGenerator<Identity> {
    yield* signingCandidates(claim, allowDeviceKeyForModule);
    if (this.parents === undefined) return;
    // A disabled identity stays disabled: its parent's key does not sign it back in.
    if ((await this.identities.get(claim))?.status === 'disabled') return;
    for (const id of await this.parents.ancestors(claim.deviceId)) yield deviceIdentity(id);
  }

  async execute(request: AuthenticateClientRequest): Promise<AuthenticationResult> {
    let token;
    try {
      token = parseSasToken(request.token);
    } catch (error) {
      if (error instanceof SasTokenError) {
        return { ok: false, reason: 'malformed', detail: error.message };
      }
      throw error;
    }

    const acceptedHostNames = request.edgeHostName === undefined ? [request.iotHubHostName] : [request.iotHubHostName, request.edgeHostName];
    const resource = checkSasResource(token, request.identity, { acceptedHostNames });
    if (!resource.ok) {
      return { ok: false, reason: 'wrong-resource', detail: `token resource rejected: ${resource.reason}` };
    }

    if (isSasTokenExpired(token, this.clock.now(), request.clockSkewSeconds ?? 0)) {
      return { ok: false, reason: 'expired', detail: `token expired at ${new Date(token.expirySeconds * 1000).toISOString()}` };
    }

    const signed = stringToSign(token);
    let found = false;
    let enabled = false;
    let x509 = false;
    for await (const candidate of this.candidates(request.identity, request.allowDeviceKeyForModule ?? true)) {
      const credentials = await this.identities.get(candidate);
      if (credentials === undefined) {
        continue;
      }
      found = true;
      if (credentials.status === 'disabled') {
        continue;
      }
      if (credentials.x509 !== undefined) {
        x509 = true;
        continue;
      }
      enabled = true;
      // Both keys are always computed so the time taken does not tell which one matched.
      const primary = this.matches(credentials.primaryKey, signed, token.signature);
      const secondary = this.matches(credentials.secondaryKey, signed, token.signature);
      if (primary || secondary) {
        return {
          ok: true,
          identity: request.identity,
          expiresAtMs: token.expirySeconds * 1000,
          signedBy: candidate,
          keyUsed: primary ? 'primary' : 'secondary',
        };
      }
    }
    if (!found) {
      return { ok: false, reason: 'unknown-identity', detail: 'identity is not registered on this edge device' };
    }
    if (!enabled) {
      if (x509) return { ok: false, reason: 'x509-identity', detail: 'identity authenticates with an X.509 certificate: SAS tokens are refused' };
      return { ok: false, reason: 'disabled', detail: 'identity is disabled' };
    }
    return { ok: false, reason: 'bad-signature', detail: 'signature does not match the primary or secondary key' };
  }

  private matches(keyBase64: string, signed: string, signature: string): boolean {
    if (keyBase64.length === 0) {
      return false;
    }
    return this.signer.timingSafeEqual(this.signer.hmacSha256Base64(keyBase64, signed), signature);
  }
}
