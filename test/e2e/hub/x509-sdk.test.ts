import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageStore } from '../../../application/ports/message-store.js';
import { IdentityStore } from '../../../application/ports/identity-store.js';
import { ClientDirectory } from '../../../application/hub/client-directory.js';
import { CloudToDeviceService } from '../../../application/hub/cloud-to-device-service.js';
import { parseIdentity } from '../../../domain/identity/identity.js';
import { Client, Message, X509AuthenticationProvider } from '../../support/mqtt/sdk.js';
import { type Hub, startHub, within } from '../../support/mqtt/hub-harness.js';
import { AMQP, MQTT, type Transport } from './scenarios.js';
import { type TestCertificate, issuedCertificate, selfSignedCertificate, testCa } from '../../support/x509/client-certificates.js';

/** The SDK's RetryPolicy contract, retrying nothing (azure-iot-common's NoRetry). */
const NO_RETRY = { shouldRetry: (): boolean => false, nextRetryTimeout: (): number => -1 } as unknown as Parameters<Client['setRetryPolicy']>[0];

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

async function until(ms: number, what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  await within(ms, what, (async () => {
    while (!(await condition())) await new Promise((r) => setTimeout(r, 25));
  })());
}

function upstreamLength(hub: Hub): number {
  return hub.get(MessageStore).queues().find((q) => q.endpointId === '$upstream')?.length ?? 0;
}

function refusal(hub: Hub, id: string): { reason: unknown; detail: unknown } | undefined {
  const line = hub.logger.lines.find((l) => l.level === 'warn' && l.message === 'connection refused' && (l.fields?.['clientId'] === id || l.fields?.['identity'] === id));
  return line === undefined ? undefined : { reason: line.fields?.['reason'], detail: line.fields?.['detail'] };
}

/**
 * The SDK's X.509 client through the hub. `Client.fromConnectionString` with `x509=true` drops
 * `GatewayHostName` (azure-iot-device builds its X509AuthenticationProvider from HostName and
 * DeviceId only), so the provider is built with the connection string's fields, as a gateway user
 * does (docs/identity-and-twins.md).
 */
async function x509Client(t: Transport, added: { connectionString: string; amqpConnectionString: string }, hub: Hub, cert: TestCertificate): Promise<Client> {
  const fields = new Map(t.connectionString(added).split(';').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)] as const));
  const provider = new X509AuthenticationProvider({ host: fields.get('HostName')!, deviceId: fields.get('DeviceId')!, gatewayHostName: fields.get('GatewayHostName')!, x509: { cert: cert.certPem, key: cert.keyPem } } as never);
  const client = Client.fromAuthenticationProvider(provider, t.protocol);
  await client.setOptions({ ca: hub.ca, cert: cert.certPem, key: cert.keyPem });
  return client;
}

/** Sends one event; resolves false when the hub refused (MQTT: the connect; AMQP: the link attach). */
async function trySend(client: Client): Promise<boolean> {
  try {
    await within(15_000, 'open', client.open());
    await within(15_000, 'sendEvent', client.sendEvent(new Message('x')));
    return true;
  } catch {
    return false;
  }
}

for (const t of [MQTT, AMQP]) {
  test(`${t.name} SDK X.509: a CA-signed leaf and a thumbprint leaf send telemetry and receive C2D; SAS clients still work on the same port`, { timeout: 60_000 }, async () => {
    const root = await testCa('Edgeport Test Root');
    const intermediate = await issuedCertificate('Edgeport Test Intermediate', root, { ca: true });
    const caLeafCert = await issuedCertificate('ca-leaf', intermediate);
    const thumbCert = await selfSignedCertificate('thumb-leaf');
    const hub = await startHub({ routes: { all: 'FROM /messages/* INTO $upstream' }, x509: { trustedCaPems: [root.subjectPem] } });
    const clients: Client[] = [];
    try {
      const caLeaf = await hub.addX509Identity('ca-leaf', { type: 'certificateAuthority' });
      const thumbLeaf = await hub.addX509Identity('thumb-leaf', { type: 'selfSigned', primaryThumbprint: 'A'.repeat(40), secondaryThumbprint: thumbCert.sha1 });
      const sas = await hub.addIdentity('sas-leaf');
      const sasClient = Client.fromConnectionString(t.connectionString(sas), t.protocol);
      await sasClient.setOptions({ ca: hub.ca });
      clients.push(sasClient);
      for (const [id, added, cert] of [['ca-leaf', caLeaf, caLeafCert], ['thumb-leaf', thumbLeaf, thumbCert]] as const) {
        const client = await x509Client(t, added, hub, cert);
        clients.push(client);
        await within(15_000, `${id} open`, client.open());
        const before = upstreamLength(hub);
        await within(15_000, `${id} sendEvent`, client.sendEvent(new Message(`from ${id}`)));
        assert.equal(upstreamLength(hub), before + 1, `${id}'s message is stored`);
        const received: string[] = [];
        client.on('message', (message: Message) => {
          received.push(message.getBytes().toString());
          void client.complete(message);
        });
        await until(10_000, `${id} listens for C2D`, () => hub.get(ClientDirectory).get(parseIdentity(id))?.has('c2d') === true);
        await hub.get(CloudToDeviceService).send({ deviceId: id, body: encode(`to ${id}`) });
        await until(10_000, `${id} receives C2D`, () => received.length > 0);
        assert.deepEqual(received, [`to ${id}`]);
      }
      await within(15_000, 'SAS open', sasClient.open());
      await within(15_000, 'SAS sendEvent', sasClient.sendEvent(new Message('sas')));
      assert.equal(upstreamLength(hub), 3);
    } finally {
      for (const c of clients) await within(10_000, 'client close', c.close()).catch(() => undefined);
      await hub.close();
    }
  });

  test(`${t.name} SDK X.509: a wrong certificate, an expired one, an untrusted CA and a SAS token for an X.509 identity are refused with a clear log reason`, { timeout: 90_000 }, async () => {
    const root = await testCa('Trusted Root');
    const rogue = await testCa('Trusted Root');
    const hub = await startHub({ x509: { trustedCaPems: [root.subjectPem] } });
    const clients: Client[] = [];
    try {
      const registered = await selfSignedCertificate('wrong-leaf');
      const wrong = await hub.addX509Identity('wrong-leaf', { type: 'selfSigned', primaryThumbprint: registered.sha256 });
      const expiredCert = await selfSignedCertificate('old-leaf', { notBefore: new Date(Date.now() - 10 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
      const expired = await hub.addX509Identity('old-leaf', { type: 'selfSigned', primaryThumbprint: expiredCert.sha1 });
      const untrusted = await hub.addX509Identity('rogue-leaf', { type: 'certificateAuthority' });
      const cases = [
        ['wrong-leaf', wrong, await selfSignedCertificate('wrong-leaf'), 'wrong-certificate'],
        ['old-leaf', expired, expiredCert, 'expired'],
        ['rogue-leaf', untrusted, await issuedCertificate('rogue-leaf', rogue), 'untrusted-ca'],
      ] as const;
      for (const [id, added, cert, reason] of cases) {
        const client = await x509Client(t, added, hub, cert);
        clients.push(client);
        assert.equal(await trySend(client), false, `${id} must be refused`);
        await until(5_000, `${id}'s refusal in the log`, () => refusal(hub, id) !== undefined);
        assert.equal(refusal(hub, id)?.reason, reason);
        assert.doesNotMatch(String(refusal(hub, id)?.detail), /PRIVATE KEY/);
      }
      assert.equal(upstreamLength(hub), 0);
      // A SAS token for an X.509 identity.
      const fake = Client.fromConnectionString(t.connectionString(wrong).replace('x509=true', `SharedAccessKey=${Buffer.alloc(32).toString('base64')}`), t.protocol);
      await fake.setOptions({ ca: hub.ca });
      clients.push(fake);
      assert.equal(await trySend(fake), false);
      await until(5_000, 'the SAS refusal in the log', () => hub.logger.lines.some((l) => l.level === 'warn' && l.fields?.['reason'] === 'x509-identity'));
    } finally {
      for (const c of clients) await within(10_000, 'client close', c.close()).catch(() => undefined);
      await hub.close();
    }
  });

  test(`${t.name} SDK X.509: a live connection is closed when its identity is removed, and when its certificate expires`, { timeout: 60_000 }, async () => {
    const hub = await startHub({ x509: { revocationCheckMs: 200 } });
    const clients: Client[] = [];
    try {
      const cert = await selfSignedCertificate('revoked-leaf');
      const added = await hub.addX509Identity('revoked-leaf', { type: 'selfSigned', primaryThumbprint: cert.sha256 });
      const client = await x509Client(t, added, hub, cert);
      clients.push(client);
      // The hub closes these connections on purpose: no SDK reconnects (they would outlive the test).
      client.setRetryPolicy(NO_RETRY);
      await within(15_000, 'open', client.open());
      client.on('message', () => undefined);
      const id = parseIdentity('revoked-leaf');
      await until(10_000, 'connected', () => hub.get(ClientDirectory).get(id)?.has('c2d') === true);
      await hub.get(IdentityStore).remove(id);
      await until(10_000, 'closed after the revocation', () => hub.logger.lines.some((l) => l.message === 'certificate no longer accepted, closing connection' && l.fields?.['reason'] === 'unknown-identity'));
      await until(10_000, 'gone from the directory', () => hub.get(ClientDirectory).get(id) === undefined);

      // Expiry: a certificate valid for a few more seconds (margin for a loaded machine: it must still be valid at CONNECT).
      const shortCert = await selfSignedCertificate('short-leaf', { notAfter: new Date(Date.now() + 8_000) });
      const short = await hub.addX509Identity('short-leaf', { type: 'selfSigned', primaryThumbprint: shortCert.sha256 });
      const shortClient = await x509Client(t, short, hub, shortCert);
      clients.push(shortClient);
      shortClient.setRetryPolicy(NO_RETRY);
      await within(15_000, 'open', shortClient.open());
      shortClient.on('message', () => undefined);
      await until(10_000, 'short-leaf connected', () => hub.get(ClientDirectory).get(parseIdentity('short-leaf')) !== undefined);
      await until(30_000, 'closed at notAfter', () => hub.logger.lines.some((l) => /^client certificate expired/.test(l.message))).catch((error: unknown) => {
        const about = hub.logger.lines.filter((l) => JSON.stringify(l.fields ?? {}).includes('short-leaf')).map((l) => `${l.message} ${JSON.stringify(l.fields)}`);
        throw new Error(`${String(error)}\n${about.join('\n')}`);
      });
    } finally {
      for (const c of clients) await within(10_000, 'client close', c.close()).catch(() => undefined);
      await hub.close();
    }
  });
}
