import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Message, ModuleClient, Mqtt } from '../../support/mqtt/sdk.js';
import { startHub, within } from '../../support/mqtt/hub-harness.js';

const ROUTES = { aToB: 'FROM /messages/modules/A/outputs/output1 INTO BrokeredEndpoint("/modules/B/inputs/input1")' };

async function openModule(connectionString: string, ca: string): Promise<ModuleClient> {
  const client = ModuleClient.fromConnectionString(connectionString, Mqtt);
  await client.setOptions({ ca });
  await within(10_000, 'ModuleClient.open', client.open());
  return client;
}

test('SDK: module A output is routed to module B input with body and properties', { timeout: 30_000 }, async () => {
  const hub = await startHub({ routes: ROUTES });
  const clients: ModuleClient[] = [];
  try {
    const a = await hub.addIdentity('edge1/A');
    const b = await hub.addIdentity('edge1/B');
    const moduleB = await openModule(b.connectionString, hub.ca);
    clients.push(moduleB);
    const received = new Promise<{ input: string; msg: Message }>((resolve) => moduleB.on('inputMessage', (input: string, msg: Message) => resolve({ input, msg })));
    // The SDK subscribes on the first 'inputMessage' listener; give the SUBACK a moment.
    await new Promise((r) => setTimeout(r, 300));
    const moduleA = await openModule(a.connectionString, hub.ca);
    clients.push(moduleA);
    const out = new Message(JSON.stringify({ temperature: 31.5 }));
    out.properties.add('alert', 'high temp & more=yes/no');
    out.messageId = 'mid-1';
    out.correlationId = 'cid-1';
    out.contentType = 'application/json';
    out.contentEncoding = 'utf-8';
    await within(10_000, 'sendOutputEvent', moduleA.sendOutputEvent('output1', out));
    const { input, msg } = await within(10_000, 'input message at B', received);
    assert.equal(input, 'input1');
    assert.deepEqual(JSON.parse(msg.getBytes().toString()), { temperature: 31.5 });
    assert.equal(msg.properties.getValue('alert'), 'high temp & more=yes/no');
    assert.equal(msg.messageId, 'mid-1');
    assert.equal(msg.correlationId, 'cid-1');
    assert.equal(msg.contentType, 'application/json');
    assert.equal(msg.contentEncoding, 'utf-8');
    // edgeHub adds the sender's identity ($.cdid / $.cmid), which the SDK keeps as properties.
    assert.equal(msg.properties.getValue('$.cdid'), 'edge1');
    assert.equal(msg.properties.getValue('$.cmid'), 'A');
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    await hub.close();
  }
});

test('SDK: inputs keep flowing after SAS token renewals (reconnects that re-subscribe nothing)', { timeout: 40_000 }, async () => {
  const hub = await startHub({ routes: ROUTES });
  const clients: ModuleClient[] = [];
  try {
    const a = await hub.addIdentity('edge1/A');
    const b = await hub.addIdentity('edge1/B');
    const moduleB = ModuleClient.fromConnectionString(b.connectionString, Mqtt);
    clients.push(moduleB);
    // Tokens valid 6 s, renewed 4 s before expiry: a reconnect every ~2 s (iot-sdk-protocol.md §1.7).
    await moduleB.setOptions({ ca: hub.ca, tokenRenewal: { tokenValidTimeInSeconds: 6, tokenRenewalMarginInSeconds: 4 } });
    await within(10_000, 'open B', moduleB.open());
    const bodies: string[] = [];
    moduleB.on('inputMessage', (_input: string, msg: Message) => bodies.push(msg.getBytes().toString()));
    await new Promise((r) => setTimeout(r, 300));
    const moduleA = await openModule(a.connectionString, hub.ca);
    clients.push(moduleA);
    await moduleA.sendOutputEvent('output1', new Message('before'));
    const connectsBefore = hub.logger.lines.filter((l) => l.message === 'client connected' && l.fields?.['clientId'] === 'edge1/B').length;
    await new Promise((r) => setTimeout(r, 5000));
    const connectsAfter = hub.logger.lines.filter((l) => l.message === 'client connected' && l.fields?.['clientId'] === 'edge1/B').length;
    assert.ok(connectsAfter >= connectsBefore + 1, `B reconnected with a renewed token (${connectsBefore} -> ${connectsAfter} connects)`);
    await moduleA.sendOutputEvent('output1', new Message('after'));
    await within(10_000, 'both messages', (async () => {
      while (bodies.length < 2) await new Promise((r) => setTimeout(r, 20));
    })());
    assert.deepEqual(bodies, ['before', 'after']);
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    await hub.close();
  }
});

test('SDK: 300 routed messages arrive in order (pipelined delivery to a client that leaves Nagle on)', { timeout: 40_000 }, async () => {
  const hub = await startHub({ routes: ROUTES });
  const clients: ModuleClient[] = [];
  try {
    const a = await hub.addIdentity('edge1/A');
    const b = await hub.addIdentity('edge1/B');
    const moduleB = await openModule(b.connectionString, hub.ca);
    clients.push(moduleB);
    const bodies: string[] = [];
    moduleB.on('inputMessage', (_input: string, msg: Message) => bodies.push(msg.getBytes().toString()));
    await new Promise((r) => setTimeout(r, 300));
    const moduleA = await openModule(a.connectionString, hub.ca);
    clients.push(moduleA);
    const expected = Array.from({ length: 300 }, (_, i) => `m${i}`);
    await within(20_000, 'send 300', Promise.all(expected.map((body) => moduleA.sendOutputEvent('output1', new Message(body)))));
    await within(20_000, 'receive 300', (async () => {
      while (bodies.length < expected.length) await new Promise((r) => setTimeout(r, 20));
    })());
    assert.deepEqual(bodies, expected);
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    await hub.close();
  }
});
