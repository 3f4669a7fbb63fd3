import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { createHmac } from 'node:crypto';
import WebSocket from 'ws';
import { MessageStore } from '../../../application/ports/message-store.js';
import { TwinService } from '../../../application/hub/twin-service.js';
import { parseIdentity } from '../../../domain/identity/identity.js';
import { Client, Message, ModuleClient, Mqtt, MqttWs, agentToPort } from '../../support/mqtt/sdk.js';
import { IOT_HUB, type Hub, startHub, within } from '../../support/mqtt/hub-harness.js';

function sasToken(resource: string, key: string): string {
  const se = Math.floor(Date.now() / 1000) + 3600;
  const sr = encodeURIComponent(resource);
  const sig = encodeURIComponent(createHmac('sha256', Buffer.from(key, 'base64')).update(`${sr}\n${se}`).digest('base64'));
  return `SharedAccessSignature sr=${sr}&sig=${sig}&se=${se}`;
}

/** A raw `POST /twins/.../methods` on the hub's HTTPS port, as the SDK sends it. */
function postMethod(hub: Hub, path: string, headers: Record<string, string>, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = request({ host: '127.0.0.1', port: hub.httpsPort, servername: 'localhost', ca: hub.ca, method: 'POST', path, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers } }, (res) => {
      let data = '';
      res.setEncoding('utf8').on('data', (c: string) => (data += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

test('HTTPS: ModuleClient.invokeMethod (official SDK) from module A reaches module B and a leaf device; offline target and bad callers refused', { timeout: 60_000 }, async () => {
  const hub = await startHub({ https: true });
  const a = await hub.addIdentity('edge1/A');
  const b = await hub.addIdentity('edge1/B');
  const leaf = await hub.addIdentity('leaf1');
  const moduleA = ModuleClient.fromConnectionString(a.connectionString, Mqtt);
  const moduleB = ModuleClient.fromConnectionString(b.connectionString, Mqtt);
  const device = Client.fromConnectionString(leaf.connectionString, Mqtt);
  try {
    await moduleB.setOptions({ ca: hub.ca });
    await within(10_000, 'open B', moduleB.open());
    moduleB.onMethod('double', (req, res) => void res!.send(200, { doubled: (req!.payload as { n: number }).n * 2, from: 'B' }));
    await device.setOptions({ ca: hub.ca });
    await within(10_000, 'open leaf', device.open());
    device.onDeviceMethod('reboot', (_req, res) => void res.send(202, 'rebooting'));
    await new Promise((r) => setTimeout(r, 300));

    // The SDK always dials port 443: its own `http.agent` option sends it to the test port.
    await moduleA.setOptions({ ca: hub.ca, http: { agent: agentToPort(hub.httpsPort) } } as Parameters<typeof moduleA.setOptions>[0]);
    await within(10_000, 'open A', moduleA.open());
    const params = { methodName: 'double', payload: { n: 21 }, responseTimeoutInSeconds: 10, connectTimeoutInSeconds: 5 };
    const result = (await within(15_000, 'invokeMethod A -> B', moduleA.invokeMethod('edge1', 'B', params))) as { status: number; payload: unknown };
    assert.deepEqual(result, { status: 200, payload: { doubled: 42, from: 'B' } });
    const toDevice = (await within(15_000, 'invokeMethod A -> leaf', moduleA.invokeMethod('leaf1', { methodName: 'reboot', payload: null, responseTimeoutInSeconds: 10, connectTimeoutInSeconds: 5 }))) as { status: number; payload: unknown };
    assert.deepEqual(toDevice, { status: 202, payload: 'rebooting' });
    await assert.rejects(within(15_000, 'offline target', moduleA.invokeMethod('edge1', 'nobody', { ...params })), /Not found|not connected/);

    // Raw requests: a wrong key is 401, a leaf device (valid token) is 403; the token is never logged.
    const path = '/twins/edge1/modules/B/methods';
    const wrong = sasToken(`${IOT_HUB}/devices/edge1/modules/A`, Buffer.alloc(32, 7).toString('base64'));
    const refused = await postMethod(hub, path, { authorization: wrong, 'x-ms-edge-moduleId': 'edge1/A' }, params);
    assert.equal(refused.status, 401, refused.body);
    const missing = await postMethod(hub, path, {}, params);
    assert.equal(missing.status, 401);
    const fromLeaf = await postMethod(hub, path, { authorization: sasToken(`${IOT_HUB}/devices/leaf1`, leaf.key), 'x-ms-edge-moduleId': 'leaf1' }, params);
    assert.equal(fromLeaf.status, 403, fromLeaf.body);
    const good = await postMethod(hub, path, { authorization: sasToken(`${IOT_HUB}/devices/edge1/modules/A`, a.key), 'x-ms-edge-moduleId': 'edge1/A' }, { methodName: '' });
    assert.equal(good.status, 400, 'authenticated, but the body is invalid');
    assert.equal((await postMethod(hub, '/no/such/route', {}, {})).status, 404);
    const logged = JSON.stringify(hub.logger.lines);
    assert.ok(hub.logger.lines.some((l) => l.message === 'method call refused' && l.fields?.['reason'] === 'bad-signature'));
    assert.ok(!logged.includes(wrong.split('sig=')[1]!.split('&')[0]!), 'no signature in the logs');
  } finally {
    for (const c of [moduleA, moduleB, device]) await c.close().catch(() => undefined);
    await hub.close();
  }
});

test('MQTT over WebSocket (official SDK MqttWs): telemetry is routed and the twin arrives; unknown subprotocols are refused', { timeout: 60_000 }, async () => {
  const hub = await startHub({ https: true, routes: { all: 'FROM /messages/* INTO $upstream' } });
  const leaf = await hub.addIdentity('wsleaf');
  await hub.get(TwinService).updateDesired(parseIdentity('wsleaf'), { interval: 5 });
  // MqttWs builds wss://<GatewayHostName>:443/$iothub/websocket: no port in the gateway name.
  const client = Client.fromConnectionString(leaf.connectionString.replace(/GatewayHostName=[^;]+/, 'GatewayHostName=localhost'), MqttWs);
  try {
    await client.setOptions({ ca: hub.ca, mqtt: { webSocketAgent: agentToPort(hub.httpsPort) } } as Parameters<typeof client.setOptions>[0]);
    await within(10_000, 'open over WebSocket', client.open());
    const message = new Message('over-ws');
    message.properties.add('via', 'websocket');
    await within(10_000, 'sendEvent', client.sendEvent(message));
    const store = hub.get(MessageStore);
    const queue = store.queues().find((q) => q.endpointId === '$upstream');
    assert.equal(queue?.length, 1);
    const [stored] = await store.read({ endpointId: '$upstream', priority: queue!.priority }, queue!.checkpoint, 10);
    assert.equal(new TextDecoder().decode(stored!.message.body), 'over-ws');
    assert.equal(stored!.message.properties['via'], 'websocket');
    assert.equal(stored!.message.systemProperties['connectionDeviceId'], 'wsleaf');
    const twin = await within(10_000, 'getTwin over WebSocket', client.getTwin());
    assert.equal(twin.properties.desired['interval'], 5);
    assert.ok(hub.logger.lines.some((l) => l.message === 'client connected' && l.fields?.['clientId'] === 'wsleaf'));

    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`wss://localhost:${hub.httpsPort}/$iothub/websocket`, ['v12.stomp'], { ca: hub.ca });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
    // AMQPWSB10 has a handler now (the AMQP head, amqp-protocol.test.ts): use a subprotocol nobody serves.
    assert.equal(refused, 400, 'no handler for that subprotocol');
  } finally {
    await client.close().catch(() => undefined);
    await hub.close();
  }
});
