/**
 * X.509 authentication of an identity, as the IoT Hub identity registry stores it
 * (wave2-facts.md §7): `selfSigned` with a primary and/or secondary thumbprint (the hex SHA-1 or
 * SHA-256 fingerprint of the DER certificate; IoT Hub accepts either length), or
 * `certificateAuthority` (the client's chain must end at a trusted CA and its subject CN must
 * equal the device id). Certificates are public: nothing here is a secret.
 */
export type X509Authentication =
  | { readonly type: 'selfSigned'; readonly primaryThumbprint?: string; readonly secondaryThumbprint?: string }
  | {
      readonly type: 'certificateAuthority';
      /** PEM CA certificates trusted for this identity only, besides the hub's `hub.x509.trustedCaFiles`. */
      readonly trustedCaPems?: readonly string[];
    };

/** What the hub needs to know about a client certificate (the leaf), parsed by an adapter. */
export interface CertificateFacts {
  /** Upper-case hex, no separators. */
  readonly sha1Thumbprint: string;
  readonly sha256Thumbprint: string;
  /** Subject CN, when the subject has one. */
  readonly commonName?: string;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
}

export class ThumbprintError extends Error {
  readonly code = 'BAD_THUMBPRINT';
  constructor(message: string) {
    super(message);
    this.name = 'ThumbprintError';
  }
}

/**
 * A thumbprint as stored: upper-case hex of 40 (SHA-1) or 64 (SHA-256) digits. Accepts the
 * spellings tools print (`AB:CD:...`, lower case, spaces). Throws `ThumbprintError`.
 */
export function normalizeThumbprint(text: string): string {
  const hex = text.replace(/[\s:]/g, '').toUpperCase();
  if (!/^[0-9A-F]+$/.test(hex) || (hex.length !== 40 && hex.length !== 64)) {
    throw new ThumbprintError(`thumbprint must be 40 (SHA-1) or 64 (SHA-256) hex digits, optionally separated by ":"; got ${hex.length} characters`);
  }
  return hex;
}

/** Which stored thumbprint `facts` matches, if any (SHA-1 against 40-digit ones, SHA-256 against 64-digit ones). */
export function matchingThumbprint(auth: X509Authentication, facts: CertificateFacts): 'primary' | 'secondary' | undefined {
  if (auth.type !== 'selfSigned') return undefined;
  const matches = (stored: string | undefined): boolean => stored !== undefined && stored.length > 0 && (stored === facts.sha1Thumbprint || stored === facts.sha256Thumbprint);
  if (matches(auth.primaryThumbprint)) return 'primary';
  if (matches(auth.secondaryThumbprint)) return 'secondary';
  return undefined;
}

/** `notBefore <= now <= notAfter`; otherwise which side failed. */
export function validityAt(facts: CertificateFacts, nowMs: number): 'valid' | 'not-yet-valid' | 'expired' {
  if (nowMs < facts.notBeforeMs) return 'not-yet-valid';
  if (nowMs > facts.notAfterMs) return 'expired';
  return 'valid';
}
