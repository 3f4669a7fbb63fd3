import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageStore } from '../../../application/ports/message-store.js';
import { Client, Message } from '../../support/mqtt/sdk.js';
import { Amqp } from '../../support/amqp/sdk.js';
import { startHub, within } from '../../support/mqtt/hub-harness.js';

test('smoke: AMQP device telemetry', { timeout: 30_000 }, async () => {
  const hub = await startHub({ routes: { all: 'FROM /messages INTO $upstream' } });
  const d = await hub.addIdentity('leaf1');
  const client = Client.fromConnectionString(d.amqpConnectionString, Amqp);
  try {
    await client.setOptions({ ca: hub.ca });
    await within(10_000, 'open', client.open());
    const m = new Message('{"t":35}');
    m.properties.add('temperature', '35');
    await within(10_000, 'sendEvent', client.sendEvent(m));
    const store = hub.get(MessageStore);
    const queue = store.queues().find((q) => q.endpointId === '$upstream');
    assert.equal(queue?.length, 1);
  } finally {
    await client.close().catch(() => undefined);
    console.log(JSON.stringify(hub.logger.lines.slice(-30)));
    await hub.close();
  }
});
