import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from '../../../domain/messages/message.js';
import { SystemClock } from '../../../adapters/clock/system-clock.js';
import { ConnectionStringError, parseDeviceConnectionString } from '../../../adapters/iothub/connection-string.js';
import { StateIdentityStore } from '../../../application/hub/state-identity-store.js';
import { IotHubEmulator } from '../../support/iothub-emulator/iothub-emulator.js';
import { SilentLogger, eventually } from '../../support/pipeline-harness.js';
import { upstreamFor } from '../../support/upstream/iothub-fixture.js';
import { buildUpstreamHub } from '../../support/upstream/upstream-harness.js';
import { InMemoryStateStore } from '../../support/in-memory-state-store.js';
import { testCipher } from '../../support/identity/test-cipher.js';
import { type TestCertificate, issuedCertificate, selfSignedCertificate, testCa } from '../../support/x509/client-certificates.js';

const text = new TextEncoder();
const msg = (n: number): Message => ({ body: text.encode(`{"n":${n}}`), properties: { n: String(n) }, systemProperties: { messageId: `m${n}` } });

test('connection string: x509=true replaces SharedAccessKey; both or neither are refused', () => {
  const parsed = parseDeviceConnectionString('HostName=h.azure-devices.net;DeviceId=edge1;x509=true');
  assert.equal(parsed.x509, true);
  assert.equal(parsed.sharedAccessKey, '');
  assert.throws(() => parseDeviceConnectionString('HostName=h;DeviceId=d;x509=true;SharedAccessKey=a2V5'), ConnectionStringError);
  assert.throws(() => parseDeviceConnectionString('HostName=h;DeviceId=d;x509=false'), ConnectionStringError);
  assert.throws(() => parseDeviceConnectionString('HostName=h;DeviceId=d'), /SharedAccessKey/);
});

async function withX509Upstream(register: (emulator: IotHubEmulator) => void, cert: TestCertificate, body: (ctx: { emulator: IotHubEmulator; h: ReturnType<typeof buildUpstreamHub>; upstream: ReturnType<typeof upstreamFor>; log: SilentLogger }) => Promise<void>): Promise<void> {
  const emulator = new IotHubEmulator();
  register(emulator);
  emulator.registry.add('edge1/$edgeAgent');
  emulator.registry.add('edge1/$edgeHub');
  emulator.registry.add('edge1/mod1');
  emulator.registry.add('leaf1', { parent: 'edge1' });
  await emulator.start();
  const state = new InMemoryStateStore();
  const cipher = testCipher();
  const log = new SilentLogger();
  const connection = parseDeviceConnectionString(emulator.x509ConnectionString('edge1').replace(/;GatewayHostName=[^;]*/, ''));
  const upstream = upstreamFor(emulator, 'edge1', new StateIdentityStore(state, cipher), { connection, x509: { cert: cert.certPem, key: cert.keyPem } }, log);
  const h = buildUpstreamHub({ state, upstream, clock: new SystemClock(), cipher });
  try {
    await h.pumps.start();
    await h.sync.start();
    await body({ emulator, h, upstream, log });
  } finally {
    await h.sync.stop();
    await h.pumps.stop();
    await emulator.close();
  }
}

test('iothub upstream X.509 (thumbprint): the edge device authenticates by its TLS certificate without a CBS token; modules and leaf devices by their own keys on the same connection; device scope over HTTPS with the certificate', { timeout: 60_000 }, async () => {
  const cert = await selfSignedCertificate('edge1');
  await withX509Upstream(
    (emulator) => {
      const edge = emulator.registry.add('edge1', { edge: true });
      edge.x509 = { type: 'selfSigned', thumbprints: [cert.sha256] };
    },
    cert,
    async ({ emulator, h, upstream }) => {
      await eventually(() => upstream.isConnected(), 15_000, 'connected with the certificate');
      await h.sync.idle();
      assert.ok((await h.identities.list()).some((r) => r.identity.kind === 'module' && r.identity.moduleId === 'mod1'), 'device scope fetched with the client certificate');
      await h.ingest.ingest(msg(1), { deviceId: 'edge1' });
      await h.ingest.ingest(msg(2), { deviceId: 'edge1', moduleId: 'mod1' });
      await h.ingest.ingest(msg(3), { deviceId: 'leaf1' });
      await emulator.waitForMessages((r) => r.length === 3, 20_000, 'three messages');
      assert.deepEqual(emulator.messages('edge1').map((m) => m.properties['n']), ['1']);
      assert.deepEqual(emulator.messages('edge1/mod1').map((m) => m.properties['n']), ['2']);
      assert.deepEqual(emulator.messages('leaf1').map((m) => m.properties['n']), ['3']);
      assert.ok((emulator.certificateAuthentications.get('edge1') ?? 0) >= 1, 'edge1 authenticated by certificate');
      assert.equal(emulator.authentications.get('edge1'), undefined, 'no CBS token for the edge device');
      assert.ok((emulator.authentications.get('edge1/mod1') ?? 0) >= 1, 'the module put its own token');
      assert.equal(emulator.openConnections, 1, 'one connection for all');
      assert.deepEqual(emulator.refusals, []);
    },
  );
});

test('iothub upstream X.509 (CA-signed): accepted through a verified CA; a wrong certificate never connects and the emulator names why', { timeout: 60_000 }, async () => {
  const root = await testCa('Hub Root');
  const cert = await issuedCertificate('edge1', root);
  await withX509Upstream(
    (emulator) => {
      emulator.registry.trustedCaPems.push(root.subjectPem);
      emulator.registry.add('edge1', { edge: true }).x509 = { type: 'certificateAuthority' };
    },
    cert,
    async ({ emulator, h, upstream }) => {
      await eventually(() => upstream.isConnected(), 15_000, 'connected with the CA-signed certificate');
      await h.ingest.ingest(msg(7), { deviceId: 'edge1' });
      await emulator.waitForMessages((r) => r.length === 1, 20_000, 'one message');
    },
  );
  const wrong = await selfSignedCertificate('edge1');
  await withX509Upstream(
    (emulator) => {
      emulator.registry.add('edge1', { edge: true }).x509 = { type: 'selfSigned', thumbprints: [cert.sha1] };
    },
    wrong,
    async ({ emulator, upstream, log }) => {
      await eventually(() => upstream.connectAttempts >= 2, 15_000, 'a second attempt');
      assert.ok(log.lines.some((l) => l.message === 'IoT Hub connection could not be set up; reconnecting' && /client certificate is not accepted/.test(String(l.fields?.['error']))), 'the upstream log names the refusal');
      assert.equal(upstream.isConnected(), false);
      assert.equal(upstream.connectionsEstablished, 0);
      assert.ok(emulator.refusals.some((r) => r === 'edge1: thumbprint does not match'), emulator.refusals.join('; '));
    },
  );
});
