// @peculiar/x509 depends on tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  PemConverter,
  SubjectKeyIdentifierExtension,
  X509Certificate as PeculiarX509Certificate,
  X509CertificateGenerator,
} from '@peculiar/x509';
import { X509Certificate, randomBytes, webcrypto } from 'node:crypto';

const crypto = webcrypto;
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const EC_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A test certificate: PEM certificate (leaf first, then any intermediates), its PEM key and thumbprints. */
export interface TestCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  /** Upper-case hex, as `identity add --thumbprint` stores them. */
  readonly sha1: string;
  readonly sha256: string;
  readonly signingKey: CryptoKey;
  readonly subjectPem: string;
}

export interface CertificateOptions {
  /** Default: now - 1 day. */
  readonly notBefore?: Date;
  /** Default: now + 30 days. */
  readonly notAfter?: Date;
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

async function finish(generated: PeculiarX509Certificate, keys: CryptoKeyPair, chainPems: string[] = []): Promise<TestCertificate> {
  const pem = generated.toString('pem');
  const node = new X509Certificate(pem);
  return {
    certPem: [pem, ...chainPems].join('\n'),
    subjectPem: pem,
    keyPem: PemConverter.encode(await crypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY'),
    sha1: node.fingerprint.replace(/:/g, ''),
    sha256: node.fingerprint256.replace(/:/g, ''),
    signingKey: keys.privateKey,
  };
}

function validity(options: CertificateOptions): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return { notBefore: options.notBefore ?? new Date(now - DAY_MS), notAfter: options.notAfter ?? new Date(now + 30 * DAY_MS) };
}

/** A self-signed client certificate with subject CN `commonName` (thumbprint authentication). */
export async function selfSignedCertificate(commonName: string, options: CertificateOptions = {}): Promise<TestCertificate> {
  const keys = (await crypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify'])) as CryptoKeyPair;
  const generated = await X509CertificateGenerator.createSelfSigned(
    {
      name: [{ CN: [commonName] }],
      keys,
      serialNumber: serial(),
      ...validity(options),
      signingAlgorithm: SIGNING,
      extensions: [new ExtendedKeyUsageExtension([ExtendedKeyUsage.clientAuth], false)],
    },
    crypto,
  );
  return await finish(generated, keys);
}

/** A CA certificate (to be trusted with `hub.x509.trustedCaFiles` or `identity add --ca`). */
export async function testCa(commonName: string, options: CertificateOptions = {}): Promise<TestCertificate> {
  const keys = (await crypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify'])) as CryptoKeyPair;
  const generated = await X509CertificateGenerator.createSelfSigned(
    {
      name: [{ CN: [commonName] }],
      keys,
      serialNumber: serial(),
      ...validity({ notAfter: new Date(Date.now() + 365 * DAY_MS), ...options }),
      signingAlgorithm: SIGNING,
      extensions: [
        new BasicConstraintsExtension(true, 1, true),
        new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign | KeyUsageFlags.digitalSignature, true),
        await SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return await finish(generated, keys);
}

/**
 * A certificate issued by `issuer` with subject CN `commonName`: a device certificate, or with
 * `ca: true` an intermediate CA. `certPem` carries the intermediates of `issuer` after the leaf
 * (what a client sends).
 */
export async function issuedCertificate(commonName: string, issuer: TestCertificate, options: CertificateOptions & { ca?: boolean } = {}): Promise<TestCertificate> {
  const keys = (await crypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify'])) as CryptoKeyPair;
  const issuerCert = new PeculiarX509Certificate(issuer.subjectPem);
  const generated = await X509CertificateGenerator.create(
    {
      subject: [{ CN: [commonName] }],
      issuer: issuerCert.subjectName,
      publicKey: keys.publicKey,
      signingKey: issuer.signingKey,
      serialNumber: serial(),
      ...validity(options),
      signingAlgorithm: SIGNING,
      extensions: [
        options.ca === true ? new BasicConstraintsExtension(true, 0, true) : new BasicConstraintsExtension(false, undefined, true),
        options.ca === true
          ? new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.digitalSignature, true)
          : new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyAgreement, true),
        ...(options.ca === true ? [] : [new ExtendedKeyUsageExtension([ExtendedKeyUsage.clientAuth], false)]),
        await SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        await AuthorityKeyIdentifierExtension.create(issuerCert.publicKey.rawData, false, crypto),
      ],
    },
    crypto,
  );
  // The issuer's own chain (beyond the issuer's subject certificate) is not sent: the trusted root stays out, intermediates go in.
  const issuerIsRoot = issuer.certPem === issuer.subjectPem && new X509Certificate(issuer.subjectPem).issuer === new X509Certificate(issuer.subjectPem).subject;
  return await finish(generated, keys, issuerIsRoot ? [] : [issuer.certPem]);
}

/** The DER chain of a PEM bundle (leaf first), as a TLS peer would send it. */
export function derChain(pem: string): Uint8Array[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((one) => new Uint8Array(new X509Certificate(one).raw));
}
