/**
 * X.509 login benchmark: `npm run bench:x509 [-- --logins=2000 --rounds=7]`. What authenticating a
 * client by its certificate costs per login (`AuthenticateCertificate`: parse the leaf, look up the
 * identity, match a thumbprint, or verify a leaf -> intermediate -> trusted CA chain with CN check)
 * against the SAS login the hub already does (`AuthenticateClient`: parse the token, HMAC-SHA256 with
 * both keys) in the same run, on the same in-memory store. Medians over `--rounds`. The last line is
 * `x509 logins: thumbprint/SAS = R1, CA chain/SAS = R2`.
 */
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { parseIdentity } from '../domain/identity/identity.js';
import { AuthenticateCertificate, X509AuthOptions } from '../application/hub/authenticate-certificate.js';
import { AuthenticateClient } from '../application/hub/authenticate-client.js';
import { SystemClock } from '../adapters/clock/system-clock.js';
import { NodeSasSigner } from '../adapters/crypto/node-crypto.js';
import { NodeCertificateVerifier } from '../adapters/crypto/node-certificate-verifier.js';
import { InMemoryIdentityStore } from '../adapters/identity/in-memory-identity-store.js';
import { derChain, issuedCertificate, selfSignedCertificate, testCa } from '../test/support/x509/client-certificates.js';
import { sdkDeviceToken } from '../test/support/identity/sdk-sas-token.js';
import { arg } from './bench-args.js';

const LOGINS = arg('logins', 2000);
const ROUNDS = arg('rounds', 7);
const HUB = 'bench.azure-devices.net';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Microseconds per login of `login` (which must succeed), median over ROUNDS after a warm-up. */
async function timed(login: () => Promise<boolean>): Promise<number> {
  const round = async (): Promise<void> => {
    for (let i = 0; i < LOGINS; i++) if (!(await login())) throw new Error('login refused');
  };
  await round();
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    await round();
    samples.push(((performance.now() - start) * 1000) / LOGINS);
  }
  return median(samples);
}

const store = new InMemoryIdentityStore();
const clock = new SystemClock();
const root = await testCa('Bench Root');
const intermediate = await issuedCertificate('Bench Intermediate', root, { ca: true });
const caLeaf = await issuedCertificate('ca-dev', intermediate);
const thumbLeaf = await selfSignedCertificate('thumb-dev');
const key = Buffer.alloc(32, 7).toString('base64');
await store.put(parseIdentity('sas-dev'), { primaryKey: key, secondaryKey: Buffer.alloc(32, 8).toString('base64') });
await store.put(parseIdentity('thumb-dev'), { primaryKey: '', secondaryKey: '', x509: { type: 'selfSigned', primaryThumbprint: thumbLeaf.sha256 } });
await store.put(parseIdentity('ca-dev'), { primaryKey: '', secondaryKey: '', x509: { type: 'certificateAuthority' } });
const certificates = new AuthenticateCertificate(store, new NodeCertificateVerifier(), clock, new X509AuthOptions({ trustedCaPems: [root.subjectPem] }));
const sas = new AuthenticateClient(store, new NodeSasSigner(), clock);
const token = sdkDeviceToken({ host: HUB, deviceId: 'sas-dev', key, expiry: Math.floor(Date.now() / 1000) + 3600 });
const thumbChain = derChain(thumbLeaf.certPem);
const caChain = derChain(caLeaf.certPem);

const sasUs = await timed(async () => (await sas.execute({ identity: parseIdentity('sas-dev'), token, iotHubHostName: HUB })).ok);
const thumbUs = await timed(async () => (await certificates.execute(parseIdentity('thumb-dev'), thumbChain)).ok);
const caUs = await timed(async () => (await certificates.execute(parseIdentity('ca-dev'), caChain)).ok);
console.log(`SAS login: ${sasUs.toFixed(1)} µs; thumbprint login: ${thumbUs.toFixed(1)} µs; CA chain login (leaf + intermediate, ECDSA P-256): ${caUs.toFixed(1)} µs`);
console.log(`x509 logins: thumbprint/SAS = ${(thumbUs / sasUs).toFixed(2)}, CA chain/SAS = ${(caUs / sasUs).toFixed(2)}`);
