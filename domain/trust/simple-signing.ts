/**
 * Cosign's key-based image signatures (sigstore `specs/SIGNATURE_SPEC.md`): the signed payload is
 * a "simple signing" JSON document naming the image's manifest digest; the signature is stored in
 * the image's repository under the tag `sha256-<hex>.sig`, one layer per signature.
 */

/** `critical.type` of a cosign signature payload. */
export const SIMPLE_SIGNING_TYPE = 'cosign container image signature';
/** Media type of a signature layer (its blob is the payload). */
export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
/** Layer annotation holding the base64 signature. */
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

/** The tag cosign stores the signatures of `digest` (`sha256:<hex>`) under: `sha256-<hex>.sig`. */
export function signatureTag(digest: string): string {
  return `${digest.replace(':', '-')}.sig`;
}

export interface SimpleSigningPayload {
  /** `critical.image.docker-manifest-digest`. */
  manifestDigest: string;
  /** `critical.identity.docker-reference` (informative: verifiers ignore it). */
  reference?: string;
}

export type PayloadResult = { ok: true; payload: SimpleSigningPayload } | { ok: false; problem: string };

function objectAt(value: unknown, key: string): Record<string, unknown> | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const inner = (value as Record<string, unknown>)[key];
  return inner !== null && typeof inner === 'object' && !Array.isArray(inner) ? (inner as Record<string, unknown>) : undefined;
}

/** Reads a payload (the exact bytes that were signed, as text). */
export function parseSimpleSigningPayload(text: string): PayloadResult {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'the signed payload is not JSON' };
  }
  const critical = objectAt(document, 'critical');
  if (critical === undefined) return { ok: false, problem: 'the signed payload has no "critical" section' };
  if (critical['type'] !== SIMPLE_SIGNING_TYPE) return { ok: false, problem: `the signed payload's critical.type is not "${SIMPLE_SIGNING_TYPE}"` };
  const digest = objectAt(critical, 'image')?.['docker-manifest-digest'];
  if (typeof digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(digest)) return { ok: false, problem: 'the signed payload names no critical.image.docker-manifest-digest' };
  const payload: SimpleSigningPayload = { manifestDigest: digest };
  const reference = objectAt(critical, 'identity')?.['docker-reference'];
  if (typeof reference === 'string') payload.reference = reference;
  return { ok: true, payload };
}
