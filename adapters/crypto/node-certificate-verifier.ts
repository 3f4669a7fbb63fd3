import { X509Certificate } from 'node:crypto';
import { TLSSocket } from 'node:tls';
import { peerCertificateChain } from './peer-certificate-chain.js';
import { injectable } from 'inversify';
import type { CertificateFacts } from '../../domain/identity/x509.js';
import { type CertificateChain, CertificateParseError, CertificateVerifier, type ChainVerdict } from '../../application/ports/certificate-verifier.js';

/** Longest chain followed (leaf, intermediates, CA): bounds the work a client can ask for. */
const MAX_CHAIN = 8;

function commonNameOf(subject: string): string | undefined {
  // node prints the subject one attribute per line: `CN=dev-1\nO=...`.
  for (const line of subject.split('\n')) if (line.startsWith('CN=')) return line.slice(3);
  return undefined;
}

function parse(der: Uint8Array): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (error) {
    throw new CertificateParseError(`the client certificate cannot be parsed: ${(error as Error).message}`, { cause: error });
  }
}

function validAt(cert: X509Certificate, nowMs: number): boolean {
  return Date.parse(cert.validFrom) <= nowMs && nowMs <= Date.parse(cert.validTo);
}

/** `child` was issued and signed by `parent`. */
function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  return child.checkIssued(parent) && child.verify(parent.publicKey);
}

/** `CertificateVerifier` on `node:crypto` X509Certificate (OpenSSL): thumbprints, CN, validity, signatures. */
@injectable()
export class NodeCertificateVerifier extends CertificateVerifier {
  /** Parsed trusted CA PEMs, by PEM text (the hub's list is the same on every call). */
  private readonly parsedCas = new Map<string, X509Certificate[]>();

  inspect(chain: CertificateChain): CertificateFacts {
    const leafDer = chain[0];
    if (leafDer === undefined) throw new CertificateParseError('no client certificate');
    const leaf = parse(leafDer);
    const commonName = commonNameOf(leaf.subject);
    return {
      sha1Thumbprint: leaf.fingerprint.replace(/:/g, '').toUpperCase(),
      sha256Thumbprint: leaf.fingerprint256.replace(/:/g, '').toUpperCase(),
      ...(commonName !== undefined ? { commonName } : {}),
      notBeforeMs: Date.parse(leaf.validFrom),
      notAfterMs: Date.parse(leaf.validTo),
    };
  }

  verifyChain(chain: CertificateChain, trustedCaPems: readonly string[], nowMs: number): ChainVerdict {
    if (chain.length === 0) return { ok: false, detail: 'no client certificate' };
    const trusted = trustedCaPems.flatMap((pem) => this.cas(pem));
    if (trusted.length === 0) return { ok: false, detail: 'no trusted CA is configured for this identity (hub.x509.trustedCaFiles or the identity\'s own CA)' };
    const presented = chain.slice(0, MAX_CHAIN).map(parse);
    let current = presented[0]!;
    for (let depth = 0; depth < MAX_CHAIN; depth++) {
      if (!validAt(current, nowMs)) return { ok: false, detail: `certificate ${JSON.stringify(current.subject.replace(/\n/g, ', '))} in the chain is not valid now (${current.validFrom} - ${current.validTo})` };
      const anchor = trusted.find((ca) => issuedBy(current, ca));
      if (anchor !== undefined) {
        if (!validAt(anchor, nowMs)) return { ok: false, detail: `the trusted CA ${JSON.stringify(anchor.subject.replace(/\n/g, ', '))} is not valid now` };
        return { ok: true, caSubject: anchor.subject.replace(/\n/g, ', ') };
      }
      const next = presented.find((candidate) => candidate !== current && !candidate.raw.equals(current.raw) && issuedBy(current, candidate));
      if (next === undefined) break;
      current = next;
    }
    return { ok: false, detail: `the certificate chain (issuer ${JSON.stringify(current.issuer.replace(/\n/g, ', '))}) does not end at a trusted CA` };
  }

  peerChain(socket: unknown): CertificateChain | undefined {
    return socket instanceof TLSSocket ? peerCertificateChain(socket) : undefined;
  }

  private cas(pem: string): X509Certificate[] {
    let parsed = this.parsedCas.get(pem);
    if (parsed === undefined) {
      parsed = splitPem(pem).map((one) => new X509Certificate(one));
      if (this.parsedCas.size > 1000) this.parsedCas.clear();
      this.parsedCas.set(pem, parsed);
    }
    return parsed;
  }
}

/** The certificates of a PEM bundle. */
export function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
