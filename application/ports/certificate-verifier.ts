import type { CertificateFacts } from '../../domain/identity/x509.js';

/** A client certificate chain as the TLS peer sent it: DER, leaf first. */
export type CertificateChain = readonly Uint8Array[];

export class CertificateParseError extends Error {
  readonly code = 'BAD_CERTIFICATE';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CertificateParseError';
  }
}

export type ChainVerdict = { readonly ok: true; readonly caSubject: string } | { readonly ok: false; readonly detail: string };

/**
 * Reads client certificates and verifies chains (an adapter on `node:crypto`'s X509Certificate).
 * Nothing here ever sees a private key.
 */
export abstract class CertificateVerifier {
  /** The leaf's thumbprints, subject CN and validity. Throws `CertificateParseError`. */
  abstract inspect(chain: CertificateChain): CertificateFacts;
  /**
   * Whether the leaf chains, through the intermediates the client sent, to one of `trustedCaPems`
   * (each link's signature checked, every certificate valid at `nowMs`).
   */
  abstract verifyChain(chain: CertificateChain, trustedCaPems: readonly string[], nowMs: number): ChainVerdict;
  /**
   * The client certificate chain a connection's TLS peer sent (`socket` is the TLS socket; anything
   * else has none), or undefined. The heads ask for one without requiring it.
   */
  abstract peerChain(socket: unknown): CertificateChain | undefined;
}
