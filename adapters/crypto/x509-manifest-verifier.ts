import { verify, X509Certificate } from 'node:crypto';
import type { Clock } from '../../application/ports/clock.js';
import { ManifestVerifier } from '../../application/ports/manifest-verifier.js';
import type { ManifestIntegrity } from '../../domain/trust/manifest-integrity.js';

function certificate(base64: string, what: string): X509Certificate | string {
  try {
    return new X509Certificate(Buffer.from(base64, 'base64'));
  } catch {
    return `the ${what} in integrity.header is not an X.509 certificate`;
  }
}

function describe(cert: X509Certificate): string {
  return cert.subject.replace(/\n/g, ', ');
}

/** `cert` was issued and signed by `issuer`. */
function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/**
 * Azure IoT Edge manifest trust with node:crypto: the signer certificate (and the optional
 * intermediate CA from the header) must chain to the configured root CA, every certificate of the
 * chain must be valid now, CAs must be CAs, and the signature must verify over the signed text
 * with the signer's public key: ECDSA as IEEE P1363 `r || s` (what .NET's `ECDsa.SignData`, Azure's
 * signer, produces) or ASN.1 DER; RSA with PKCS#1 v1.5 padding.
 */
export class X509ManifestVerifier extends ManifestVerifier {
  private readonly root: X509Certificate;

  constructor(
    rootPem: string,
    private readonly clock: Clock,
  ) {
    super();
    this.root = new X509Certificate(rootPem);
    if (!this.root.ca) throw new Error(`the manifest trust root ${describe(this.root)} is not a CA certificate`);
  }

  verify(integrity: ManifestIntegrity): string | undefined {
    const signer = certificate(integrity.signerCertificate, 'signer certificate');
    if (typeof signer === 'string') return signer;
    const chain: X509Certificate[] = [signer];
    if (integrity.intermediateCertificate !== undefined) {
      const intermediate = certificate(integrity.intermediateCertificate, 'intermediate CA certificate');
      if (typeof intermediate === 'string') return intermediate;
      if (!intermediate.ca) return `the intermediate certificate ${describe(intermediate)} is not a CA`;
      chain.push(intermediate);
    }
    for (let i = 0; i < chain.length; i++) {
      const issuer = chain[i + 1] ?? this.root;
      if (!issuedBy(chain[i] as X509Certificate, issuer)) {
        return `the signer certificate ${describe(signer)} does not chain to the manifest trust root ${describe(this.root)}${chain.length > 1 ? ' through the intermediate CA' : ''}`;
      }
    }
    const now = this.clock.now();
    for (const cert of [...chain, this.root]) {
      if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) return `the certificate ${describe(cert)} is not valid now (valid ${cert.validFrom} to ${cert.validTo})`;
    }
    const key = signer.publicKey;
    const type = key.asymmetricKeyType;
    if (integrity.scheme === 'ES' ? type !== 'ec' : type !== 'rsa' && type !== 'rsa-pss') {
      return `the algorithm is ${integrity.algorithm} but the signer certificate has a ${type ?? 'unknown'} key`;
    }
    const signature = Buffer.from(integrity.signature, 'base64');
    const data = Buffer.from(integrity.signedText, 'utf8');
    const encodings = integrity.scheme === 'ES' ? (['ieee-p1363', 'der'] as const) : ([undefined] as const);
    for (const dsaEncoding of encodings) {
      try {
        if (verify(integrity.hash, data, dsaEncoding === undefined ? key : { key, dsaEncoding }, signature)) return undefined;
      } catch {
        // Not a signature in this encoding: try the next one.
      }
    }
    return `the ${integrity.algorithm} signature does not match the signed properties (they were changed after signing, or signed by another key)`;
  }
}
