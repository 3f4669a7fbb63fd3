import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, createServer, type Server } from 'node:tls';
import { Logger, type LogFields } from '../../../application/ports/logger.js';
import { EDGE_CERT_FILES, ensureEdgeCertificates, type EdgeCertificates } from '../../../infrastructure/certs/edge-certificates.js';

const DAY = 24 * 60 * 60 * 1000;
const HOSTNAME = 'edge-gw.test.internal';

class RecordingLogger extends Logger {
  readonly lines: string[] = [];
  constructor(private readonly bindings: LogFields = {}) {
    super();
  }
  private record(level: string, message: string, fields?: LogFields): void {
    this.lines.push(JSON.stringify({ level, message, ...this.bindings, ...fields }));
  }
  debug(message: string, fields?: LogFields): void { this.record('debug', message, fields); }
  info(message: string, fields?: LogFields): void { this.record('info', message, fields); }
  warn(message: string, fields?: LogFields): void { this.record('warn', message, fields); }
  error(message: string, fields?: LogFields): void { this.record('error', message, fields); }
  child(bindings: LogFields): Logger { return new RecordingLogger({ ...this.bindings, ...bindings }); }
}

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const base = await mkdtemp(join(tmpdir(), 'edgeport-certs-'));
  dirs.push(base);
  return join(base, 'certs');
}
after(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const pemBody = (pem: string): string => pem.split('\n').filter((line) => !line.startsWith('-----')).join('');

describe('ensureEdgeCertificates: files', () => {
  test('first call creates the CA and server certificate with private permissions', async () => {
    const dir = await tempDir();
    const logger = new RecordingLogger();
    const certs = await ensureEdgeCertificates({ dir, hostname: HOSTNAME, logger });
    assert.equal(certs.created, true);
    assert.equal(certs.caCertPath, join(dir, EDGE_CERT_FILES.caCert));
    assert.equal(await readFile(certs.caCertPath, 'utf8'), certs.caCertPem);
    assert.equal(await readFile(certs.serverCertPath, 'utf8'), certs.serverCertPem);
    assert.equal(await readFile(certs.serverKeyPath, 'utf8'), certs.serverKeyPem);
    assert.match(certs.serverKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);

    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal((await stat(certs.serverKeyPath)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, EDGE_CERT_FILES.caKey))).mode & 0o777, 0o600);
    assert.deepEqual((await readdir(dir)).sort(), Object.values(EDGE_CERT_FILES).sort(), 'no temp files left');

    // Logged what happened, never the keys.
    const logged = logger.lines.join('\n');
    assert.ok(logger.lines.length > 0);
    assert.ok(!logged.includes('PRIVATE KEY'));
    const caKeyPem = await readFile(join(dir, EDGE_CERT_FILES.caKey), 'utf8');
    for (const key of [certs.serverKeyPem, caKeyPem]) {
      assert.ok(!logged.includes(pemBody(key).slice(0, 40)));
    }
  });

  test('second call reuses the files unchanged', async () => {
    const dir = await tempDir();
    const first = await ensureEdgeCertificates({ dir, hostname: HOSTNAME });
    const caKey = await readFile(join(dir, EDGE_CERT_FILES.caKey), 'utf8');
    const second = await ensureEdgeCertificates({ dir, hostname: HOSTNAME.toUpperCase() });
    assert.equal(second.created, false);
    assert.equal(second.caCertPem, first.caCertPem);
    assert.equal(second.serverCertPem, first.serverCertPem);
    assert.equal(second.serverKeyPem, first.serverKeyPem);
    assert.equal(await readFile(join(dir, EDGE_CERT_FILES.caKey), 'utf8'), caKey);
  });

  test('a hostname change reissues the server certificate only', async () => {
    const dir = await tempDir();
    const first = await ensureEdgeCertificates({ dir, hostname: HOSTNAME });
    const second = await ensureEdgeCertificates({ dir, hostname: 'other-gw.test.internal' });
    assert.equal(second.created, true);
    assert.equal(second.caCertPem, first.caCertPem);
    assert.notEqual(second.serverCertPem, first.serverCertPem);
    assert.notEqual(second.serverKeyPem, first.serverKeyPem);
    const server = new X509Certificate(second.serverCertPem);
    assert.match(server.subjectAltName ?? '', /DNS:other-gw\.test\.internal/);
    assert.doesNotMatch(server.subjectAltName ?? '', /edge-gw/);
    assert.ok(server.checkIssued(new X509Certificate(first.caCertPem)));
  });

  test('an expired (or soon expiring) server certificate is reissued from the same CA', async () => {
    const dir = await tempDir();
    const now = new Date();
    const first = await ensureEdgeCertificates({ dir, hostname: HOSTNAME, now });
    const later = new Date(now.getTime() + 360 * DAY);
    const second = await ensureEdgeCertificates({ dir, hostname: HOSTNAME, now: later });
    assert.equal(second.created, true);
    assert.equal(second.caCertPem, first.caCertPem);
    assert.notEqual(second.serverCertPem, first.serverCertPem);
    assert.ok(Date.parse(new X509Certificate(second.serverCertPem).validTo) > later.getTime() + 300 * DAY);
  });

  test('a missing server key or certificate is repaired', async () => {
    const dir = await tempDir();
    const first = await ensureEdgeCertificates({ dir, hostname: HOSTNAME });
    await unlink(first.serverKeyPath);
    const second = await ensureEdgeCertificates({ dir, hostname: HOSTNAME });
    assert.equal(second.created, true);
    assert.equal(second.caCertPem, first.caCertPem);
    assert.notEqual(second.serverKeyPem, first.serverKeyPem);
    await unlink(second.serverCertPath);
    const third = await ensureEdgeCertificates({ dir, hostname: HOSTNAME });
    assert.equal(third.created, true);
    assert.equal(third.caCertPem, first.caCertPem);
  });

  test('an expired CA is replaced, and the server certificate with it', async () => {
    const dir = await tempDir();
    const now = new Date();
    const first = await ensureEdgeCertificates({ dir, hostname: HOSTNAME, now });
    const second = await ensureEdgeCertificates({ dir, hostname: HOSTNAME, now: new Date(now.getTime() + 6 * 365 * DAY) });
    assert.equal(second.created, true);
    assert.notEqual(second.caCertPem, first.caCertPem);
    assert.ok(new X509Certificate(second.serverCertPem).checkIssued(new X509Certificate(second.caCertPem)));
  });

  test('certificate contents: CA flags, SANs, EKU, validity', async () => {
    const dir = await tempDir();
    const now = new Date();
    const certs = await ensureEdgeCertificates({ dir, hostname: HOSTNAME, now });
    const ca = new X509Certificate(certs.caCertPem);
    const server = new X509Certificate(certs.serverCertPem);

    assert.equal(ca.ca, true);
    assert.equal(ca.issuer, ca.subject, 'self-signed');
    assert.ok(ca.verify(ca.publicKey));
    assert.ok(Date.parse(ca.validTo) - now.getTime() >= 365 * DAY);
    assert.equal(ca.publicKey.asymmetricKeyType, 'ec');

    assert.equal(server.ca, false);
    assert.ok(server.checkIssued(ca));
    assert.ok(server.verify(ca.publicKey));
    const sans = (server.subjectAltName ?? '').split(', ').sort();
    assert.deepEqual(sans, [`DNS:${HOSTNAME}`, 'DNS:localhost', 'IP Address:127.0.0.1']);
    assert.deepEqual(server.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'serverAuth EKU');
    assert.equal(server.checkHost(HOSTNAME), HOSTNAME);
    assert.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(server.checkHost('wrong.test.internal'), undefined);
    assert.ok(Date.parse(server.validTo) <= Date.parse(ca.validTo));
  });

  test('an IP address as hostname becomes an IP SAN', async () => {
    const certs = await ensureEdgeCertificates({ dir: await tempDir(), hostname: '10.1.2.3' });
    const sans = (new X509Certificate(certs.serverCertPem).subjectAltName ?? '').split(', ').sort();
    assert.deepEqual(sans, ['DNS:localhost', 'IP Address:10.1.2.3', 'IP Address:127.0.0.1']);
  });
});

describe('ensureEdgeCertificates: TLS', () => {
  let certs: EdgeCertificates;
  let server: Server;
  let port: number;

  before(async () => {
    certs = await ensureEdgeCertificates({ dir: await tempDir(), hostname: HOSTNAME });
    server = createServer({ cert: certs.serverCertPem, key: certs.serverKeyPem }, (socket) => socket.end('hello'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function handshake(servername: string | undefined): Promise<string> {
    return await new Promise((resolve, reject) => {
      const options = { host: '127.0.0.1', port, ca: [certs.caCertPem], ...(servername === undefined ? {} : { servername }) };
      const socket = connect(options, () => {
        let data = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => { data += chunk; });
        socket.on('end', () => resolve(data));
      });
      socket.on('error', reject);
    });
  }

  test('a client trusting only the edge CA connects to 127.0.0.1', async () => {
    assert.equal(await handshake(undefined), 'hello');
  });

  test('... with servername localhost', async () => {
    assert.equal(await handshake('localhost'), 'hello');
  });

  test('... with the configured hostname', async () => {
    assert.equal(await handshake(HOSTNAME), 'hello');
  });

  test('... and is refused for a wrong servername', async () => {
    await assert.rejects(handshake('wrong.test.internal'), (error: NodeJS.ErrnoException) => {
      assert.equal(error.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
      return true;
    });
  });

  test('a client without the edge CA is refused', async () => {
    await assert.rejects(
      new Promise((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port, servername: 'localhost' }, () => resolve(socket.end()));
        socket.on('error', reject);
      }),
      (error: NodeJS.ErrnoException) => {
        assert.match(String(error.code), /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/);
        return true;
      },
    );
  });
});
