import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudToDeviceError, CloudToDeviceService } from '../../../application/hub/cloud-to-device-service.js';
import { Client, type Message, Mqtt } from '../../support/mqtt/sdk.js';
import { startHub, within } from '../../support/mqtt/hub-harness.js';

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

async function eventually(what: string, ms: number, condition: () => boolean | Promise<boolean>): Promise<void> {
  await within(ms, what, (async () => {
    while (!(await condition())) await new Promise((r) => setTimeout(r, 20));
  })());
}

test('SDK C2D: a message queued while the device is offline and one queued across a hub restart arrive in order, then live ones; removed after PUBACK', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgeport-c2d-'));
  let hub = await startHub({ dir });
  const port = hub.port;
  const leaf = await hub.addIdentity('leaf1');
  const client = Client.fromConnectionString(leaf.connectionString, Mqtt);
  try {
    await hub.get(CloudToDeviceService).send({ deviceId: 'leaf1', body: encode('offline-1'), messageId: 'm-1', properties: { colour: 'red & blue/green' }, contentType: 'application/json', contentEncoding: 'utf-8', correlationId: 'c-1' });
    await hub.stop();
    hub = await startHub({ dir, port });
    const service = hub.get(CloudToDeviceService);
    assert.equal((await service.pending('leaf1')).length, 1, 'the queue survived the restart');
    await service.send({ deviceId: 'leaf1', body: encode('offline-2'), messageId: 'm-2' });

    // Options first: adding a 'message' listener makes the SDK connect.
    await client.setOptions({ ca: hub.ca });
    await within(10_000, 'open', client.open());
    const received: Message[] = [];
    client.on('message', (message: Message) => {
      received.push(message);
      void client.complete(message);
    });
    await eventually('both queued messages', 10_000, () => received.length >= 2);
    await service.send({ deviceId: 'leaf1', body: encode('online-3'), messageId: 'm-3' });
    await eventually('the live message', 10_000, () => received.length >= 3);

    assert.deepEqual(received.map((m) => m.getBytes().toString()), ['offline-1', 'offline-2', 'online-3'], 'in send order');
    const first = received[0]!;
    assert.equal(first.messageId, 'm-1');
    assert.equal(first.to, '/devices/leaf1/messages/devicebound');
    assert.equal(first.contentType, 'application/json');
    assert.equal(first.contentEncoding, 'utf-8');
    assert.equal(first.correlationId, 'c-1');
    assert.ok(Date.parse(String(first.expiryTimeUtc)) > Date.now(), `expiry in the future: ${String(first.expiryTimeUtc)}`);
    assert.equal(first.properties.getValue('colour'), 'red & blue/green', 'the property bag survives reserved characters');
    assert.equal(received[2]!.messageId, 'm-3');
    await eventually('queue emptied after the PUBACKs', 5_000, async () => (await service.pending('leaf1')).length === 0);
  } finally {
    await client.close().catch(() => undefined);
    await hub.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('SDK C2D limits: at most 50 queued per device (clear 403 error, nothing lost); an expired message is never delivered', { timeout: 60_000 }, async () => {
  const hub = await startHub();
  const leaf = await hub.addIdentity('leaf2');
  const client = Client.fromConnectionString(leaf.connectionString, Mqtt);
  try {
    const service = hub.get(CloudToDeviceService);
    await service.send({ deviceId: 'leaf2', body: encode('short-lived'), ttlSeconds: 0.2 });
    for (let i = 1; i < 50; i++) await service.send({ deviceId: 'leaf2', body: encode(`n${i}`) });
    await new Promise((r) => setTimeout(r, 300));
    // The short-lived one expired: it no longer counts, so exactly one more fits.
    await service.send({ deviceId: 'leaf2', body: encode('n50') });
    await assert.rejects(
      service.send({ deviceId: 'leaf2', body: encode('too many') }),
      (e: unknown) => e instanceof CloudToDeviceError && e.status === 403 && /already has 50 cloud-to-device messages queued/.test(e.message),
    );
    await assert.rejects(service.send({ deviceId: 'ghost', body: encode('x') }), (e: unknown) => e instanceof CloudToDeviceError && e.status === 404);

    await client.setOptions({ ca: hub.ca });
    await within(10_000, 'open', client.open());
    const received: string[] = [];
    client.on('message', (message: Message) => received.push(message.getBytes().toString()));
    await eventually('50 messages', 20_000, () => received.length >= 50);
    assert.deepEqual(received, Array.from({ length: 50 }, (_, i) => `n${i + 1}`), 'in order, without the expired one and without the refused one');
    assert.ok(hub.logger.lines.some((l) => l.message === 'cloud-to-device message dropped (expired)'));
  } finally {
    await client.close().catch(() => undefined);
    await hub.close();
  }
});
