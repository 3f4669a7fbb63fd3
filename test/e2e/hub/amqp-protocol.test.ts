import { test } from 'node:test';
import assert from 'node:assert/strict';
import rhea, { type Connection, type EventContext, type Message as AmqpMessage, type Receiver } from 'rhea';
import { parseIdentity } from '../../../domain/identity/identity.js';
import { ClientDirectory } from '../../../application/hub/client-directory.js';
import { CloudToDeviceService } from '../../../application/hub/cloud-to-device-service.js';
import { MessageStore } from '../../../application/ports/message-store.js';
import { MethodService } from '../../../application/hub/method-service.js';
import { TwinService } from '../../../application/hub/twin-service.js';
import { Client, Message, agentToPort } from '../../support/mqtt/sdk.js';
import { Amqp, AmqpWs } from '../../support/amqp/sdk.js';
import { IOT_HUB, startHub, within } from '../../support/mqtt/hub-harness.js';
import { attachReceiver, attachSender, closeRaw, connectRaw, openCbs, putToken, sasFor, sendAndSettle } from '../../support/amqp/raw-client.js';

const dataBody = (text: string): unknown => rhea.message.data_section(Buffer.from(text));
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function nextMessage(receiver: Receiver): Promise<EventContext> {
  return new Promise((resolve) => receiver.once('message', (ctx: EventContext) => resolve(ctx)));
}

test('AMQP CBS: put-token answers an int status-code with the request id; a wrong key gets 401, a bad audience 400; no token in the log', { timeout: 20_000 }, async () => {
  const hub = await startHub();
  const connections: Connection[] = [];
  try {
    const a = await hub.addIdentity('edge1/A');
    const good = sasFor(IOT_HUB, 'edge1/A', a.key);
    const connection = await connectRaw(hub.amqpPort, hub.ca);
    connections.push(connection);
    const cbs = await openCbs(connection);
    assert.deepEqual(await cbs.put(good.audience, good.token), { status: 200, description: 'OK', correlated: true });

    const wrong = sasFor(IOT_HUB, 'edge1/A', Buffer.alloc(32, 7).toString('base64'));
    const refused = await cbs.put(wrong.audience, wrong.token);
    assert.equal(refused.status, 401);
    assert.match(String(refused.description), /bad-signature/);
    const bad = await cbs.put('not-an-audience', good.token);
    assert.equal(bad.status, 400);

    assert.doesNotMatch(JSON.stringify(hub.logger.lines), /SharedAccessSignature|sig=/);
  } finally {
    for (const c of connections) await closeRaw(c);
    await hub.close();
  }
});

test('AMQP links: only identities authenticated on the connection; module A cannot attach to module B\'s input; wrong kinds are not allowed', { timeout: 20_000 }, async () => {
  const hub = await startHub();
  const connections: Connection[] = [];
  try {
    const a = await hub.addIdentity('edge1/A');
    await hub.addIdentity('edge1/B');
    const leaf = await hub.addIdentity('leaf1');
    const connection = await connectRaw(hub.amqpPort, hub.ca);
    connections.push(connection);
    const cbs = await openCbs(connection);

    // Before any token: refused.
    assert.equal((await attachReceiver(connection, '/devices/edge1/modules/A/messages/events')).refused, 'amqp:unauthorized-access');

    const sasA = sasFor(IOT_HUB, 'edge1/A', a.key);
    assert.equal((await cbs.put(sasA.audience, sasA.token)).status, 200);
    const own = await attachReceiver(connection, '/devices/edge1/modules/A/messages/events');
    assert.equal(own.refused, undefined, 'A may read its own inputs');
    assert.equal((await attachReceiver(connection, '/devices/edge1/modules/B/messages/events')).refused, 'amqp:unauthorized-access', 'not B\'s inputs');
    assert.equal((await attachSender(connection, '/devices/edge1/modules/B/messages/events')).refused, 'amqp:unauthorized-access', 'nor send as B');
    assert.equal((await attachReceiver(connection, '/devices/edge1/modules/B/twin')).refused, 'amqp:unauthorized-access', 'nor read B\'s twin');
    assert.equal((await attachReceiver(connection, '/devices/edge1/modules/A/messages/deviceBound')).refused, 'amqp:not-allowed', 'C2D is for devices');
    assert.equal((await attachReceiver(connection, '/devices/edge1/modules/A/nowhere')).refused, 'amqp:not-found');
    assert.ok(hub.logger.lines.some((l) => l.message === 'link refused' && l.fields?.['condition'] === 'amqp:unauthorized-access'));

    // A device: no inputs, and no outputs.
    const sasLeaf = sasFor(IOT_HUB, 'leaf1', leaf.key);
    assert.equal((await cbs.put(sasLeaf.audience, sasLeaf.token)).status, 200);
    assert.equal((await attachReceiver(connection, '/devices/leaf1/messages/events')).refused, 'amqp:not-allowed');
    const telemetry = await attachSender(connection, '/devices/leaf1/messages/events');
    assert.equal(telemetry.refused, undefined);
    const output = await sendAndSettle(telemetry.link, { application_properties: { 'iothub-outputname': 'out1' }, body: 'x' } as AmqpMessage);
    assert.equal(output, 'rejected:amqp:not-allowed');
    // Two identities on one connection (multiplexing, as the edge's upstream does): both registered.
    const directory = hub.get(ClientDirectory);
    assert.ok(directory.get(parseIdentity('edge1/A')) !== undefined && directory.get(parseIdentity('leaf1')) !== undefined);
  } finally {
    for (const c of connections) await closeRaw(c);
    await hub.close();
  }
});

test('AMQP SASL PLAIN: <device>/modules/<module>@sas.<hub> with the SAS token; a wrong token fails the connection', { timeout: 20_000 }, async () => {
  const hub = await startHub({ routes: { all: 'FROM /messages/* INTO $upstream' } });
  const connections: Connection[] = [];
  try {
    const a = await hub.addIdentity('edge1/A');
    const sas = sasFor(IOT_HUB, 'edge1/A', a.key);
    const connection = await connectRaw(hub.amqpPort, hub.ca, { username: `edge1/modules/A@sas.${IOT_HUB.split('.')[0]}`, password: sas.token });
    connections.push(connection);
    const sender = await attachSender(connection, '/devices/edge1/modules/A/messages/events');
    assert.equal(sender.refused, undefined, 'no CBS needed after SASL PLAIN');
    assert.equal(await sendAndSettle(sender.link, { body: dataBody('hello'), application_properties: { 'iothub-outputname': 'out1' } } as AmqpMessage), 'accepted');
    const store = hub.get(MessageStore);
    const queue = store.queues().find((q) => q.endpointId === '$upstream')!;
    const [entry] = await store.read({ endpointId: '$upstream', priority: queue.priority }, queue.checkpoint, 1);
    assert.equal(entry?.message.systemProperties['connectionModuleId'], 'A');
    assert.equal(entry?.message.systemProperties['outputName'], 'out1');

    const wrong = sasFor(IOT_HUB, 'edge1/A', Buffer.alloc(32, 9).toString('base64'));
    await assert.rejects(connectRaw(hub.amqpPort, hub.ca, { username: 'edge1/modules/A@sas.edgeport-test', password: wrong.token }));
    assert.ok(hub.logger.lines.some((l) => l.message === 'connection refused' && l.fields?.['via'] === 'sasl-plain' && l.fields?.['reason'] === 'bad-signature'));
  } finally {
    for (const c of connections) await closeRaw(c);
    await hub.close();
  }
});

test('AMQP token expiry detaches that identity\'s links; a renewal on the same $cbs links keeps them', { timeout: 20_000 }, async () => {
  const hub = await startHub();
  const connections: Connection[] = [];
  try {
    const a = await hub.addIdentity('edge1/A');
    const b = await hub.addIdentity('edge1/B');
    const connection = await connectRaw(hub.amqpPort, hub.ca);
    connections.push(connection);
    const cbs = await openCbs(connection);
    const shortA = sasFor(IOT_HUB, 'edge1/A', a.key, 2);
    const shortB = sasFor(IOT_HUB, 'edge1/B', b.key, 2);
    assert.equal((await cbs.put(shortA.audience, shortA.token)).status, 200);
    assert.equal((await cbs.put(shortB.audience, shortB.token)).status, 200);
    const inputsA = await attachReceiver(connection, '/devices/edge1/modules/A/messages/events');
    const inputsB = await attachReceiver(connection, '/devices/edge1/modules/B/messages/events');
    const longB = sasFor(IOT_HUB, 'edge1/B', b.key, 3600);
    assert.equal((await cbs.put(longB.audience, longB.token)).status, 200, 'renewal');
    assert.equal(await within(5000, 'A detached on expiry', inputsA.detached), 'amqp:unauthorized-access');
    const directory = hub.get(ClientDirectory);
    assert.equal(directory.get(parseIdentity('edge1/A')), undefined, 'A is gone from the directory');
    await pause(500);
    assert.ok(inputsB.link.is_open(), 'B, renewed, keeps its link');
    assert.equal(directory.get(parseIdentity('edge1/B'))?.has('inputs'), true);
    assert.equal((await attachReceiver(connection, '/devices/edge1/modules/A/twin')).refused, 'amqp:unauthorized-access', 'A must put a new token first');
  } finally {
    for (const c of connections) await closeRaw(c);
    await hub.close();
  }
});

test('AMQP C2D dispositions: accepted removes, rejected dead-letters, released keeps the message for the next attach', { timeout: 20_000 }, async () => {
  const hub = await startHub();
  const connections: Connection[] = [];
  try {
    const leaf = await hub.addIdentity('leaf1');
    const c2d = hub.get(CloudToDeviceService);
    const connection = await connectRaw(hub.amqpPort, hub.ca);
    connections.push(connection);
    const sas = sasFor(IOT_HUB, 'leaf1', leaf.key);
    assert.equal((await putToken(connection, sas.audience, sas.token)).status, 200);
    // edgeHub spells the node `deviceBound`, the SDK `devicebound`: both match.
    const receiver = (await attachReceiver(connection, '/devices/leaf1/messages/deviceBound')).link;

    let next = nextMessage(receiver);
    await c2d.send({ deviceId: 'leaf1', body: new TextEncoder().encode('one'), properties: { p: 'v' }, messageId: 'm1' });
    let ctx = await within(5000, 'first', next);
    assert.equal(Buffer.from((ctx.message!.body as { content: Buffer }).content).toString(), 'one');
    assert.equal(ctx.message!.message_id, 'm1');
    assert.deepEqual(ctx.message!.application_properties, { p: 'v' });
    next = nextMessage(receiver);
    ctx.delivery!.reject({ condition: 'amqp:internal-error', description: 'cannot handle it' });
    await within(5000, 'rejected removed', (async () => {
      while ((await c2d.pending('leaf1')).length > 0) await pause(20);
    })());

    await c2d.send({ deviceId: 'leaf1', body: new TextEncoder().encode('two') });
    ctx = await within(5000, 'second', next);
    ctx.delivery!.release();
    await pause(300);
    assert.equal((await c2d.pending('leaf1')).length, 1, 'released: still queued');
    receiver.close();
    await pause(200);
    const redelivered = new Promise<EventContext>((resolve) => void attachReceiver(connection, '/devices/leaf1/messages/devicebound', {}, resolve));
    ctx = await within(5000, 'redelivered', redelivered);
    assert.equal(Buffer.from((ctx.message!.body as { content: Buffer }).content).toString(), 'two');
    ctx.delivery!.accept();
    await within(5000, 'accepted removed', (async () => {
      while ((await c2d.pending('leaf1')).length > 0) await pause(20);
    })());
  } finally {
    for (const c of connections) await closeRaw(c);
    await hub.close();
  }
});

test('AMQP telemetry: credit is bounded by the window and topped up as messages are stored; oversize messages are rejected', { timeout: 30_000 }, async () => {
  const hub = await startHub({ routes: { all: 'FROM /messages/* INTO $upstream' }, amqpCreditWindow: 4 });
  const connections: Connection[] = [];
  try {
    const leaf = await hub.addIdentity('leaf1');
    const connection = await connectRaw(hub.amqpPort, hub.ca);
    connections.push(connection);
    const sas = sasFor(IOT_HUB, 'leaf1', leaf.key);
    assert.equal((await putToken(connection, sas.audience, sas.token)).status, 200);
    const sender = (await attachSender(connection, '/devices/leaf1/messages/events')).link;
    let maxCredit = 0;
    sender.on('sendable', () => (maxCredit = Math.max(maxCredit, (sender as unknown as { credit: number }).credit)));
    const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => sendAndSettle(sender, { body: dataBody(`m${i}`), message_id: `id-${i}` } as AmqpMessage)));
    assert.deepEqual(new Set(outcomes), new Set(['accepted']));
    assert.ok(maxCredit > 0 && maxCredit <= 4, `credit never above the window (saw ${maxCredit})`);
    assert.equal(hub.get(MessageStore).queues().find((q) => q.endpointId === '$upstream')?.length, 40);

    const big = await sendAndSettle(sender, { body: dataBody('x'.repeat(300 * 1024)) } as AmqpMessage);
    assert.equal(big, 'rejected:amqp:link:message-size-exceeded');
  } finally {
    for (const c of connections) await closeRaw(c);
    await hub.close();
  }
});

test('AMQP over WebSocket (official SDK AmqpWs, subprotocol AMQPWSB10 on the HTTPS listener): telemetry stored, twin read, method answered', { timeout: 30_000 }, async () => {
  const hub = await startHub({ https: true, routes: { all: 'FROM /messages/* INTO $upstream' } });
  const leaf = await hub.addIdentity('wsleaf');
  await hub.get(TwinService).updateDesired(parseIdentity('wsleaf'), { interval: 7 });
  // AmqpWs builds wss://<GatewayHostName>:443/$iothub/websocket: no port in the gateway name.
  const client = Client.fromConnectionString(leaf.connectionString.replace(/GatewayHostName=[^;]+/, 'GatewayHostName=localhost'), AmqpWs);
  try {
    await client.setOptions({ ca: hub.ca, amqp: { webSocketAgent: agentToPort(hub.httpsPort) } } as Parameters<typeof client.setOptions>[0]);
    await within(10_000, 'open over WebSocket', client.open());
    await within(10_000, 'sendEvent', client.sendEvent(new Message('over-amqp-ws')));
    const store = hub.get(MessageStore);
    const queue = store.queues().find((q) => q.endpointId === '$upstream')!;
    const [stored] = await store.read({ endpointId: '$upstream', priority: queue.priority }, queue.checkpoint, 10);
    assert.equal(new TextDecoder().decode(stored!.message.body), 'over-amqp-ws');
    assert.equal(stored!.message.systemProperties['connectionDeviceId'], 'wsleaf');
    const twin = (await within(10_000, 'getTwin over WebSocket', client.getTwin())) as unknown as { properties: { desired: Record<string, unknown> } };
    assert.equal(twin.properties.desired['interval'], 7);
    client.onDeviceMethod('ping', (_request, response) => void response.send(200, { pong: true }));
    await pause(300);
    assert.deepEqual(await hub.get(MethodService).invoke(parseIdentity('wsleaf'), 'ping', null, 5000), { status: 200, payload: { pong: true } });
  } finally {
    await client.close().catch(() => undefined);
    await hub.close();
  }
});

test('AMQP session window: pre-settled twin requests are settled locally, so 2100 later messages on the same session still flow', { timeout: 60_000 }, async () => {
  const hub = await startHub({ routes: { all: 'FROM /messages/* INTO $upstream' } });
  const leaf = await hub.addIdentity('leaf1');
  const client = Client.fromConnectionString(leaf.amqpConnectionString, Amqp);
  try {
    await client.setOptions({ ca: hub.ca });
    await within(10_000, 'open', client.open());
    // The SDK's twin sender sends pre-settled (snd_settle_mode 1) on the session telemetry uses.
    await within(10_000, 'getTwin', client.getTwin());
    // rhea's session keeps 2048 incoming deliveries until they are settled from the oldest on.
    const total = 2100;
    await within(45_000, `${total} sendEvent`, Promise.all(Array.from({ length: total }, (_, i) => client.sendEvent(new Message(`m${i}`)))));
    assert.equal(hub.get(MessageStore).queues().find((q) => q.endpointId === '$upstream')?.length, total);
  } finally {
    await client.close().catch(() => undefined);
    await hub.close();
  }
});

test('AMQP session window: inputs left unsettled on a detached link do not block later deliveries on the same session', { timeout: 60_000 }, async () => {
  const hub = await startHub({ routes: { aToB: 'FROM /messages/modules/A/outputs/out INTO BrokeredEndpoint("/modules/B/inputs/in")' } });
  const connections: Connection[] = [];
  try {
    const a = await hub.addIdentity('edge1/A');
    const b = await hub.addIdentity('edge1/B');
    const connA = await connectRaw(hub.amqpPort, hub.ca);
    const connB = await connectRaw(hub.amqpPort, hub.ca);
    connections.push(connA, connB);
    const sasA = sasFor(IOT_HUB, 'edge1/A', a.key);
    const sasB = sasFor(IOT_HUB, 'edge1/B', b.key);
    assert.equal((await putToken(connA, sasA.audience, sasA.token)).status, 200);
    assert.equal((await putToken(connB, sasB.audience, sasB.token)).status, 200);
    const sender = (await attachSender(connA, '/devices/edge1/modules/A/messages/events')).link;
    const output = (body: string): AmqpMessage => ({ application_properties: { 'iothub-outputname': 'out' }, body: dataBody(body) }) as AmqpMessage;

    // B takes the first input and detaches without settling it.
    const first = new Promise<EventContext>((resolve) => void attachReceiver(connB, '/devices/edge1/modules/B/messages/events', {}, resolve));
    assert.equal(await sendAndSettle(sender, output('first')), 'accepted');
    const unsettled = await within(5000, 'first input', first);
    unsettled.receiver!.close();
    // Forget it locally without a disposition, as a client stack does that drops a detached link's
    // deliveries (rhea would otherwise keep it at the head of the client's own session buffer).
    (unsettled.delivery as unknown as { settled: boolean }).settled = true;
    await pause(200);

    // B comes back on the same connection (same session) and accepts everything: the first again, then 2100 more.
    const bodies: string[] = [];
    await attachReceiver(connB, '/devices/edge1/modules/B/messages/events', { autoaccept: true }, (ctx) => bodies.push(Buffer.from((ctx.message!.body as { content: Buffer }).content).toString()));
    const total = 2100;
    const outcomes = await within(30_000, 'send', Promise.all(Array.from({ length: total }, (_, i) => sendAndSettle(sender, output(`m${i}`)))));
    assert.deepEqual(new Set(outcomes), new Set(['accepted']));
    await within(30_000, 'all inputs at B', (async () => {
      while (bodies.length < total + 1) await pause(50);
    })());
    assert.equal(bodies[0], 'first', 'redelivered after the detach');
    assert.equal(bodies.at(-1), `m${total - 1}`);
  } finally {
    for (const c of connections) await closeRaw(c);
    await hub.close();
  }
});

test('AMQP outputs: SDK-shaped messages (the head\'s own decoder) and any other (rhea\'s decoder) reach the routed input alike; bytes rhea cannot decode end the connection, nothing stored', { timeout: 30_000 }, async () => {
  const hub = await startHub({ routes: { r: 'FROM /messages/modules/A/outputs/* INTO BrokeredEndpoint("/modules/B/inputs/in1")' } });
  const connections: Connection[] = [];
  const open = async (id: string, key: string): Promise<Connection> => {
    const connection = await connectRaw(hub.amqpPort, hub.ca);
    connections.push(connection);
    const sas = sasFor(IOT_HUB, id, key);
    assert.equal((await putToken(connection, sas.audience, sas.token)).status, 200);
    return connection;
  };
  try {
    const a = await hub.addIdentity('edge1/A');
    const b = await hub.addIdentity('edge1/B');
    const received: AmqpMessage[] = [];
    const inputs = await open('edge1/B', b.key);
    const gotTwo = new Promise<void>((resolve) =>
      void attachReceiver(inputs, '/devices/edge1/modules/B/messages/events', { autoaccept: true }, (ctx) => {
        received.push(ctx.message!);
        if (received.length === 2) resolve();
      }),
    );
    const outputs = await open('edge1/A', a.key);
    const sender = (await attachSender(outputs, '/devices/edge1/modules/A/messages/events')).link;
    // As the SDK sends an output: uuid message id, symbols, string and number properties, one data section.
    const sdkShaped = {
      message_id: rhea.string_to_uuid('0f8fad5b-d9cb-469f-a165-70867728950e'),
      correlation_id: 'c-1',
      content_type: 'application/json',
      content_encoding: 'utf-8',
      creation_time: new Date('2030-01-02T03:04:05.006Z'),
      message_annotations: { 'dt-subject': 'sub' },
      application_properties: { 'iothub-outputname': 'out1', alert: 'high', count: 3, ok: true },
      body: dataBody('{"t":1}'),
    } as unknown as AmqpMessage;
    // What only rhea's decoder reads here: a double property and an amqp-value body.
    const other = { message_id: 'm-2', application_properties: { 'iothub-outputname': 'out2', ratio: 0.5 }, body: 'text body' } as unknown as AmqpMessage;
    assert.equal(await sendAndSettle(sender, sdkShaped), 'accepted');
    assert.equal(await sendAndSettle(sender, other), 'accepted');
    await gotTwo;
    const [first, second] = received;
    assert.equal(first!.message_id, '0f8fad5b-d9cb-469f-a165-70867728950e');
    assert.equal(first!.correlation_id, 'c-1');
    assert.equal(first!.content_type, 'application/json');
    assert.equal(first!.content_encoding, 'utf-8');
    assert.equal((first!.creation_time as Date).toISOString(), '2030-01-02T03:04:05.006Z');
    assert.deepEqual(first!.application_properties, { alert: 'high', count: '3', ok: 'true' });
    assert.equal(Buffer.from((first!.body as { content: Buffer }).content).toString(), '{"t":1}');
    assert.equal(second!.message_id, 'm-2');
    assert.deepEqual(second!.application_properties, { ratio: '0.5' });
    assert.equal(Buffer.from((second!.body as { content: Buffer }).content).toString(), 'text body');

    // Standard-format bytes rhea cannot decode (type code 0xff in a data section): rhea's verdict, the connection ends.
    const queued = (): number => hub.get(MessageStore).queues().reduce((n, q) => n + q.length, 0);
    const before = queued();
    const ended = new Promise<void>((resolve) => outputs.once('disconnected', () => resolve()));
    sender.send(Buffer.from([0x00, 0x53, 0x75, 0xff]), undefined, 0);
    await within(5_000, 'the connection ending', ended);
    // (The pump may checkpoint B's earlier inputs meanwhile: the count can only have gone down.)
    assert.ok(queued() <= before, 'nothing new stored');
    assert.equal(received.length, 2);
  } finally {
    for (const c of connections) await closeRaw(c);
    await hub.close();
  }
});
