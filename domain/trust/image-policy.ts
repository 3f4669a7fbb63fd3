import { normalizeRegistryAddress } from '../deployment/image-name.js';
import type { ImageReference } from './image-reference.js';
import { parseSimpleSigningPayload } from './simple-signing.js';

/**
 * What the agent demands of a Docker module's image before it is started (`agent.trust.*`).
 * Azure's agent never shipped image verification; the 2017 preview promised it.
 */
export interface ImageTrustPolicy {
  /** Only these registries (host[:port], Docker Hub as `docker.io`); empty: any. */
  allowedRegistries: readonly string[];
  /** Every image must be pinned: `image@sha256:...` or `settings.digest`. */
  requireDigest: boolean;
  /** A tag that now resolves to another digest than the one last run from it here is refused. */
  refuseMovedTags: boolean;
  /** A signature by one of the configured keys is required (keys are configured). */
  requireSignature: boolean;
}

export const OPEN_IMAGE_POLICY: ImageTrustPolicy = Object.freeze({ allowedRegistries: [], requireDigest: false, refuseMovedTags: false, requireSignature: false });

/** Whether the policy asks anything of an image (else images run as pulled, as with Azure). */
export function policyActive(policy: ImageTrustPolicy): boolean {
  return policy.allowedRegistries.length > 0 || policy.requireDigest || policy.refuseMovedTags || policy.requireSignature;
}

export type ImageRefusalReason = 'registry not allowed' | 'digest required' | 'digest mismatch' | 'tag moved' | 'no signature' | 'bad signature' | 'untrusted key' | 'cannot verify';

/** Why an image must not run: the reason (a few words, for `edgeport list` and metrics) and the whole story. */
export interface ImageRefusal {
  reason: ImageRefusalReason;
  message: string;
}

function refuse(reason: ImageRefusalReason, image: string, detail: string): ImageRefusal {
  return { reason, message: `image ${image} refused (${reason}): ${detail}` };
}

/** Before pulling: the registry must be allowed, and the image pinned when digests are required. */
export function checkBeforePull(image: string, reference: ImageReference, pinnedDigest: string | undefined, policy: ImageTrustPolicy): ImageRefusal | undefined {
  if (policy.allowedRegistries.length > 0) {
    const registry = normalizeRegistryAddress(reference.registry);
    if (!policy.allowedRegistries.some((allowed) => normalizeRegistryAddress(allowed) === registry)) {
      return refuse('registry not allowed', image, `registry ${registry} is not in agent.trust.allowedRegistries (${policy.allowedRegistries.join(', ')})`);
    }
  }
  if (policy.requireDigest && pinnedDigest === undefined) {
    return refuse('digest required', image, 'agent.trust.requireDigest is set: pin the image as name@sha256:<digest> or give settings.digest');
  }
  return undefined;
}

/** The digest an image must have: the one in its name, else `settings.digest`; both must agree. */
export function pinnedDigestOf(reference: ImageReference, settingsDigest: string | undefined): { digest?: string; conflict?: string } {
  if (reference.digest !== undefined && settingsDigest !== undefined && reference.digest !== settingsDigest) {
    return { conflict: `the name pins ${reference.digest} but settings.digest is ${settingsDigest}` };
  }
  const digest = reference.digest ?? settingsDigest;
  return digest === undefined ? {} : { digest };
}

export interface PulledImage {
  image: string;
  /** `sha256:<hex>` of the manifest pulled (or of the image already here); undefined: unknown. */
  digest: string | undefined;
  /** The digest the deployment pins (name or `settings.digest`). */
  pinned: string | undefined;
  /** The digest this tag last ran from on this machine, if known. */
  previous: string | undefined;
}

/** After pulling: the digest must be known when anything depends on it, match the pin, and not have moved. */
export function checkPulled(pulled: PulledImage, policy: ImageTrustPolicy): ImageRefusal | undefined {
  const { image, digest, pinned, previous } = pulled;
  const needsDigest = pinned !== undefined || policy.requireSignature || policy.refuseMovedTags;
  if (digest === undefined) {
    return needsDigest ? refuse('cannot verify', image, 'the image has no registry digest on this machine (built or loaded locally, never pulled)') : undefined;
  }
  if (pinned !== undefined && digest !== pinned) {
    return refuse('digest mismatch', image, `the registry gave ${digest} but the deployment pins ${pinned}`);
  }
  if (policy.refuseMovedTags && pinned === undefined && previous !== undefined && previous !== digest) {
    return refuse('tag moved', image, `the tag now resolves to ${digest}, not ${previous} as when it last ran here; pin the new digest (name@sha256:...) to accept it`);
  }
  return undefined;
}

/** One signature of an image as found in the registry, with what cryptography said about it. */
export interface SignatureEvidence {
  /** The signed payload (the layer blob) as text. */
  payload: string;
  /** The configured key (its name) that verified the signature over the payload; undefined: none. */
  verifiedBy?: string;
  /** The signature could not even be read (missing annotation, not base64, blob digest wrong). */
  malformed?: string;
}

/**
 * The signatures of `digest` (`undefined`: the registry has no `sha256-<hex>.sig` for it). The
 * image is accepted when a signature of a configured key covers a payload naming this digest.
 * Otherwise: `no signature`; `untrusted key` when well-formed signatures for this image verify
 * with none of the keys (signed by another key, or altered); `bad signature` when none is even
 * about this image (payload for another digest, unreadable).
 */
export function judgeSignatures(image: string, digest: string, evidence: readonly SignatureEvidence[] | undefined): ImageRefusal | { verifiedBy: string } {
  if (evidence === undefined || evidence.length === 0) {
    return refuse('no signature', image, `the registry has no signature for ${digest} (no ${digest.replace(':', '-')}.sig)`);
  }
  const problems: string[] = [];
  let unverified = 0;
  for (const signature of evidence) {
    if (signature.malformed !== undefined) {
      problems.push(signature.malformed);
      continue;
    }
    const payload = parseSimpleSigningPayload(signature.payload);
    if (!payload.ok) {
      problems.push(payload.problem);
      continue;
    }
    if (payload.payload.manifestDigest !== digest) {
      problems.push(`the signature is for ${payload.payload.manifestDigest}, not ${digest}`);
      continue;
    }
    if (signature.verifiedBy !== undefined) return { verifiedBy: signature.verifiedBy };
    unverified++;
  }
  if (unverified > 0) {
    return refuse('untrusted key', image, `${unverified === 1 ? 'its signature' : `its ${unverified} signatures`} for ${digest} verify with none of the keys in agent.trust.imageKeys (signed by another key, or altered)`);
  }
  return refuse('bad signature', image, problems.join('; '));
}
