// @peculiar/x509 needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import { BasicConstraintsExtension, KeyUsageFlags, KeyUsagesExtension, X509Certificate as PeculiarCertificate, X509CertificateGenerator } from '@peculiar/x509';
import { createPrivateKey, sign, webcrypto, type KeyObject } from 'node:crypto';
import { canonicalize } from '../../../domain/trust/json-canonicalization.js';
import { SIGNED_PROPERTIES, type ManifestSigningAlgorithm } from '../../../domain/trust/manifest-integrity.js';

const crypto = webcrypto;
const DAY = 86_400_000;

export type KeyKind = 'ec-p256' | 'ec-p384' | 'rsa';

const KEY_PARAMS: Record<KeyKind, { generate: webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams; signing: webcrypto.EcdsaParams | webcrypto.Algorithm }> = {
  'ec-p256': { generate: { name: 'ECDSA', namedCurve: 'P-256' }, signing: { name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams },
  'ec-p384': { generate: { name: 'ECDSA', namedCurve: 'P-384' }, signing: { name: 'ECDSA', hash: 'SHA-384' } as webcrypto.EcdsaParams },
  rsa: { generate: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, signing: { name: 'RSASSA-PKCS1-v1_5' } },
};

/** A certificate with its private key (node:crypto form, for signing manifests). */
export interface Issued {
  pem: string;
  /** Base64 DER, as the integrity header carries it. */
  base64: string;
  privateKey: KeyObject;
  signingKey: webcrypto.CryptoKey;
  subject: string;
  kind: KeyKind;
}

async function issue(subject: string, kind: KeyKind, issuer: Issued | undefined, ca: boolean, validity: { from: Date; to: Date }): Promise<Issued> {
  const params = KEY_PARAMS[kind];
  const keys = (await crypto.subtle.generateKey(params.generate, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const extensions = [
    new BasicConstraintsExtension(ca, ca ? 1 : undefined, true),
    new KeyUsagesExtension(ca ? KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign | KeyUsageFlags.digitalSignature : KeyUsageFlags.digitalSignature, true),
  ];
  const signingAlgorithm = KEY_PARAMS[issuer?.kind ?? kind].signing;
  const cert =
    issuer === undefined
      ? await X509CertificateGenerator.createSelfSigned({ name: `CN=${subject}`, keys, notBefore: validity.from, notAfter: validity.to, signingAlgorithm, extensions }, crypto)
      : await X509CertificateGenerator.create(
          { subject: `CN=${subject}`, issuer: new PeculiarCertificate(issuer.pem).subjectName, publicKey: keys.publicKey, signingKey: issuer.signingKey, notBefore: validity.from, notAfter: validity.to, signingAlgorithm, extensions, serialNumber: '01' },
          crypto,
        );
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
  const pem = cert.toString('pem');
  return { pem, base64: Buffer.from(cert.rawData).toString('base64'), privateKey: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }), signingKey: keys.privateKey, subject, kind };
}

const now = (): { from: Date; to: Date } => ({ from: new Date(Date.now() - DAY), to: new Date(Date.now() + 365 * DAY) });

export function rootCa(subject = 'Manifest Root CA', kind: KeyKind = 'ec-p256'): Promise<Issued> {
  return issue(subject, kind, undefined, true, now());
}

export function intermediateCa(issuer: Issued, subject = 'Manifest Intermediate CA', kind: KeyKind = 'ec-p256'): Promise<Issued> {
  return issue(subject, kind, issuer, true, now());
}

export function signerCertificate(issuer: Issued, subject = 'Manifest Signer', kind: KeyKind = 'ec-p256', validity = now()): Promise<Issued> {
  return issue(subject, kind, issuer, false, validity);
}

/** The base64 split in two halves, as Azure's ManifestSignerClient writes header certificates. */
function halves(base64: string): string[] {
  const middle = Math.floor(base64.length / 2);
  return [base64.slice(0, middle), base64.slice(middle)];
}

export interface SignOptions {
  algorithm: ManifestSigningAlgorithm;
  intermediate?: Issued;
  /** ECDSA signature form: .NET's IEEE P1363 `r || s` (Azure's signer; default) or DER. */
  encoding?: 'ieee-p1363' | 'der';
}

/**
 * Signs the `$edgeAgent` section of `manifest` as Azure's ManifestSignerClient does: the header
 * (`signercert`, `intermediatecacert` as base64 halves), then JCS(header) + JCS(the signed desired
 * properties) signed with the signer's key; `integrity` is added to the desired properties.
 */
export function signManifest(manifest: Record<string, any>, signer: Issued, options: SignOptions): Record<string, any> { // any: manifests are edited freely
  const copy = structuredClone(manifest);
  const desired = copy['modulesContent']['$edgeAgent']['properties.desired'] as Record<string, unknown>;
  const header: Record<string, string[]> = { signercert: halves(signer.base64) };
  if (options.intermediate !== undefined) header['intermediatecacert'] = halves(options.intermediate.base64);
  const signed = Object.fromEntries(SIGNED_PROPERTIES.map((key) => [key, desired[key] ?? null]));
  const data = Buffer.from(canonicalize(header) + canonicalize(signed), 'utf8');
  const hash = `sha${options.algorithm.slice(2)}`;
  const bytes = options.algorithm.startsWith('ES') ? sign(hash, data, { key: signer.privateKey, dsaEncoding: options.encoding ?? 'ieee-p1363' }) : sign(hash, data, signer.privateKey);
  desired['integrity'] = { header, signature: { bytes: bytes.toString('base64'), algorithm: options.algorithm } };
  return copy;
}
