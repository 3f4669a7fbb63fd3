import { verify, type KeyObject } from 'node:crypto';
import type { RegistryCredential } from '../../domain/modules/module-spec.js';
import type { ImageReference } from '../../domain/trust/image-reference.js';
import type { SignatureEvidence } from '../../domain/trust/image-policy.js';
import { SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE, signatureTag } from '../../domain/trust/simple-signing.js';
import type { RegistryClient } from './registry-client.js';

/** A public key from `agent.trust.imageKeys`, named (after its file) for logs and reports. */
export interface TrustedImageKey {
  name: string;
  key: KeyObject;
}

interface OciLayer {
  mediaType?: unknown;
  digest?: unknown;
  annotations?: Record<string, unknown>;
}

/**
 * Cosign signs SHA-256 of the payload with ECDSA and stores the ASN.1 DER signature; a raw
 * `r || s` (IEEE P1363) signature is accepted as well.
 */
export function signatureVerifies(key: KeyObject, payload: Buffer, signature: Buffer): boolean {
  for (const dsaEncoding of ['der', 'ieee-p1363'] as const) {
    try {
      if (verify('sha256', payload, { key, dsaEncoding }, signature)) return true;
    } catch {
      // Not a signature in this encoding (or not for this key type): try the next one.
    }
  }
  return false;
}

/**
 * The cosign signatures of `digest` in the image's repository (tag `sha256-<hex>.sig`, one
 * simple-signing layer per signature, the signature in the layer's annotation), each checked
 * against every trusted key over the exact payload bytes. `undefined`: there is no signature tag.
 */
export async function cosignSignatures(
  registry: RegistryClient,
  reference: ImageReference,
  digest: string,
  credential: RegistryCredential | undefined,
  keys: readonly TrustedImageKey[],
): Promise<SignatureEvidence[] | undefined> {
  const manifest = await registry.manifest(reference.registry, reference.repository, signatureTag(digest), credential);
  if (manifest === undefined) return undefined;
  let layers: OciLayer[];
  try {
    const document = JSON.parse(manifest.body.toString('utf8')) as { layers?: unknown };
    layers = Array.isArray(document.layers) ? (document.layers as OciLayer[]) : [];
  } catch {
    return [{ payload: '', malformed: `${signatureTag(digest)} is not a JSON manifest` }];
  }
  const evidence: SignatureEvidence[] = [];
  for (const layer of layers) {
    if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE || typeof layer.digest !== 'string') continue;
    const annotation = layer.annotations?.[SIGNATURE_ANNOTATION];
    if (typeof annotation !== 'string' || annotation === '') {
      evidence.push({ payload: '', malformed: `a signature layer of ${signatureTag(digest)} has no ${SIGNATURE_ANNOTATION} annotation` });
      continue;
    }
    const signature = Buffer.from(annotation, 'base64');
    if (signature.length === 0) {
      evidence.push({ payload: '', malformed: `a signature of ${signatureTag(digest)} is not base64` });
      continue;
    }
    const payload = await registry.blob(reference.registry, reference.repository, layer.digest, credential);
    const trusted = keys.find((k) => signatureVerifies(k.key, payload, signature));
    evidence.push(trusted === undefined ? { payload: payload.toString('utf8') } : { payload: payload.toString('utf8'), verifiedBy: trusted.name });
  }
  if (evidence.length === 0) return [{ payload: '', malformed: `${signatureTag(digest)} holds no ${SIMPLE_SIGNING_MEDIA_TYPE} layer` }];
  return evidence;
}
