import { createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { ImageTrustOptions } from '../../adapters/docker/docker-image-verifier.js';
import type { TrustedImageKey } from '../../adapters/docker/cosign-signatures.js';
import type { EdgeportConfig } from '../config/load-config.js';

/** `agent.trust` read from its files: the manifest trust root and the image policy with its keys. */
export interface TrustSettings {
  /** PEM of the manifest trust root CA; absent: deployments are not required to be signed. */
  manifestRootPem?: string;
  image: ImageTrustOptions;
}

function read(path: string, key: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${key} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
}

/** An ECDSA public key from a PEM file (cosign's `cosign.pub`, or a certificate holding one), named after the file. */
function imageKey(path: string): TrustedImageKey {
  const pem = read(path, 'agent.trust.imageKeys');
  let key;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new Error(`agent.trust.imageKeys: ${path} is not a PEM public key (expected "-----BEGIN PUBLIC KEY-----", as cosign generate-key-pair writes cosign.pub)`);
  }
  if (key.asymmetricKeyType !== 'ec') throw new Error(`agent.trust.imageKeys: ${path} is a ${key.asymmetricKeyType ?? 'unknown'} key; cosign key-based signatures are ECDSA (P-256)`);
  return { name: basename(path), key };
}

/**
 * Reads the files `agent.trust` names, failing at start with the key and the path when one is
 * missing or not what it must be (a CA certificate, an ECDSA public key), rather than refusing
 * every deployment later.
 */
export function readTrustSettings(trust: EdgeportConfig['agent']['trust']): TrustSettings {
  const keys = trust.imageKeys.map(imageKey);
  const settings: TrustSettings = {
    image: {
      policy: { allowedRegistries: trust.allowedRegistries, requireDigest: trust.requireDigest, refuseMovedTags: trust.refuseMovedTags, requireSignature: keys.length > 0 },
      keys,
    },
  };
  if (trust.manifestRootCa !== '') {
    const pem = read(trust.manifestRootCa, 'agent.trust.manifestRootCa');
    let root: X509Certificate;
    try {
      root = new X509Certificate(pem);
    } catch {
      throw new Error(`agent.trust.manifestRootCa: ${trust.manifestRootCa} is not a PEM certificate`);
    }
    if (!root.ca) throw new Error(`agent.trust.manifestRootCa: ${trust.manifestRootCa} is not a CA certificate (basic constraints CA:TRUE)`);
    settings.manifestRootPem = pem;
  }
  return settings;
}
