import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIdentity } from '../../../domain/identity/identity.js';
import { MessageStore } from '../../../application/ports/message-store.js';
import { MethodService } from '../../../application/hub/method-service.js';
import { TwinService } from '../../../application/hub/twin-service.js';
import { TwinStore } from '../../../application/hub/twin-store.js';
import { Client, ModuleClient, Mqtt } from '../../support/mqtt/sdk.js';
import { startHub, within } from '../../support/mqtt/hub-harness.js';

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface SdkTwin {
  properties: { desired: Record<string, unknown>; reported: Record<string, unknown> & { update(patch: unknown, done: (err?: Error) => void): void } };
  on(event: string, listener: (delta: Record<string, unknown>) => void): void;
  get(): Promise<SdkTwin>;
}

test('SDK: twin get, reported patch (stored, notification routed), desired push from TwinService', { timeout: 30_000 }, async () => {
  const hub = await startHub({ routes: { twins: 'FROM /twinChangeNotifications INTO $upstream' } });
  const b = await hub.addIdentity('edge1/B');
  const client = ModuleClient.fromConnectionString(b.connectionString, Mqtt);
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
    await pause(300); // the SDK subscribes to desired patches on the first listener
    const update = await hub.get(TwinService).updateDesired(parseIdentity('edge1/B'), { color: 'red', limits: { max: 30 } });
    assert.ok(update.applied);
    await within(10_000, 'desired patch at the client', (async () => {
      while (!deltas.some((d) => d['color'] === 'red')) await pause(20);
    })());
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

test('SDK: direct method round trip through MethodService; 404 when offline; 504 on timeout', { timeout: 30_000 }, async () => {
  const hub = await startHub();
  const d = await hub.addIdentity('leaf1');
  const client = Client.fromConnectionString(d.connectionString, Mqtt);
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

test('SDK: a wrong key is refused (UnauthorizedError) and the log line carries no token', { timeout: 30_000 }, async () => {
  const hub = await startHub();
  const d = await hub.addIdentity('leaf2');
  const wrong = d.connectionString.replace(d.key, Buffer.alloc(32, 7).toString('base64'));
  const client = Client.fromConnectionString(wrong, Mqtt);
  try {
    await client.setOptions({ ca: hub.ca });
    await assert.rejects(within(15_000, 'open', client.open()), (error: Error) => {
      assert.match(error.name + ' ' + error.message, /Unauthorized|Not authorized/i);
      return true;
    });
    const refused = hub.logger.lines.filter((l) => l.message === 'connection refused');
    assert.equal(refused.length >= 1, true);
    assert.equal(refused[0]?.fields?.['reason'], 'bad-signature');
    assert.doesNotMatch(JSON.stringify(hub.logger.lines), /SharedAccessSignature|sig=/);
  } finally {
    await client.close().catch(() => undefined);
    await hub.close();
  }
});
