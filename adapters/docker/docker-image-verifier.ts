import type Docker from 'dockerode';
import type { Logger } from '../../application/ports/logger.js';
import { ModulePreparationError } from '../../domain/modules/module-preparation.js';
import type { RegistryCredential } from '../../domain/modules/module-spec.js';
import { checkBeforePull, checkPulled, judgeSignatures, pinnedDigestOf, policyActive, type ImageRefusal, type ImageTrustPolicy } from '../../domain/trust/image-policy.js';
import { parseImageReference, pinnedImageName, type ImageReference } from '../../domain/trust/image-reference.js';
import { cosignSignatures, type TrustedImageKey } from './cosign-signatures.js';
import { statusOf } from './docker-errors.js';
import { RegistryClient, type RegistryClientOptions } from './registry-client.js';

/** `agent.trust.*` for Docker images: the policy, the public keys, how to reach registries. */
export interface ImageTrustOptions {
  policy: ImageTrustPolicy;
  keys: readonly TrustedImageKey[];
  registry?: RegistryClientOptions;
}

/** What to create a verified module's container from. */
export interface VerifiedImage {
  /** `repo@sha256:...` of the verified manifest (the tag could move after verification). */
  runAs: string;
  digest: string;
}

function refused(module: string, refusal: ImageRefusal): ModulePreparationError {
  return new ModulePreparationError(module, 'refused', `image refused (${refusal.reason})`, refusal.message);
}

function sameRepository(a: ImageReference, b: ImageReference): boolean {
  return a.registry === b.registry && a.repository === b.repository;
}

/**
 * Checks a Docker module's image against `agent.trust` before it is started (the policy is pure,
 * `domain/trust/image-policy.ts`): before the pull, the registry and the pin; after it, the
 * manifest digest Docker pulled against the pin and the digest this tag last ran from, then the
 * cosign signatures of that digest, fetched from the registry with the module's credential and
 * verified against the configured keys. A refusal is a `ModulePreparationError` naming the reason.
 */
export class DockerImageVerifier {
  private readonly registry: RegistryClient;

  constructor(
    private readonly docker: Docker,
    private readonly logger: Logger,
    private readonly trust: ImageTrustOptions,
  ) {
    this.registry = new RegistryClient(trust.registry);
  }

  get active(): boolean {
    return policyActive(this.trust.policy);
  }

  get policy(): ImageTrustPolicy {
    return this.trust.policy;
  }

  /** Before pulling: the pinned digest (if any), or a refusal. */
  admit(module: string, image: string, settingsDigest: string | undefined): string | undefined {
    const reference = parseImageReference(image);
    const pin = pinnedDigestOf(reference, settingsDigest);
    if (pin.conflict !== undefined) throw refused(module, { reason: 'digest mismatch', message: `image ${image} refused (digest mismatch): ${pin.conflict}` });
    const refusal = checkBeforePull(image, reference, pin.digest, this.trust.policy);
    if (refusal !== undefined) throw refused(module, refusal);
    return pin.digest;
  }

  /** The registry digest of the image on this machine (its `RepoDigests` entry for this repository). */
  async localDigest(image: string): Promise<string | undefined> {
    let info: Docker.ImageInspectInfo;
    try {
      info = await this.docker.getImage(image).inspect();
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
    const wanted = parseImageReference(image);
    for (const entry of info.RepoDigests ?? []) {
      const reference = parseImageReference(entry);
      if (reference.digest !== undefined && sameRepository(reference, wanted)) return reference.digest;
    }
    return undefined;
  }

  /**
   * After pulling: `pulled` is the digest Docker reported (undefined when the image already on the
   * machine was used), `previous` the digest this tag last ran from here.
   */
  async verify(module: string, image: string, pinned: string | undefined, pulled: string | undefined, previous: string | undefined, credential: RegistryCredential | undefined): Promise<VerifiedImage> {
    const digest = pulled ?? (await this.localDigest(image));
    const refusal = checkPulled({ image, digest, pinned, previous }, this.trust.policy);
    if (refusal !== undefined) throw refused(module, refusal);
    // checkPulled refuses a missing digest whenever anything depends on it.
    const known = digest as string;
    if (this.trust.policy.requireSignature) {
      let evidence;
      try {
        evidence = await cosignSignatures(this.registry, parseImageReference(image), known, credential, this.trust.keys);
      } catch (error) {
        throw refused(module, { reason: 'cannot verify', message: `image ${image} refused (cannot verify): its signature could not be fetched: ${(error as Error).message}` });
      }
      const verdict = judgeSignatures(image, known, evidence);
      if ('reason' in verdict) throw refused(module, verdict);
      this.logger.info(`image ${image} (${known}) verified: signed with key ${verdict.verifiedBy}`, { module, image, digest: known, key: verdict.verifiedBy });
    }
    return { runAs: pinnedImageName(image, known), digest: known };
  }
}
