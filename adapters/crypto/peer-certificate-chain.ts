import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';

/** Longest chain read from a peer (leaf and intermediates). */
const MAX_CHAIN = 8;

/**
 * The client certificate chain a TLS peer sent (DER, leaf first), or undefined when it sent none.
 * The heads' TLS servers request a certificate without requiring one (`requestCert: true,
 * rejectUnauthorized: false`), so SAS clients keep working on the same port and the hub decides
 * per identity (`AuthenticateCertificate`).
 */
export function peerCertificateChain(socket: TLSSocket | undefined): Uint8Array[] | undefined {
  if (socket === undefined) return undefined;
  let cert: DetailedPeerCertificate | undefined;
  try {
    cert = socket.getPeerCertificate(true);
  } catch {
    return undefined;
  }
  if (cert === undefined || cert === null || cert.raw === undefined) return undefined;
  const chain: Uint8Array[] = [];
  const seen = new Set<DetailedPeerCertificate>();
  let current: DetailedPeerCertificate | undefined = cert;
  while (current !== undefined && current.raw !== undefined && !seen.has(current) && chain.length < MAX_CHAIN) {
    seen.add(current);
    chain.push(new Uint8Array(current.raw));
    // A self-signed certificate is its own issuer: node links it to itself.
    current = current.issuerCertificate === current ? undefined : current.issuerCertificate;
  }
  return chain.length > 0 ? chain : undefined;
}
