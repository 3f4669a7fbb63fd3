import { inject, injectable } from 'inversify';
import { type Identity, formatIdentity } from '../../domain/identity/identity.js';
import { type CertificateFacts, matchingThumbprint, validityAt } from '../../domain/identity/x509.js';
import { type CertificateChain, CertificateParseError, CertificateVerifier } from '../ports/certificate-verifier.js';
import { Clock } from '../ports/clock.js';
import { IdentityStore } from '../ports/identity-store.js';

/** The hub-wide X.509 settings (`hub.x509.*`). */
export class X509AuthOptions {
  /** PEM text of every CA trusted for CA-signed identities (`hub.x509.trustedCaFiles`, read at start). */
  trustedCaPems: readonly string[] = [];
  /** How often live certificate connections are checked against the identity store (revocation), ms. */
  revocationCheckMs = 10_000;

  constructor(overrides: Partial<X509AuthOptions> = {}) {
    Object.assign(this, overrides);
  }
}

export type CertificateAuthFailure =
  /** The client sent no certificate (and no SAS token). */
  | 'no-certificate'
  /** The certificate cannot be parsed. */
  | 'bad-certificate'
  | 'unknown-identity'
  | 'disabled'
  /** The identity authenticates with SAS keys, not a certificate. */
  | 'not-x509-identity'
  | 'not-yet-valid'
  | 'expired'
  /** Self-signed identity: neither stored thumbprint matches. */
  | 'wrong-certificate'
  /** CA-signed identity: the chain does not end at a trusted CA. */
  | 'untrusted-ca'
  /** CA-signed identity: the subject CN is not the device id. */
  | 'common-name-mismatch';

export type CertificateAuthResult =
  | {
      readonly ok: true;
      readonly identity: Identity;
      /** The certificate's `notAfter`: the connection is closed then. */
      readonly expiresAtMs: number;
      readonly method: 'thumbprint' | 'ca';
      readonly sha256Thumbprint: string;
    }
  | { readonly ok: false; readonly reason: CertificateAuthFailure; readonly detail: string };

/**
 * Authenticates a client by its TLS certificate against the identity store, as IoT Hub does for
 * X.509 devices (wave2-facts.md §7): the claimed identity must be of kind x509 and enabled; the
 * certificate valid now; a self-signed identity's primary or secondary thumbprint (SHA-1 or
 * SHA-256) must match, a CA-signed identity's chain must end at a CA trusted by the hub or by the
 * identity, with the subject CN equal to the device id. Details name thumbprints and subjects
 * (public) and never any key.
 */
@injectable()
export class AuthenticateCertificate {
  constructor(
    @inject(IdentityStore) private readonly identities: IdentityStore,
    @inject(CertificateVerifier) private readonly verifier: CertificateVerifier,
    @inject(Clock) private readonly clock: Clock,
    @inject(X509AuthOptions) private readonly options: X509AuthOptions,
  ) {}

  async execute(identity: Identity, chain: CertificateChain | undefined): Promise<CertificateAuthResult> {
    if (chain === undefined || chain.length === 0) return { ok: false, reason: 'no-certificate', detail: 'no SAS token and no client certificate: an X.509 identity must present its certificate in the TLS handshake' };
    let facts: CertificateFacts;
    try {
      facts = this.verifier.inspect(chain);
    } catch (error) {
      if (error instanceof CertificateParseError) return { ok: false, reason: 'bad-certificate', detail: error.message };
      throw error;
    }
    const credentials = await this.identities.get(identity);
    if (credentials === undefined) return { ok: false, reason: 'unknown-identity', detail: 'identity is not registered on this edge device' };
    if (credentials.status === 'disabled') return { ok: false, reason: 'disabled', detail: 'identity is disabled' };
    const auth = credentials.x509;
    if (auth === undefined) return { ok: false, reason: 'not-x509-identity', detail: 'identity authenticates with SAS keys: send a SAS token, or register it with --x509' };
    const now = this.clock.now();
    const validity = validityAt(facts, now);
    if (validity !== 'valid') {
      const when = validity === 'expired' ? `expired at ${new Date(facts.notAfterMs).toISOString()}` : `is not valid before ${new Date(facts.notBeforeMs).toISOString()}`;
      return { ok: false, reason: validity, detail: `client certificate (SHA-256 ${facts.sha256Thumbprint}) ${when}` };
    }
    if (auth.type === 'selfSigned') {
      if (matchingThumbprint(auth, facts) === undefined) {
        return { ok: false, reason: 'wrong-certificate', detail: `client certificate thumbprint (SHA-1 ${facts.sha1Thumbprint}, SHA-256 ${facts.sha256Thumbprint}) matches neither the primary nor the secondary thumbprint of ${formatIdentity(identity)}` };
      }
      return { ok: true, identity, expiresAtMs: facts.notAfterMs, method: 'thumbprint', sha256Thumbprint: facts.sha256Thumbprint };
    }
    const verdict = this.verifier.verifyChain(chain, [...this.options.trustedCaPems, ...(auth.trustedCaPems ?? [])], now);
    if (!verdict.ok) return { ok: false, reason: 'untrusted-ca', detail: verdict.detail };
    const expectedName = identity.kind === 'device' ? identity.deviceId : identity.moduleId;
    if (facts.commonName !== expectedName) {
      return { ok: false, reason: 'common-name-mismatch', detail: `certificate subject CN ${JSON.stringify(facts.commonName ?? '')} must equal ${identity.kind === 'device' ? 'the device id' : 'the module id'} ${JSON.stringify(expectedName)}` };
    }
    return { ok: true, identity, expiresAtMs: facts.notAfterMs, method: 'ca', sha256Thumbprint: facts.sha256Thumbprint };
  }
}
