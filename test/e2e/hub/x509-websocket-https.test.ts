import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent as HttpsAgent, request } from 'node:https';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { MessageStore } from '../../../application/ports/message-store.js';
import { Client, Message, MqttWs, X509AuthenticationProvider } from '../../support/mqtt/sdk.js';
import { type Hub, IOT_HUB, startHub, within } from '../../support/mqtt/hub-harness.js';
import { type TestCertificate, selfSignedCertificate } from '../../support/x509/client-certificates.js';

/** `agentToPort` with the client certificate in the TLS handshake (the SDK's WebSocket agent carries it). */
function agentWithCertificate(port: number, cert: TestCertificate): HttpsAgent {
  const agent = new HttpsAgent({ keepAlive: false });
  (agent as unknown as { createConnection: (options: ConnectionOptions) => TLSSocket }).createConnection = (options) =>
    tlsConnect({ ...options, host: '127.0.0.1', port, servername: 'localhost', cert: cert.certPem, key: cert.keyPem });
  return agent;
}

/** `POST /twins/.../methods` with a client certificate and no Authorization header. */
function postMethod(hub: Hub, cert: TestCertificate | undefined, caller: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify({ methodName: 'ping', payload: null, responseTimeoutInSeconds: 2 });
    const req = request(
      {
        host: '127.0.0.1',
        port: hub.httpsPort,
        servername: 'localhost',
        ca: hub.ca,
        ...(cert !== undefined ? { cert: cert.certPem, key: cert.keyPem } : {}),
        method: 'POST',
        path: '/twins/edge1/modules/B/methods',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-ms-edge-moduleId': caller },
      },
      (res) => {
        res.resume().on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

test('X.509 on the HTTPS port: MQTT over WebSocket (SDK MqttWs) with a thumbprint certificate; module methods authenticated by certificate', { timeout: 60_000 }, async () => {
  const hub = await startHub({ https: true, routes: { all: 'FROM /messages/* INTO $upstream' } });
  const cert = await selfSignedCertificate('ws-leaf');
  await hub.addX509Identity('ws-leaf', { type: 'selfSigned', primaryThumbprint: cert.sha256 });
  const provider = new X509AuthenticationProvider({ host: IOT_HUB, deviceId: 'ws-leaf', gatewayHostName: 'localhost', x509: { cert: cert.certPem, key: cert.keyPem } } as never);
  const client = Client.fromAuthenticationProvider(provider, MqttWs);
  try {
    await client.setOptions({ ca: hub.ca, cert: cert.certPem, key: cert.keyPem, mqtt: { webSocketAgent: agentWithCertificate(hub.httpsPort, cert) } } as Parameters<typeof client.setOptions>[0]);
    await within(15_000, 'MqttWs open', client.open());
    await within(15_000, 'sendEvent', client.sendEvent(new Message('over websocket')));
    assert.equal(hub.get(MessageStore).queues().find((q) => q.endpointId === '$upstream')?.length, 1);

    const moduleCert = await selfSignedCertificate('A');
    await hub.addX509Identity('edge1/A', { type: 'selfSigned', primaryThumbprint: moduleCert.sha1 });
    // Authenticated by its certificate: the call goes through, and B is not connected (404).
    assert.equal(await postMethod(hub, moduleCert, 'edge1/A'), 404);
    // Another certificate, or none: 401, with the reason in the log.
    assert.equal(await postMethod(hub, await selfSignedCertificate('A'), 'edge1/A'), 401);
    assert.ok(hub.logger.lines.some((l) => l.message === 'method call refused' && l.fields?.['reason'] === 'wrong-certificate'));
    assert.equal(await postMethod(hub, undefined, 'edge1/A'), 401);
  } finally {
    await client.close().catch(() => undefined);
    await hub.close();
  }
});
