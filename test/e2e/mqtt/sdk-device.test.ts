import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIdentity } from '../../../domain/identity/identity.js';
import { MessageStore } from '../../../application/ports/message-store.js';
import { TwinService } from '../../../application/hub/twin-service.js';
import { TwinStore } from '../../../application/hub/twin-store.js';
import { Client, Message, ModuleClient, Mqtt } from '../../support/mqtt/sdk.js';
import { startHub, within } from '../../support/mqtt/hub-harness.js';

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('SDK: leaf device telemetry is routed by a condition on its (string) properties and stored with its identity', { timeout: 30_000 }, async () => {
  const hub = await startHub({ routes: { hot: 'FROM /messages WHERE as_number(temperature) > 30 INTO $upstream' } });
  const d = await hub.addIdentity('leaf1');
  const client = Client.fromConnectionString(d.connectionString, Mqtt);
  try {
    await client.setOptions({ ca: hub.ca });
    await within(10_000, 'open', client.open());
    for (const t of ['25', '35']) {
      const m = new Message(`{"t":${t}}`);
      m.properties.add('temperature', t);
      await within(10_000, 'sendEvent', client.sendEvent(m));
    }
    const store = hub.get(MessageStore);
    const queue = store.queues().find((q) => q.endpointId === '$upstream');
    assert.equal(queue?.length, 1, 'only the hot reading matched');
    const page = await store.read({ endpointId: '$upstream', priority: queue!.priority }, queue!.checkpoint, 10);
    const stored = page[0]!.message;
    assert.equal(new TextDecoder().decode(stored.body), '{"t":35}');
    assert.equal(stored.properties['temperature'], '35');
    assert.equal(stored.systemProperties['connectionDeviceId'], 'leaf1');
    assert.equal(stored.systemProperties['connectionModuleId'], undefined);
  } finally {
    await client.close().catch(() => undefined);
    await hub.close();
  }
});

test('SDK: after a hub restart, identities, twins and stored messages survive; the module reconnects and gets its inputs', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgeport-restart-'));
  const routes = { aToB: 'FROM /messages/modules/A/outputs/output1 INTO BrokeredEndpoint("/modules/B/inputs/input1")' };
  let hub = await startHub({ dir, routes });
  const port = hub.port;
  const b = await hub.addIdentity('edge1/B');
  const a = await hub.addIdentity('edge1/A');
  const moduleB = ModuleClient.fromConnectionString(b.connectionString, Mqtt);
  const moduleA = ModuleClient.fromConnectionString(a.connectionString, Mqtt);
  try {
    await moduleB.setOptions({ ca: hub.ca });
    await within(10_000, 'open B', moduleB.open());
    const bodies: string[] = [];
    moduleB.on('inputMessage', (_i: string, m: InstanceType<typeof Message>) => bodies.push(m.getBytes().toString()));
    const twin = await moduleB.getTwin();
    const desired: Array<Record<string, unknown>> = [];
    twin.on('properties.desired', (delta: Record<string, unknown>) => desired.push(delta));
    await new Promise<void>((resolve, reject) => (twin.properties.reported as unknown as { update(p: unknown, cb: (e?: Error) => void): void }).update({ state: 'ok' }, (e) => (e ? reject(e) : resolve())));
    await pause(300);

    await hub.stop();
    hub = await startHub({ dir, port, routes });
    assert.equal((await hub.get(TwinStore).get(parseIdentity('edge1/B'))).reported.properties['state'], 'ok', 'twin survived');

    // A (registered before the restart) connects to the new process and sends; B is back via the SDK's reconnect.
    await moduleA.setOptions({ ca: hub.ca });
    await within(10_000, 'open A after restart', moduleA.open());
    await within(10_000, 'send', moduleA.sendOutputEvent('output1', new Message('after-restart')));
    await within(30_000, 'B receives after reconnecting', (async () => {
      while (!bodies.includes('after-restart')) await pause(50);
    })());
    // The SDK never re-subscribes twin topics after a drop (iot-sdk-protocol.md §1.7): the hub
    // restored the persisted session, so desired patches still arrive.
    await hub.get(TwinService).updateDesired(parseIdentity('edge1/B'), { mode: 'eco' });
    await within(10_000, 'desired patch after restart', (async () => {
      while (!desired.some((d) => d['mode'] === 'eco')) await pause(20);
    })());
    assert.ok(hub.logger.lines.some((l) => l.message === 'session restored from storage' && l.fields?.['clientId'] === 'edge1/B'));
  } finally {
    await moduleA.close().catch(() => undefined);
    await moduleB.close().catch(() => undefined);
    await hub.close();
    await rm(dir, { recursive: true, force: true });
  }
});
