import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIdentity } from '../../../domain/identity/identity.js';
import { MessageStore } from '../../../application/ports/message-store.js';
import { ClientDirectory } from '../../../application/hub/client-directory.js';
import { CloudToDeviceService } from '../../../application/hub/cloud-to-device-service.js';
import { MethodService } from '../../../application/hub/method-service.js';
import { TwinService } from '../../../application/hub/twin-service.js';
import { TwinStore } from '../../../application/hub/twin-store.js';
import { Client, Message, ModuleClient, Mqtt } from '../../support/mqtt/sdk.js';
import { Amqp } from '../../support/amqp/sdk.js';
import { type Hub, type HubOptions, startHub, within } from '../../support/mqtt/hub-harness.js';

/**
 * The edge hub's end-to-end scenarios with the official Azure IoT device SDK, written once and run
 * per transport (`mqtt.test.ts`, `amqp.test.ts`): everything above the protocol head is shared,
 * so the same client code must see the same hub.
 */
export interface Transport {
  readonly name: 'mqtt' | 'amqp';
  /** The SDK transport class (`Mqtt`, `Amqp`). */
  readonly protocol: typeof Mqtt | typeof Amqp;
  /** The identity's connection string through this transport's port. */
  connectionString(added: { connectionString: string; amqpConnectionString: string }): string;
  /** The sender identity edgeHub adds to routed messages, as the SDK surfaces it. */
  connectionIds(msg: Message): { deviceId: unknown; moduleId: unknown };
  /** Log message of a refused token. */
  readonly refusedLog: string;
  /** Token renewals of `id` seen in the hub's log (MQTT: reconnects; AMQP: put-token on the same links). */
  renewals(hub: Hub, id: string): number;
  /** After a hub restart: how the hub got `id`'s listeners back (MQTT: from the persisted session; AMQP: the client re-attached). */
  restoredAfterRestart(hub: Hub, id: string): boolean;
}

export const MQTT: Transport = {
  name: 'mqtt',
  protocol: Mqtt,
  connectionString: (added) => added.connectionString,
  // MQTT carries them as `$.cdid` / `$.cmid` in the topic; the SDK keeps them as properties.
  connectionIds: (msg) => ({ deviceId: msg.properties.getValue('$.cdid'), moduleId: msg.properties.getValue('$.cmid') }),
  refusedLog: 'connection refused',
  // The SDK reconnects with the new token (iot-sdk-protocol.md §1.7): every connect after the first is a renewal.
  renewals: (hub, id) => Math.max(0, hub.logger.lines.filter((l) => l.message === 'client connected' && l.fields?.['clientId'] === id).length - 1),
  // The SDK never re-subscribes twin topics after a drop (iot-sdk-protocol.md §1.7): the hub restores the session.
  restoredAfterRestart: (hub, id) => hub.logger.lines.some((l) => l.message === 'session restored from storage' && l.fields?.['clientId'] === id),
};

export const AMQP: Transport = {
  name: 'amqp',
  protocol: Amqp,
  connectionString: (added) => added.amqpConnectionString,
  // AMQP carries them as message annotations, which the SDK leaves on the raw message.
  connectionIds: (msg) => {
    const annotations = (msg as unknown as { transportObj?: { message_annotations?: Record<string, unknown> } }).transportObj?.message_annotations ?? {};
    return { deviceId: annotations['iothub-connection-device-id'], moduleId: annotations['iothub-connection-module-id'] };
  },
  refusedLog: 'put-token refused',
  renewals: (hub, id) => hub.logger.lines.filter((l) => l.message === 'token renewed' && l.fields?.['identity'] === id).length,
  // The SDK reconnects (the hub drops sockets without a close frame) and re-attaches inputs, methods and twin links.
  restoredAfterRestart: (hub, id) => hub.logger.lines.some((l) => l.message === 'client connected' && l.fields?.['identity'] === id),
};

const ROUTES = { aToB: 'FROM /messages/modules/A/outputs/output1 INTO BrokeredEndpoint("/modules/B/inputs/input1")' };

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(ms: number, what: string, condition: () => boolean): Promise<void> {
  await within(ms, what, (async () => {
    while (!condition()) await pause(20);
  })());
}

interface SdkTwin {
  properties: { desired: Record<string, unknown>; reported: Record<string, unknown> & { update(patch: unknown, done: (err?: Error) => void): void } };
  on(event: string, listener: (delta: Record<string, unknown>) => void): void;
  get(): Promise<SdkTwin>;
}

/** Opens a module client; `t.protocol` decides the transport. */
export async function openModule(t: Transport, connectionString: string, ca: string, options: Record<string, unknown> = {}): Promise<ModuleClient> {
  const client = ModuleClient.fromConnectionString(connectionString, t.protocol);
  await client.setOptions({ ca, ...options });
  await within(10_000, `${t.name} ModuleClient.open`, client.open());
  return client;
}

/** Collects input bodies of `client` (completing each message, as the SDK samples do). */
export function collectInputs(client: ModuleClient): Array<{ input: string; msg: Message }> {
  const received: Array<{ input: string; msg: Message }> = [];
  client.on('inputMessage', (input: string, msg: Message) => {
    received.push({ input, msg });
    void client.complete(msg).catch(() => undefined);
  });
  return received;
}

/**
 * Runs `body` with a hub routing module A's `output1` to module B's `input1`, both connected over
 * `t` (B first, listening to its inputs); closes clients and hub afterwards.
 */
async function withRoutedModules(
  t: Transport,
  hubOptions: HubOptions,
  optionsB: Record<string, unknown>,
  body: (ctx: { hub: Hub; moduleA: ModuleClient; received: Array<{ input: string; msg: Message }> }) => Promise<void>,
): Promise<void> {
  const hub = await startHub({ routes: ROUTES, ...hubOptions });
  const clients: ModuleClient[] = [];
  try {
    const a = await hub.addIdentity('edge1/A');
    const b = await hub.addIdentity('edge1/B');
    const moduleB = await openModule(t, t.connectionString(b), hub.ca, optionsB);
    clients.push(moduleB);
    const received = collectInputs(moduleB);
    // The SDK subscribes (MQTT) or attaches its receiver (AMQP) on the first 'inputMessage' listener.
    await pause(300);
    const moduleA = await openModule(t, t.connectionString(a), hub.ca);
    clients.push(moduleA);
    await body({ hub, moduleA, received });
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    await hub.close();
  }
}

/** Defines every scenario for transport `t`. */
export function hubScenarios(t: Transport): void {
  const startHubFor = (options: HubOptions = {}): Promise<Hub> => startHub(options);

  test(`${t.name} SDK: module A output is routed to module B input with body and properties`, { timeout: 30_000 }, async () => {
    await withRoutedModules(t, {}, {}, async ({ moduleA, received }) => {
      const out = new Message(JSON.stringify({ temperature: 31.5 }));
      out.properties.add('alert', 'high temp & more=yes/no');
      out.messageId = 'mid-1';
      out.correlationId = 'cid-1';
      out.contentType = 'application/json';
      out.contentEncoding = 'utf-8';
      await within(10_000, 'sendOutputEvent', moduleA.sendOutputEvent('output1', out));
      await until(10_000, 'input message at B', () => received.length > 0);
      const { input, msg } = received[0]!;
      assert.equal(input, 'input1');
      assert.deepEqual(JSON.parse(msg.getBytes().toString()), { temperature: 31.5 });
      assert.equal(msg.properties.getValue('alert'), 'high temp & more=yes/no');
      assert.equal(msg.messageId, 'mid-1');
      assert.equal(msg.correlationId, 'cid-1');
      assert.equal(msg.contentType, 'application/json');
      assert.equal(msg.contentEncoding, 'utf-8');
      // edgeHub adds the sender's identity.
      assert.deepEqual(t.connectionIds(msg), { deviceId: 'edge1', moduleId: 'A' });
    });
  });

  test(`${t.name} SDK: inputs keep flowing across SAS token renewals`, { timeout: 40_000 }, async () => {
    // Tokens valid 3 s, renewed 2 s before expiry: a renewal every ~1 s.
    const renewing = { tokenRenewal: { tokenValidTimeInSeconds: 3, tokenRenewalMarginInSeconds: 2 } };
    // The first tokens are made after this moment and expire at most 3 s later (a second more for rounding).
    const firstTokensExpired = Date.now() + 4000;
    await withRoutedModules(t, {}, renewing, async ({ hub, moduleA, received }) => {
      await moduleA.sendOutputEvent('output1', new Message('before'));
      const before = t.renewals(hub, 'edge1/B');
      // Past the first token's expiry, with a renewal: without working renewals the hub would have dropped B.
      await until(10_000, `B renews its token (${before} so far)`, () => t.renewals(hub, 'edge1/B') >= before + 1);
      await until(10_000, "past the first tokens' expiry", () => Date.now() > firstTokensExpired);
      await moduleA.sendOutputEvent('output1', new Message('after'));
      await until(10_000, 'both messages', () => received.length >= 2);
      assert.deepEqual(received.map((r) => r.msg.getBytes().toString()), ['before', 'after']);
    });
  });

  test(`${t.name} SDK: 300 routed messages arrive in order`, { timeout: 40_000 }, async () => {
    await withRoutedModules(t, {}, {}, async ({ moduleA, received }) => {
      const expected = Array.from({ length: 300 }, (_, i) => `m${i}`);
      await within(20_000, 'send 300', Promise.all(expected.map((body) => moduleA.sendOutputEvent('output1', new Message(body)))));
      await until(20_000, 'receive 300', () => received.length >= expected.length);
      assert.deepEqual(received.map((r) => r.msg.getBytes().toString()), expected);
    });
  });

  test(`${t.name} SDK: twin get, reported patch (stored, notification routed), desired push from TwinService`, { timeout: 30_000 }, async () => {
    const hub = await startHubFor({ routes: { twins: 'FROM /twinChangeNotifications INTO $upstream' } });
    const b = await hub.addIdentity('edge1/B');
    const client = ModuleClient.fromConnectionString(t.connectionString(b), t.protocol);
    try {
      await client.setOptions({ ca: hub.ca });
      await within(10_000, 'open', client.open());
      const twin = (await within(10_000, 'getTwin', client.getTwin())) as unknown as SdkTwin;
      assert.equal(twin.properties.desired['$version'], 1);

      await within(10_000, 'reported update', new Promise<void>((resolve, reject) => twin.properties.reported.update({ firmware: '1.2.3', telemetry: { interval: 5 } }, (err) => (err ? reject(err) : resolve()))));
      const stored = await hub.get(TwinStore).get(parseIdentity('edge1/B'));
      assert.deepEqual(stored.reported.properties, { firmware: '1.2.3', telemetry: { interval: 5 } });
      assert.equal(stored.reported.$version, 2);
      const upstream = hub.get(MessageStore).queues().find((q) => q.endpointId === '$upstream');
      assert.equal(upstream?.length, 1, 'one twin-change notification stored for the upstream');

      const deltas: Array<Record<string, unknown>> = [];
      twin.on('properties.desired', (delta) => deltas.push(delta));
      await pause(300); // the SDK enables desired updates on the first listener
      const update = await hub.get(TwinService).updateDesired(parseIdentity('edge1/B'), { color: 'red', limits: { max: 30 } });
      assert.ok(update.applied);
      await until(10_000, 'desired patch at the client', () => deltas.some((d) => d['color'] === 'red'));
      const pushed = deltas.find((d) => d['color'] === 'red')!;
      assert.equal(pushed['$version'], 2);
      assert.deepEqual(pushed['limits'], { max: 30 });
      assert.equal(twin.properties.desired['color'], 'red');

      const again = await within(10_000, 'second get', twin.get());
      assert.equal(again.properties.desired['$version'], 2);
      assert.equal(again.properties.reported['firmware'], '1.2.3');
    } finally {
      await client.close().catch(() => undefined);
      await hub.close();
    }
  });

  test(`${t.name} SDK: direct method round trip through MethodService; 404 when offline; 504 on timeout`, { timeout: 30_000 }, async () => {
    const hub = await startHubFor();
    const d = await hub.addIdentity('leaf1');
    const client = Client.fromConnectionString(t.connectionString(d), t.protocol);
    const methods = hub.get(MethodService);
    try {
      assert.equal((await methods.invoke(parseIdentity('leaf1'), 'reboot', null, 1000)).status, 404, 'not connected');
      await client.setOptions({ ca: hub.ca });
      await within(10_000, 'open', client.open());
      client.onDeviceMethod('reboot', (request, response) => {
        void response.send(200, { accepted: true, echo: request.payload as unknown });
      });
      await pause(300);
      const result = await methods.invoke(parseIdentity('leaf1'), 'reboot', { delaySeconds: 3 }, 5000);
      assert.deepEqual(result, { status: 200, payload: { accepted: true, echo: { delaySeconds: 3 } } });
      const silent = await methods.invoke(parseIdentity('leaf1'), 'noHandler', null, 500);
      assert.equal(silent.status, 504);
      assert.equal(methods.inFlight, 0);
    } finally {
      await client.close().catch(() => undefined);
      await hub.close();
    }
  });

  test(`${t.name} SDK: cloud-to-device messages reach the device in order and leave the queue once completed`, { timeout: 30_000 }, async () => {
    const hub = await startHubFor();
    const d = await hub.addIdentity('leaf1');
    const client = Client.fromConnectionString(t.connectionString(d), t.protocol);
    try {
      const c2d = hub.get(CloudToDeviceService);
      await c2d.send({ deviceId: 'leaf1', body: new TextEncoder().encode('first'), properties: { kind: 'config' }, messageId: 'c2d-1', correlationId: 'corr-1', contentType: 'text/plain' });
      await client.setOptions({ ca: hub.ca });
      await within(10_000, 'open', client.open());
      const received: Message[] = [];
      client.on('message', (msg: Message) => {
        received.push(msg);
        void client.complete(msg).catch(() => undefined);
      });
      await until(10_000, 'queued C2D message', () => received.length >= 1);
      await c2d.send({ deviceId: 'leaf1', body: new TextEncoder().encode('second') });
      await until(10_000, 'live C2D message', () => received.length >= 2);
      assert.deepEqual(received.map((m) => m.getBytes().toString()), ['first', 'second']);
      assert.equal(received[0]!.messageId, 'c2d-1');
      assert.equal(received[0]!.correlationId, 'corr-1');
      assert.equal(received[0]!.properties.getValue('kind'), 'config');
      // Removed from the durable queue only once the client accepted it.
      await within(10_000, 'queue drained', (async () => {
        while ((await c2d.pending('leaf1')).length > 0) await pause(50);
      })());
    } finally {
      await client.close().catch(() => undefined);
      await hub.close();
    }
  });

  test(`${t.name} SDK: a wrong key is refused (UnauthorizedError) and the log line carries no token`, { timeout: 30_000 }, async () => {
    const hub = await startHubFor();
    const d = await hub.addIdentity('leaf2');
    const wrong = t.connectionString(d).replace(d.key, Buffer.alloc(32, 7).toString('base64'));
    const client = Client.fromConnectionString(wrong, t.protocol);
    try {
      await client.setOptions({ ca: hub.ca });
      await assert.rejects(within(15_000, 'open', client.open()), (error: Error) => {
        assert.match(error.name + ' ' + error.message, /Unauthorized|Not authorized/i);
        return true;
      });
      const refused = hub.logger.lines.filter((l) => l.message === t.refusedLog);
      assert.equal(refused.length >= 1, true);
      assert.equal(refused[0]?.fields?.['reason'], 'bad-signature');
      assert.doesNotMatch(JSON.stringify(hub.logger.lines), /SharedAccessSignature|sig=/);
    } finally {
      await client.close().catch(() => undefined);
      await hub.close();
    }
  });

  test(`${t.name} SDK: leaf device telemetry is routed by a condition on its (string) properties and stored with its identity`, { timeout: 30_000 }, async () => {
    const hub = await startHubFor({ routes: { hot: 'FROM /messages WHERE as_number(temperature) > 30 INTO $upstream' } });
    const d = await hub.addIdentity('leaf1');
    const client = Client.fromConnectionString(t.connectionString(d), t.protocol);
    try {
      await client.setOptions({ ca: hub.ca });
      await within(10_000, 'open', client.open());
      for (const temperature of ['25', '35']) {
        const m = new Message(`{"t":${temperature}}`);
        m.properties.add('temperature', temperature);
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

  test(`${t.name} SDK: after a hub restart, identities, twins and stored messages survive; the module reconnects and gets its inputs`, { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgeport-restart-'));
    let hub = await startHubFor({ dir, routes: ROUTES });
    const port = hub.port;
    const amqpPort = hub.amqpPort;
    const b = await hub.addIdentity('edge1/B');
    const a = await hub.addIdentity('edge1/A');
    const moduleB = ModuleClient.fromConnectionString(t.connectionString(b), t.protocol);
    const moduleA = ModuleClient.fromConnectionString(t.connectionString(a), t.protocol);
    try {
      await moduleB.setOptions({ ca: hub.ca });
      await within(10_000, 'open B', moduleB.open());
      const received = collectInputs(moduleB);
      const twin = (await moduleB.getTwin()) as unknown as SdkTwin;
      const desired: Array<Record<string, unknown>> = [];
      twin.on('properties.desired', (delta) => desired.push(delta));
      await new Promise<void>((resolve, reject) => twin.properties.reported.update({ state: 'ok' }, (e) => (e ? reject(e) : resolve())));
      await pause(300);

      await hub.stop();
      hub = await startHubFor({ dir, port, amqpPort, routes: ROUTES });
      assert.equal((await hub.get(TwinStore).get(parseIdentity('edge1/B'))).reported.properties['state'], 'ok', 'twin survived');

      // A (registered before the restart) connects to the new process and sends; B is back via the SDK's reconnect.
      await moduleA.setOptions({ ca: hub.ca });
      await within(10_000, 'open A after restart', moduleA.open());
      await within(10_000, 'send', moduleA.sendOutputEvent('output1', new Message('after-restart')));
      await until(30_000, 'B receives after reconnecting', () => received.some((r) => r.msg.getBytes().toString() === 'after-restart'));
      // Desired updates still arrive: MQTT restores the persisted session (the SDK never
      // re-subscribes twin topics after a drop, iot-sdk-protocol.md §1.7); AMQP clients re-attach.
      const directory = hub.get(ClientDirectory);
      await until(10_000, 'B listens for desired updates again', () => directory.get(parseIdentity('edge1/B'))?.has('twin-desired') === true);
      await hub.get(TwinService).updateDesired(parseIdentity('edge1/B'), { mode: 'eco' });
      await until(10_000, 'desired patch after restart', () => desired.some((d) => d['mode'] === 'eco'));
      assert.ok(t.restoredAfterRestart(hub, 'edge1/B'));
    } finally {
      await moduleA.close().catch(() => undefined);
      await moduleB.close().catch(() => undefined);
      await hub.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}
