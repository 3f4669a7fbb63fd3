import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { connectAsync, type MqttClient } from 'mqtt';
import { sdkDeviceToken } from '../../support/identity/sdk-sas-token.js';
import { IOT_HUB, startHub, within, type Hub } from '../../support/mqtt/hub-harness.js';

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function moduleClient(hub: Hub, id: string, key: string): Promise<MqttClient> {
  const [deviceId, moduleId] = id.split('/') as [string, string];
  const password = sdkDeviceToken({ host: IOT_HUB, deviceId, moduleId, key, expiry: Math.floor(Date.now() / 1000) + 3600 });
  return await within(5000, `connect ${id}`, connectAsync({ host: '127.0.0.1', port: hub.plainPort, protocolVersion: 4, clientId: id, clean: false, reconnectPeriod: 0, username: `${IOT_HUB}/${id}/?api-version=2021-04-12`, password }));
}

/**
 * Counts the socket writes (`_write`/`_writev` calls, each one syscall or more) the hub makes to the
 * connection whose peer port is `port`, by wrapping `Socket.prototype` in this process.
 */
function countServerWrites(port: () => number | undefined): { writes: () => number; restore: () => void } {
  const proto = Socket.prototype as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
  const originals = { _write: proto._write, _writev: proto._writev };
  let writes = 0;
  for (const name of ['_write', '_writev'] as const) {
    const original = originals[name];
    proto[name] = function (this: Socket, ...args: unknown[]) {
      if (this.remotePort !== undefined && this.remotePort === port()) writes++;
      return original.apply(this, args);
    };
  }
  return { writes: () => writes, restore: () => Object.assign(proto, originals) };
}

test('MQTT head: a backlog of 300 inputs reaches the module in a few socket writes, not one per message, each PUBACK checkpoints', { timeout: 30_000 }, async () => {
  const hub = await startHub({ plain: true, routes: { r: 'FROM /messages/modules/A/outputs/output1 INTO BrokeredEndpoint("/modules/B/inputs/input1")' } });
  const clients: MqttClient[] = [];
  const { MessageStore } = await import('../../../application/ports/message-store.js');
  const store = hub.get(MessageStore);
  const queued = (): number => store.queues().find((q) => q.endpointId === 'B/input1')?.length ?? 0;
  let receiverPort: number | undefined;
  const counter = countServerWrites(() => receiverPort);
  try {
    const a = await hub.addIdentity('edge1/A');
    const b = await hub.addIdentity('edge1/B');
    const sender = await moduleClient(hub, 'edge1/A', a.key);
    clients.push(sender);
    await Promise.all(Array.from({ length: 300 }, (_, i) => sender.publishAsync('devices/edge1/modules/A/messages/events/%24.on=output1/', `m${i}`, { qos: 1 })));
    assert.equal(queued(), 300, 'stored before B connects');

    const receiver = await moduleClient(hub, 'edge1/B', b.key);
    clients.push(receiver);
    receiverPort = (receiver.stream as Socket).localPort;
    const received: string[] = [];
    receiver.on('message', (_topic, payload) => received.push(payload.toString()));
    await receiver.subscribeAsync('devices/edge1/modules/B/inputs/#', { qos: 1 });
    await within(10_000, 'all 300 delivered and checkpointed', (async () => {
      while (received.length < 300 || queued() !== 0) await pause(20);
    })());
    assert.deepEqual(received, Array.from({ length: 300 }, (_, i) => `m${i}`), 'in order, once each');
    // 3 pump batches of 100 (plus the SUBACK): one write per batch when the batch is written in one
    // event-loop turn; a write per message (aedes' deferred client.publish) made it >= 300.
    assert.ok(counter.writes() < 30, `hub wrote to the receiver ${counter.writes()} times for 300 messages`);
  } finally {
    counter.restore();
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await hub.close();
  }
});
