import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loopbackListeners } from '../../support/cli/edgeport-cli.js';
import { IotHubEmulator } from '../../support/iothub-emulator/iothub-emulator.js';
import { Client, Message, Mqtt, X509AuthenticationProvider } from '../../support/mqtt/sdk.js';
import { within } from '../../support/mqtt/hub-harness.js';
import { RuntimeProcess } from '../../support/runtime-process.js';
import { issuedCertificate, testCa } from '../../support/x509/client-certificates.js';

test('e2e X.509: `edgeport run` connects to the emulator with its device certificate (upstream.x509CertFile, no CBS token for the edge device); a SAS leaf\'s telemetry goes up; an X.509 leaf from the device scope authenticates with a CA trusted by hub.x509.trustedCaFiles', { timeout: 120_000 }, async () => {
  const root = await testCa('Fleet Root');
  const edgeCert = await issuedCertificate('edge1', root);
  const leafCert = await issuedCertificate('x509-leaf', root);
  const emulator = new IotHubEmulator();
  emulator.registry.trustedCaPems.push(root.subjectPem);
  emulator.registry.add('edge1', { edge: true }).x509 = { type: 'certificateAuthority' };
  for (const m of ['$edgeAgent', '$edgeHub']) emulator.registry.add(`edge1/${m}`);
  const sasLeaf = emulator.registry.add('sas-leaf', { parent: 'edge1' });
  emulator.registry.add('x509-leaf', { parent: 'edge1' }).x509 = { type: 'certificateAuthority' };
  await emulator.start();
  const dataDir = mkdtempSync(join(tmpdir(), 'edgeport-x509-e2e-'));
  const file = (name: string, text: string, mode = 0o644): string => {
    writeFileSync(join(dataDir, name), text, { mode });
    return join(dataDir, name);
  };
  const listeners = await loopbackListeners();
  const runtime = new RuntimeProcess(dataDir, {
    EDGEPORT_HOSTNAME: 'localhost',
    EDGEPORT_DEVICE_ID: 'edge1',
    EDGEPORT_IOT_HUB_HOSTNAME: emulator.hostName,
    ...listeners,
    EDGEPORT_AGENT_RUNTIME: 'process',
    EDGEPORT_UPSTREAM_KIND: 'iothub',
    EDGEPORT_UPSTREAM_CONNECTION_STRING: `HostName=${emulator.hostName};DeviceId=edge1;x509=true`,
    EDGEPORT_UPSTREAM_X509_CERT_FILE: file('edge1.pem', edgeCert.certPem),
    EDGEPORT_UPSTREAM_X509_KEY_FILE: file('edge1.key', edgeCert.keyPem, 0o600),
    EDGEPORT_UPSTREAM_HOST: 'localhost',
    EDGEPORT_UPSTREAM_AMQP_PORT: String(emulator.amqpPort),
    EDGEPORT_UPSTREAM_HTTPS_PORT: String(emulator.httpsPort),
    EDGEPORT_UPSTREAM_CA_FILE: file('emulator-ca.pem', emulator.ca),
    EDGEPORT_HUB_X509_TRUSTED_CA_FILES: file('fleet-root.pem', root.subjectPem),
    EDGEPORT_LOG_LEVEL: 'info',
  });
  const clients: Client[] = [];
  try {
    await runtime.until('edgeport running', 30_000, () => runtime.lines.some((l) => String(l['msg']).startsWith('edgeport running')) || undefined);
    await runtime.until('upstream connected', 30_000, () => ((emulator.certificateAuthentications.get('edge1') ?? 0) > 0 && emulator.identitiesByConnection().size === 1 ? true : undefined)).catch((error: unknown) => {
      throw new Error(`${String(error)}\nemulator refusals: ${emulator.refusals.join('; ')}`);
    });
    assert.equal(emulator.authentications.get('edge1'), undefined, 'no CBS token for the edge device');
    await runtime.until('device scope cached', 30_000, () => runtime.lines.some((l) => /^device scope cached/.test(String(l['msg']))) || undefined);
    emulator.setDesired('edge1/$edgeHub', { schemaVersion: '1.1', routes: { up: 'FROM /messages/* INTO $upstream' }, storeAndForwardConfiguration: { timeToLiveSecs: 7200 } });
    await runtime.until('$edgeHub reported 200', 30_000, () => ((emulator.twin('edge1/$edgeHub').reported.properties['lastDesiredStatus'] as { code?: number } | undefined)?.code === 200 ? true : undefined));

    const ca = readFileSync(join(dataDir, 'certs', 'edge-ca.cert.pem'), 'utf8');
    const gateway = `localhost:${listeners.EDGEPORT_HUB_MQTT_PORT}`;
    const sas = Client.fromConnectionString(`HostName=${emulator.hostName};DeviceId=sas-leaf;SharedAccessKey=${sasLeaf.primaryKey};GatewayHostName=${gateway}`, Mqtt);
    clients.push(sas);
    await sas.setOptions({ ca });
    await within(15_000, 'SAS leaf open', sas.open());
    await within(15_000, 'SAS leaf send', sas.sendEvent(new Message('from the SAS leaf')));
    await emulator.waitForMessages((r) => r.some((m) => m.identity === 'sas-leaf'), 30_000, 'the SAS leaf message');

    const provider = new X509AuthenticationProvider({ host: emulator.hostName, deviceId: 'x509-leaf', gatewayHostName: gateway, x509: { cert: leafCert.certPem, key: leafCert.keyPem } } as never);
    const leaf = Client.fromAuthenticationProvider(provider, Mqtt);
    clients.push(leaf);
    await leaf.setOptions({ ca, cert: leafCert.certPem, key: leafCert.keyPem });
    await within(15_000, 'X.509 leaf open', leaf.open());
    await runtime.until('X.509 leaf connected', 10_000, () => runtime.lines.some((l) => l['msg'] === 'client connected' && l['clientId'] === 'x509-leaf') || undefined);
  } finally {
    for (const c of clients) await within(10_000, 'client close', c.close()).catch(() => undefined);
    await runtime.stop();
    await emulator.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
