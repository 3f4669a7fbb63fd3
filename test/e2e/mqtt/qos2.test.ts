import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectAsync, type MqttClient } from 'mqtt';
import { sdkDeviceToken } from '../../support/identity/sdk-sas-token.js';
import { IOT_HUB, startHub, within } from '../../support/mqtt/hub-harness.js';

// IoT Hub has no QoS 2 ("IoT Hub doesn't support QoS 2 messages"): a SUBSCRIBE asking for it is
// granted QoS 1, and a QoS 2 PUBLISH closes the connection. Edgeport does the same.

async function connectModule(port: number, id: string, key: string): Promise<MqttClient> {
  const [deviceId, moduleId] = id.split('/') as [string, string];
  const password = sdkDeviceToken({ host: IOT_HUB, deviceId, moduleId, key, expiry: Math.floor(Date.now() / 1000) + 3600 });
  return await within(5000, `connect ${id}`, connectAsync({ host: '127.0.0.1', port, protocolVersion: 4, clientId: id, clean: false, reconnectPeriod: 0, username: `${IOT_HUB}/${id}/?api-version=2021-04-12`, password }));
}

test('MQTT QoS 2: SUBSCRIBE QoS 2 is granted QoS 1 and delivered at QoS 1; a QoS 2 PUBLISH closes the connection without storing it', { timeout: 30_000 }, async () => {
  const hub = await startHub({ plain: true, routes: { aToB: 'FROM /messages/modules/A/outputs/out INTO BrokeredEndpoint("/modules/B/inputs/in")' } });
  const clients: MqttClient[] = [];
  try {
    const a = await hub.addIdentity('edge1/A');
    const b = await hub.addIdentity('edge1/B');
    const receiver = await connectModule(hub.plainPort, 'edge1/B', b.key);
    clients.push(receiver);
    const granted = await receiver.subscribeAsync('devices/edge1/modules/B/inputs/#', { qos: 2 });
    assert.deepEqual(granted.map((g) => g.qos), [1]);
    const received = new Promise<{ qos: number; body: string }>((resolve) => receiver.once('message', (_topic, payload, packet) => resolve({ qos: packet.qos, body: payload.toString() })));

    const sender = await connectModule(hub.plainPort, 'edge1/A', a.key);
    clients.push(sender);
    await sender.publishAsync('devices/edge1/modules/A/messages/events/%24.on=out/', 'qos1', { qos: 1 });
    assert.deepEqual(await within(5000, 'the routed message', received), { qos: 1, body: 'qos1' });

    const closed = new Promise<void>((resolve) => sender.once('close', () => resolve()));
    sender.publish('devices/edge1/modules/A/messages/events/%24.on=out/', 'qos2', { qos: 2 });
    await within(5000, 'the hub to close the QoS 2 publisher', closed);
    const refusal = hub.logger.lines.find((l) => l.message === 'connection refused by limits' && l.fields?.['reason'] === 'qos2-publish');
    assert.ok(refusal, 'a structured line names the reason');
    assert.equal(refusal.fields?.['clientId'], 'edge1/A');
    let more = false;
    receiver.on('message', () => (more = true));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(more, false, 'the QoS 2 message was not routed');
  } finally {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await hub.close();
  }
});
