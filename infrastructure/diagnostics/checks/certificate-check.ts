import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EDGE_CERT_FILES } from '../../certs/edge-certificates.js';
import type { CheckContext } from '../check-context.js';
import { type Check, type CheckOutcome, failure, ok, warning, worst } from '../check-model.js';

/** A certificate expiring sooner than this is a warning. */
export const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;

function readCertificate(path: string): X509Certificate | undefined | Error {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return new Error(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  try {
    return new X509Certificate(pem);
  } catch {
    return new Error(`${path} is not a PEM certificate`);
  }
}

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

function validity(name: string, cert: X509Certificate, now: number, renew: string): CheckOutcome {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (now < from) return failure(`the ${name} is not valid before ${day(from)} (is the clock right?)`, `set the clock (NTP), or ${renew}`);
  if (now >= to) return failure(`the ${name} expired on ${day(to)}`, renew);
  const days = Math.floor((to - now) / DAY_MS);
  if (days < EXPIRY_WARNING_DAYS) return warning(`the ${name} expires in ${days} day${days === 1 ? '' : 's'} (${day(to)})`, renew);
  return ok(`the ${name} is valid until ${day(to)}`);
}

/**
 * The edge CA and the hub's server certificate: readable, within their validity (not expiring in
 * {@link EXPIRY_WARNING_DAYS}), the server certificate issued by the CA and naming `hostname`.
 * `edgeport run` renews a server certificate that fails any of these at start, and a new CA when
 * the CA expired; a running runtime keeps serving what it loaded.
 */
export const certificatesCheck: Check<CheckContext> = {
  id: 'certificates',
  description: 'edge CA and server certificate are valid',
  async run(context) {
    const { config } = context;
    const dir = config.certs.dir;
    const ca = readCertificate(join(dir, EDGE_CERT_FILES.caCert));
    const server = readCertificate(join(dir, EDGE_CERT_FILES.serverCert));
    if (ca === undefined && server === undefined) return ok(`not created yet: edgeport run creates the edge CA and server certificate in ${dir}`);
    const restart = (await context.runtime()).running ? 'restart the runtime' : 'start the runtime';
    const renewServer = `${restart}: edgeport run issues a new server certificate from the edge CA (or delete ${join(dir, EDGE_CERT_FILES.serverCert)} first)`;
    const renewCa = `${restart}: edgeport run creates a new edge CA (clients must then trust it: edgeport cert ca-path)`;
    const outcomes: CheckOutcome[] = [];
    for (const [name, cert] of [['edge CA', ca], ['server certificate', server]] as const) {
      if (cert instanceof Error) outcomes.push(failure(cert.message, name === 'edge CA' ? renewCa : renewServer));
      else if (cert === undefined) outcomes.push(failure(`the ${name} is missing from ${dir}`, name === 'edge CA' ? renewCa : renewServer));
      else outcomes.push(validity(name, cert, context.now(), name === 'edge CA' ? renewCa : renewServer));
    }
    if (ca instanceof X509Certificate && server instanceof X509Certificate) {
      if (!server.checkIssued(ca) || !server.verify(ca.publicKey)) outcomes.push(failure('the server certificate was not issued by the edge CA', renewServer));
      const host = config.hostname;
      const named = isIP(host) !== 0 ? server.checkIP(host) !== undefined : server.checkHost(host) !== undefined;
      if (!named) outcomes.push(failure(`the server certificate does not name the configured hostname "${host}" (${server.subjectAltName ?? server.subject})`, renewServer));
    }
    const serverTo = server instanceof X509Certificate ? ` and the server certificate for ${config.hostname} until ${day(Date.parse(server.validTo))}` : '';
    const caTo = ca instanceof X509Certificate ? `the edge CA is valid until ${day(Date.parse(ca.validTo))}` : '';
    return worst(outcomes, `${caTo}${serverTo}`);
  },
};
