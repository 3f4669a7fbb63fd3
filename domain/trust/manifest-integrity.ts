import { DeploymentStatusCode, type DeploymentStatus } from '../deployment/deployment-status.js';
import { canonicalize, CanonicalizationError } from './json-canonicalization.js';

/**
 * Azure IoT Edge 1.4's signed deployments ("manifest trust"): `properties.desired.integrity` of
 * `$edgeAgent` holds a header with the signer certificate (and an intermediate CA), the signature
 * and its algorithm. What is signed is the JCS text of the header followed by the JCS text of the
 * signed desired properties (`SIGNED_PROPERTIES`; Azure `SignatureValidator`). Checked against
 * Azure's own test vectors (ES256 in IEEE P1363 form, RS256 PKCS#1 v1.5) while this was written.
 */

/** The algorithms Azure's signer offers (`ManifestSignerClient`): ECDSA or RSA PKCS#1 v1.5, SHA-2. */
export const MANIFEST_SIGNING_ALGORITHMS = {
  ES256: { scheme: 'ES', hash: 'sha256' },
  ES384: { scheme: 'ES', hash: 'sha384' },
  ES512: { scheme: 'ES', hash: 'sha512' },
  RS256: { scheme: 'RS', hash: 'sha256' },
  RS384: { scheme: 'RS', hash: 'sha384' },
  RS512: { scheme: 'RS', hash: 'sha512' },
} as const;
export type ManifestSigningAlgorithm = keyof typeof MANIFEST_SIGNING_ALGORITHMS;

/** A signed `$edgeAgent` section, taken apart for verification. */
export interface ManifestIntegrity {
  algorithm: ManifestSigningAlgorithm;
  scheme: 'ES' | 'RS';
  hash: 'sha256' | 'sha384' | 'sha512';
  /** The signer certificate, DER as base64 (the header's array joined). */
  signerCertificate: string;
  /** The intermediate CA certificate, DER as base64, when the header has one. */
  intermediateCertificate?: string;
  /** The signature, base64. */
  signature: string;
  /** The exact text that was signed: JCS(header) + JCS(the `SIGNED_PROPERTIES` of desired). */
  signedText: string;
}

/**
 * The desired properties the signature covers, as Azure's agent rebuilds them before verifying
 * (`EdgeAgentConnection.ExtractAgentTwinAndVerify`; a missing one is `null`). Azure's signer signs
 * the whole section of a manifest, which holds exactly these; anything else there is unsigned, and
 * the agent reads nothing else.
 */
export const SIGNED_PROPERTIES = ['modules', 'runtime', 'schemaVersion', 'systemModules'] as const;

export type ManifestIntegrityResult = { kind: 'unsigned' } | { kind: 'signed'; integrity: ManifestIntegrity } | { kind: 'malformed'; problem: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A certificate array of the header: base64 chunks (Azure's signer splits it in halves) joined. */
function joinedCertificate(value: unknown, field: string): string | { problem: string } {
  if (!Array.isArray(value) || value.length === 0 || value.some((part) => typeof part !== 'string')) {
    return { problem: `integrity.header.${field} must be an array of base64 strings (the certificate's DER, split)` };
  }
  const joined = (value as string[]).join('').replace(/\s/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(joined)) return { problem: `integrity.header.${field} is not base64` };
  return joined;
}

/**
 * The `integrity` section of `$edgeAgent` desired properties: `unsigned` when there is none (or it
 * is empty, as Azure treats it), `malformed` with the first problem, else what to verify.
 */
export function readManifestIntegrity(desired: Record<string, unknown>): ManifestIntegrityResult {
  const integrity = desired['integrity'];
  if (integrity === undefined || integrity === null || (isObject(integrity) && Object.keys(integrity).length === 0)) return { kind: 'unsigned' };
  if (!isObject(integrity)) return { kind: 'malformed', problem: 'integrity must be an object {header, signature}' };
  const header = integrity['header'];
  const signature = integrity['signature'];
  if (!isObject(header)) return { kind: 'malformed', problem: 'integrity.header must be an object {signercert, intermediatecacert?}' };
  if (!isObject(signature)) return { kind: 'malformed', problem: 'integrity.signature must be an object {bytes, algorithm}' };
  const signer = joinedCertificate(header['signercert'], 'signercert');
  if (typeof signer !== 'string') return { kind: 'malformed', ...signer };
  let intermediate: string | undefined;
  if (header['intermediatecacert'] !== undefined && header['intermediatecacert'] !== null) {
    const joined = joinedCertificate(header['intermediatecacert'], 'intermediatecacert');
    if (typeof joined !== 'string') return { kind: 'malformed', ...joined };
    intermediate = joined;
  }
  const bytes = signature['bytes'];
  if (typeof bytes !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(bytes)) return { kind: 'malformed', problem: 'integrity.signature.bytes must be the base64 signature' };
  const name = typeof signature['algorithm'] === 'string' ? signature['algorithm'].trim().toUpperCase() : '';
  if (!Object.hasOwn(MANIFEST_SIGNING_ALGORITHMS, name)) {
    return { kind: 'malformed', problem: `integrity.signature.algorithm must be one of ${Object.keys(MANIFEST_SIGNING_ALGORITHMS).join(', ')} (got ${JSON.stringify(signature['algorithm'] ?? null)})` };
  }
  const algorithm = name as ManifestSigningAlgorithm;
  const signed: Record<string, unknown> = {};
  for (const key of SIGNED_PROPERTIES) signed[key] = desired[key] ?? null;
  let signedText: string;
  try {
    signedText = canonicalize(header) + canonicalize(signed);
  } catch (error) {
    if (!(error instanceof CanonicalizationError)) throw error;
    return { kind: 'malformed', problem: `the signed properties cannot be canonicalized (RFC 8785): ${error.message}` };
  }
  const result: ManifestIntegrity = { algorithm, ...MANIFEST_SIGNING_ALGORITHMS[algorithm], signerCertificate: signer, signature: bytes, signedText };
  if (intermediate !== undefined) result.intermediateCertificate = intermediate;
  return { kind: 'signed', integrity: result };
}

const MANIFEST_TRUST_PREFIX = 'Deployment manifest refused:';

function refused(reason: string): DeploymentStatus {
  return { code: DeploymentStatusCode.ConfigFormatError, description: `${MANIFEST_TRUST_PREFIX} ${reason}` };
}

/**
 * Whether the agent may apply a deployment, as Azure's `EdgeAgentConnection` decides: with a
 * manifest trust root configured the deployment must be signed and verify; a signed deployment
 * without a root cannot be verified and is refused too. `verify` checks the signer chain and the
 * signature (an adapter: certificates and signatures need crypto) and returns why not, or
 * undefined. The result is `undefined` (apply it) or the 400 to report; the previous deployment
 * keeps running.
 */
export function manifestTrustStatus(rootConfigured: boolean, integrity: ManifestIntegrityResult | undefined, verify: (integrity: ManifestIntegrity) => string | undefined): DeploymentStatus | undefined {
  const result = integrity ?? { kind: 'unsigned' };
  if (result.kind === 'malformed') return refused(`its integrity section is malformed: ${result.problem}`);
  if (result.kind === 'unsigned') {
    return rootConfigured ? refused('it is not signed, and this device accepts only signed deployments (agent.trust.manifestRootCa is set): sign the $edgeAgent desired properties (an integrity section)') : undefined;
  }
  if (!rootConfigured) return refused('it is signed, but no manifest trust root is configured to verify it (set agent.trust.manifestRootCa)');
  const problem = verify(result.integrity);
  return problem === undefined ? undefined : refused(`its signature does not verify: ${problem}`);
}
