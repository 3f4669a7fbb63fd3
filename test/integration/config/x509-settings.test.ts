import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../../infrastructure/config/load-config.js';
import { hubX509 } from '../../../infrastructure/composition/container.js';
import { readUpstreamX509 } from '../../../infrastructure/composition/upstream-ca-file.js';
import { selfSignedCertificate, testCa } from '../../support/x509/client-certificates.js';

test('hub.x509 and upstream x509 settings: CA files are read at start, an unreadable one is named; x509=true needs the certificate and key files; a key readable by others is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeport-x509-config-'));
  try {
    const ca = await testCa('Config CA');
    writeFileSync(join(dir, 'ca.pem'), ca.subjectPem);
    const config = loadConfig({ env: { EDGEPORT_DATA_DIR: dir, EDGEPORT_HUB_X509_TRUSTED_CA_FILES: `${join(dir, 'ca.pem')}`, EDGEPORT_HUB_X509_REVOCATION_CHECK_SECS: '3' }, cwd: dir });
    assert.deepEqual(hubX509(config), { trustedCaPems: [ca.subjectPem], revocationCheckMs: 3000 });
    const missing = loadConfig({ env: { EDGEPORT_DATA_DIR: dir, EDGEPORT_HUB_X509_TRUSTED_CA_FILES: join(dir, 'nope.pem') }, cwd: dir });
    assert.throws(() => hubX509(missing), /hub\.x509\.trustedCaFiles entry .*nope\.pem/);

    const env = { EDGEPORT_DATA_DIR: dir, EDGEPORT_DEVICE_ID: 'edge1', EDGEPORT_IOT_HUB_HOSTNAME: 'h.azure-devices.net', EDGEPORT_UPSTREAM_KIND: 'iothub', EDGEPORT_UPSTREAM_CONNECTION_STRING: 'HostName=h.azure-devices.net;DeviceId=edge1;x509=true' };
    assert.throws(
      () => loadConfig({ env, cwd: dir }),
      (error: unknown) => error instanceof ConfigError && /upstream\.x509CertFile/.test(error.message) && /upstream\.x509KeyFile/.test(error.message),
    );
    const cert = await selfSignedCertificate('edge1');
    writeFileSync(join(dir, 'edge.pem'), cert.certPem);
    writeFileSync(join(dir, 'edge.key'), cert.keyPem, { mode: 0o600 });
    const ok = loadConfig({ env: { ...env, EDGEPORT_UPSTREAM_X509_CERT_FILE: join(dir, 'edge.pem'), EDGEPORT_UPSTREAM_X509_KEY_FILE: join(dir, 'edge.key') }, cwd: dir });
    assert.deepEqual(readUpstreamX509(ok.upstream.x509CertFile, ok.upstream.x509KeyFile), { cert: cert.certPem, key: cert.keyPem });
    writeFileSync(join(dir, 'open.key'), cert.keyPem, { mode: 0o644 });
    assert.throws(() => readUpstreamX509(join(dir, 'edge.pem'), join(dir, 'open.key')), /upstream\.x509KeyFile .*open\.key is readable by group or others \(mode 644\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
