import type { ManifestIntegrity } from '../../domain/trust/manifest-integrity.js';

/**
 * Verifies a signed deployment (Azure IoT Edge manifest trust): the signer certificate chains,
 * through the optional intermediate, to the configured root CA and is valid now, and the signature
 * over `integrity.signedText` verifies with the signer's key. Bound only when a manifest trust root
 * is configured (`agent.trust.manifestRootCa`); then unsigned deployments are refused.
 */
export abstract class ManifestVerifier {
  /** `undefined` when the signature is good, else why not (for the 400 description). */
  abstract verify(integrity: ManifestIntegrity): string | undefined;
}
