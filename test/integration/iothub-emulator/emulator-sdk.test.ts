import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Message, ModuleClient } from '../../support/mqtt/sdk.js';
import { Amqp } from '../../support/amqp/sdk.js';
import { within } from '../../support/mqtt/hub-harness.js';
import { IotHubEmulator } from '../../support/iothub-emulator/iothub-emulator.js';

type Twin = { properties: { desired: Record<string, unknown>; reported: { update(patch: unknown, cb: (error?: Error) => void): void } }; on(event: string, cb: (patch: Record<string, unknown>) => void): void };

test('emulator speaks IoT Hub AMQP to the official azure-iot-device-amqp Client: D2C, twin GET/PATCH/desired, methods, C2D', { timeout: 60_000 }, async () => {
  const hub = new IotHubEmulator();
  hub.registry.add('dev1');
  await hub.start();
  const client = Client.fromConnectionString(hub.connectionString('dev1'), Amqp);
  try {
    await client.setOptions({ ca: hub.ca });
    await within(10_000, 'open', client.open());

    const m = new Message('{"t":21}');
    m.messageId = 'mid-1';
    m.properties.add('alert', 'high');
    await within(10_000, 'sendEvent', client.sendEvent(m));
    assert.equal(hub.messages('dev1').length, 1);
    assert.equal(hub.messages('dev1')[0]!.systemProperties['messageId'], 'mid-1');
    assert.equal(hub.messages('dev1')[0]!.properties['alert'], 'high');
    assert.equal(new TextDecoder().decode(hub.messages('dev1')[0]!.body), '{"t":21}');

    const twin = (await within(10_000, 'getTwin', client.getTwin())) as unknown as Twin;
    const desired: Array<Record<string, unknown>> = [];
    twin.on('properties.desired', (patch) => desired.push(patch));
    await within(10_000, 'reported', new Promise<void>((resolve, reject) => twin.properties.reported.update({ fw: '1.0' }, (e) => (e ? reject(e) : resolve()))));
    assert.deepEqual(hub.twin('dev1').reported.properties, { fw: '1.0' });
    await new Promise((r) => setTimeout(r, 300));
    hub.setDesired('dev1', { color: 'blue' });
    await within(10_000, 'desired push', (async () => { while (!desired.some((d) => d['color'] === 'blue')) await new Promise((r) => setTimeout(r, 20)); })());

    client.onDeviceMethod('reboot', (request, response) => {
      response.send(200, { delayWas: (request.payload as { delay: number }).delay }, () => undefined);
    });
    await new Promise((r) => setTimeout(r, 300));
    const outcome = await within(10_000, 'method', hub.invokeMethod('dev1', 'reboot', { delay: 5 }));
    assert.deepEqual(outcome, { status: 200, payload: { delayWas: 5 } });
    assert.equal((await hub.invokeMethod('dev2', 'x', null)).status, 404);

    const c2d: string[] = [];
    client.on('message', (msg) => {
      c2d.push(msg.data.toString());
      void client.complete(msg);
    });
    const settled = await within(10_000, 'c2d', hub.sendC2d('dev1', { body: new TextEncoder().encode('hello'), properties: { k: 'v' }, systemProperties: { messageId: 'c2d-1' } }));
    assert.equal(settled, 'completed');
    assert.deepEqual(c2d, ['hello']);
    assert.equal(hub.openConnections, 1);
  } finally {
    await client.close().catch(() => undefined);
    await hub.close();
  }
});

test('emulator with the official ModuleClient: module output events and twin; a wrong key is refused with the SDK error', { timeout: 60_000 }, async () => {
  const hub = new IotHubEmulator();
  hub.registry.add('edge1', { edge: true });
  hub.registry.add('edge1/filter');
  await hub.start();
  const module = ModuleClient.fromConnectionString(hub.connectionString('edge1/filter'), Amqp);
  try {
    await module.setOptions({ ca: hub.ca });
    await within(10_000, 'open', module.open());
    await within(10_000, 'sendOutputEvent', module.sendOutputEvent('out1', new Message('x')));
    const [received] = hub.messages('edge1/filter');
    assert.equal(received?.systemProperties['outputName'], 'out1');
    const twin = (await within(10_000, 'getTwin', module.getTwin())) as unknown as Twin;
    await within(10_000, 'reported', new Promise<void>((resolve, reject) => twin.properties.reported.update({ ok: true }, (e) => (e ? reject(e) : resolve()))));
    assert.deepEqual(hub.twin('edge1/filter').reported.properties, { ok: true });

    const bad = Client.fromConnectionString(hub.connectionString('edge1').replace(/SharedAccessKey=[^;]+/, `SharedAccessKey=${Buffer.alloc(32, 7).toString('base64')}`), Amqp);
    await bad.setOptions({ ca: hub.ca });
    await assert.rejects(within(20_000, 'bad open', bad.open()), (e: Error) => /Unauthorized|signature/i.test(`${e.name} ${e.message}`));
    assert.ok(hub.refusals.some((r) => r.includes('signature does not verify')));
    await bad.close().catch(() => undefined);
  } finally {
    await module.close().catch(() => undefined);
    await hub.close();
  }
});

test('emulator HTTPS: device scope and module identity creation for the edge device only', { timeout: 30_000 }, async () => {
  const hub = new IotHubEmulator();
  const edge = hub.registry.add('edge1', { edge: true });
  hub.registry.add('edge1/sensor');
  hub.registry.add('leaf1', { parent: 'edge1' });
  hub.registry.add('other');
  await hub.start();
  try {
    const { createHmac } = await import('node:crypto');
    const sr = encodeURIComponent(`${hub.hostName}/devices/edge1`);
    const se = Math.floor(Date.now() / 1000) + 600;
    const sig = encodeURIComponent(createHmac('sha256', Buffer.from(edge.primaryKey, 'base64')).update(`${sr}\n${se}`).digest('base64'));
    const token = `SharedAccessSignature sr=${sr}&sig=${sig}&se=${se}`;
    const call = async (method: string, path: string, auth = token) => {
      const { request } = await import('node:https');
      return await new Promise<{ status: number; body: unknown }>((resolve, reject) => {
        const req = request({ host: 'localhost', port: hub.httpsPort, path, method, ca: hub.ca, headers: { Authorization: auth, 'Content-Type': 'application/json' } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text === '' ? undefined : JSON.parse(text) }));
        });
        req.on('error', reject);
        req.end(method === 'GET' ? undefined : '{}');
      });
    };
    const scope = await call('POST', '/devices/edge1/modules/$edgeHub/devicesAndModulesInDeviceScope?api-version=2018-08-30-preview');
    assert.equal(scope.status, 200);
    const items = (scope.body as { items: Array<{ deviceId: string; moduleId?: string }> }).items;
    assert.deepEqual(items.map((i) => (i.moduleId ? `${i.deviceId}/${i.moduleId}` : i.deviceId)).sort(), ['edge1/sensor', 'leaf1']);
    const created = await call('PUT', '/devices/edge1/modules/filter?api-version=2021-04-12');
    assert.equal(created.status, 200);
    assert.ok(hub.registry.get({ kind: 'module', deviceId: 'edge1', moduleId: 'filter' }));
    assert.equal((await call('POST', '/devices/edge1/modules/$edgeHub/devicesAndModulesInDeviceScope', 'SharedAccessSignature sr=x&sig=y&se=1')).status, 401);
  } finally {
    await hub.close();
  }
});
