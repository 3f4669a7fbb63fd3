import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loopbackListeners } from '../../support/cli/edgeport-cli.js';
import { IotHubEmulator } from '../../support/iothub-emulator/iothub-emulator.js';
import { Client, Message, Mqtt } from '../../support/mqtt/sdk.js';
import { within } from '../../support/mqtt/hub-harness.js';
import { RuntimeProcess } from '../../support/runtime-process.js';
import { TcpProxy } from '../../support/tcp-proxy.js';

const OUTAGE_MS = Number(process.env['NESTED_E2E_OUTAGE_MS'] ?? 30_000);
const LOG_LEVEL = process.env['NESTED_E2E_LOG_LEVEL'] ?? 'info';

/** First occurrences of `seq` in arrival order (at-least-once may repeat a message). */
function firstSeqs(values: ReadonlyArray<string | null | undefined>): number[] {
  const seen = new Set<string>();
  const out: number[] = [];
  for (const v of values) {
    if (v === undefined || v === null || seen.has(v)) continue;
    seen.add(v);
    out.push(Number(v));
  }
  return out;
}

/** POSTs an empty JSON object to the parent's HTTPS port; resolves with the status code and body. */
function post(port: string, ca: string, path: string, authorization: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', servername: 'localhost', port: Number(port), path, method: 'POST', ca, headers: { authorization, 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end('{}');
  });
}

function assertInOrder(seqs: number[], who: string): void {
  assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i), `${who}: every sequence number, in order, none lost`);
}

test('e2e nested edge: emulator <- parent edgeport <- child edgeport <- leaf: deployment through the parent, leaf and module telemetry as their identities, parent upstream down 30 s (the parent restarted offline meanwhile) then child link down 30 s without loss or reordering, method from the cloud to a child module, C2D to the leaf', { timeout: 240_000 }, async () => {
  const emulator = new IotHubEmulator();
  const parent = emulator.registry.add('parent1', { edge: true });
  const child = emulator.registry.add('child1', { edge: true, parent: 'parent1' });
  for (const id of ['parent1', 'child1']) for (const m of ['$edgeAgent', '$edgeHub']) emulator.registry.add(`${id}/${m}`);
  // The leaf belongs to the child: only the child's scope lists it.
  const leaf = emulator.registry.add('leaf1', { parent: 'child1' });
  await emulator.start();

  const parentDir = mkdtempSync(join(tmpdir(), 'edgeport-nested-parent-'));
  const childDir = mkdtempSync(join(tmpdir(), 'edgeport-nested-child-'));
  const emulatorCa = join(parentDir, 'emulator-ca.pem');
  writeFileSync(emulatorCa, emulator.ca);
  const parentListeners = await loopbackListeners();
  const childListeners = await loopbackListeners();
  const common = { EDGEPORT_HOSTNAME: 'localhost', EDGEPORT_IOT_HUB_HOSTNAME: emulator.hostName, EDGEPORT_AGENT_RUNTIME: 'process', EDGEPORT_UPSTREAM_MAX_RECONNECT_DELAY_SECS: '2', EDGEPORT_LOG_LEVEL: LOG_LEVEL };
  const startParent = (): RuntimeProcess => new RuntimeProcess(parentDir, {
    ...common,
    ...parentListeners,
    EDGEPORT_DEVICE_ID: 'parent1',
    EDGEPORT_UPSTREAM_KIND: 'iothub',
    EDGEPORT_UPSTREAM_CONNECTION_STRING: `HostName=${emulator.hostName};DeviceId=parent1;SharedAccessKey=${parent.primaryKey}`,
    EDGEPORT_UPSTREAM_HOST: 'localhost',
    EDGEPORT_UPSTREAM_AMQP_PORT: String(emulator.amqpPort),
    EDGEPORT_UPSTREAM_HTTPS_PORT: String(emulator.httpsPort),
    EDGEPORT_UPSTREAM_CA_FILE: emulatorCa,
  });
  let parentRuntime = startParent();
  /** Log lines of every parent process of the test (it is restarted once). */
  const parentLines: Array<Record<string, unknown>> = [];
  // The child reaches the parent's AMQP head and HTTPS port through proxies the test cuts.
  const amqpLink = new TcpProxy({ host: '127.0.0.1', port: Number(parentListeners.EDGEPORT_HUB_AMQP_PORT) });
  const httpsLink = new TcpProxy({ host: '127.0.0.1', port: Number(parentListeners.EDGEPORT_HUB_HTTPS_PORT) });
  await amqpLink.start();
  await httpsLink.start();
  let childRuntime: RuntimeProcess | undefined;
  let leafClient: InstanceType<typeof Client> | undefined;
  let leafRunning = false;
  let leafLoop: Promise<void> | undefined;
  try {
    await parentRuntime.until('parent running', 30_000, () => parentRuntime.lines.some((l) => String(l['msg']).startsWith('edgeport running')) || undefined);
    emulator.setDesired('parent1/$edgeHub', { schemaVersion: '1.1', routes: { up: 'FROM /messages/* INTO $upstream' }, storeAndForwardConfiguration: { timeToLiveSecs: 7200 } });
    emulator.setDesired('parent1/$edgeAgent', { schemaVersion: '1.1', modules: {} });
    await parentRuntime.until('parent $edgeHub reported 200', 30_000, () => ((emulator.twin('parent1/$edgeHub').reported.properties['lastDesiredStatus'] as { code?: number } | undefined)?.code === 200 ? true : undefined));

    // The child: kind "parent", trusting the parent's edge CA.
    const trustBundle = join(parentDir, 'certs', 'edge-ca.cert.pem');
    // The parent's nested-edge registry routes answer only the child device's valid token.
    const forged = await post(parentListeners.EDGEPORT_HUB_HTTPS_PORT, readFileSync(trustBundle, 'utf8'), '/devices/child1/modules/%24edgeHub/devicesAndModulesInDeviceScope', `SharedAccessSignature sr=${emulator.hostName}%2Fdevices%2Fchild1&sig=AAAA&se=${Math.floor(Date.now() / 1000) + 600}`);
    assert.equal(forged.status, 401, forged.body);
    assert.ok(!forged.body.includes('primaryKey'));
    childRuntime = new RuntimeProcess(childDir, {
      ...common,
      ...childListeners,
      EDGEPORT_DEVICE_ID: 'child1',
      EDGEPORT_UPSTREAM_KIND: 'parent',
      EDGEPORT_UPSTREAM_CONNECTION_STRING: `HostName=${emulator.hostName};DeviceId=child1;SharedAccessKey=${child.primaryKey};GatewayHostName=localhost`,
      EDGEPORT_UPSTREAM_PARENT_HOSTNAME: 'localhost',
      EDGEPORT_UPSTREAM_AMQP_PORT: String(amqpLink.port),
      EDGEPORT_UPSTREAM_HTTPS_PORT: String(httpsLink.port),
      EDGEPORT_UPSTREAM_TRUST_BUNDLE_FILE: trustBundle,
    });
    const childProc = childRuntime;
    await childProc.until('child running', 30_000, () => childProc.lines.some((l) => String(l['msg']).startsWith('edgeport running')) || undefined);

    // The child's deployment is set in the cloud and reaches it through the parent.
    emulator.setDesired('child1/$edgeHub', { schemaVersion: '1.1', routes: { up: 'FROM /messages/* INTO $upstream' }, storeAndForwardConfiguration: { timeToLiveSecs: 7200 } });
    emulator.setDesired('child1/$edgeAgent', {
      schemaVersion: '1.1',
      modules: { counter: { type: 'process', status: 'running', restartPolicy: 'always', version: '1.0', env: { INTERVAL_MS: { value: '100' } }, settings: { command: 'node', args: ['test/fixtures/upstream/counter-module.mjs'], cwd: '.' } } },
    });
    await childProc.until('child counter telemetry at the emulator', 60_000, () => (emulator.messages('child1/counter').length >= 10 ? true : undefined)).catch((error: unknown) => {
      throw new Error(`${String(error)}\nemulator refusals: ${emulator.refusals.join('; ')}\nparent:\n${parentRuntime.context()}`);
    });
    assert.ok(emulator.registry.get({ kind: 'module', deviceId: 'child1', moduleId: 'counter' }), 'the child\'s module identity was created in the cloud through the parent');
    assert.match(readFileSync(join(childDir, 'modules', 'counter.log'), 'utf8'), /counter connected as child1\/counter/);
    await childProc.until('child $edgeAgent reported running through the parent', 30_000, () => {
      const reported = emulator.twin('child1/$edgeAgent').reported.properties as { lastDesiredStatus?: { code?: number }; modules?: Record<string, { runtimeStatus?: string }> };
      return reported.lastDesiredStatus?.code === 200 && reported.modules?.['counter']?.runtimeStatus === 'running' ? true : undefined;
    });
    assert.ok(emulator.targetScopeRequests > 0, 'the parent asked for the child\'s device scope on its behalf');

    // A direct method from the cloud to the child's module and back, through the parent.
    const echo = await emulator.invokeMethod('child1/counter', 'echo', { x: 1 }, 20_000);
    assert.deepEqual(echo, { status: 200, payload: { echoed: { x: 1 }, from: 'counter' } });

    // The leaf (official MQTT client) connects to the child with its cloud key (the child's scope, cached through the parent).
    const childCa = readFileSync(join(childDir, 'certs', 'edge-ca.cert.pem'), 'utf8');
    const leafConnection = `HostName=${emulator.hostName};DeviceId=leaf1;SharedAccessKey=${leaf.primaryKey};GatewayHostName=localhost:${childListeners.EDGEPORT_HUB_MQTT_PORT}`;
    const c2d: string[] = [];
    await childProc.until('leaf1 open', 30_000, async () => {
      const client = Client.fromConnectionString(leafConnection, Mqtt);
      await client.setOptions({ ca: childCa });
      try {
        await within(10_000, 'leaf1 open', client.open());
        client.on('message', (msg) => {
          c2d.push(String(msg.data));
          void client.complete(msg);
        });
        leafClient = client;
        return true;
      } catch {
        await client.close().catch(() => undefined);
        return undefined;
      }
    });
    let leafSeq = 0;
    leafRunning = true;
    leafLoop = (async () => {
      while (leafRunning) {
        const m = new Message(JSON.stringify({ seq: leafSeq }));
        m.properties.add('seq', String(leafSeq));
        try {
          await within(10_000, 'leaf send', leafClient!.sendEvent(m));
          leafSeq++;
        } catch {
          // not acknowledged: the same sequence number again
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    await emulator.waitForMessages((r) => r.filter((m) => m.identity === 'leaf1').length >= 5, 30_000, 'leaf telemetry at the emulator');
    const [connection] = [...emulator.identitiesByConnection().values()];
    assert.equal(emulator.identitiesByConnection().size, 1, 'one upstream connection: the parent\'s');
    assert.ok(connection!.includes('leaf1') && connection!.includes('child1/counter') && connection!.includes('parent1'), `the parent carries the child's identities: ${String(connection)}`);

    // C2D from the cloud to the leaf: taken by the parent, passed down to the child, delivered to the leaf.
    assert.equal(await within(30_000, 'c2d taken by the parent', emulator.sendC2d('leaf1', { body: new TextEncoder().encode('hello nested leaf'), properties: {}, systemProperties: { messageId: 'c2d-nested' } })), 'completed');
    await childProc.until('C2D at the leaf through parent and child', 30_000, () => (c2d.includes('hello nested leaf') ? true : undefined));

    // 1. The parent's upstream is down for 30 s.
    const counterSeqs = (): number[] => firstSeqs(emulator.messages('child1/counter').map((m) => m.properties['seq']));
    const leafSeqs = (): number[] => firstSeqs(emulator.messages('leaf1').map((m) => m.properties['seq']));
    await emulator.stop();
    const outageStart = Date.now();
    const sentBefore1 = leafSeq;
    // The parent restarts while IoT Hub is away: it authenticates the child, the child's module and
    // the child's leaf from its persisted caches (its own scope, the child's scope and parent links).
    assert.equal(await parentRuntime.stop(), 0, parentRuntime.context());
    parentLines.push(...parentRuntime.lines);
    parentRuntime = startParent();
    const restarted = parentRuntime;
    await restarted.until('the restarted parent authenticates the child\'s identities offline', 30_000, () => {
      const connected = new Set(restarted.lines.filter((l) => String(l['msg']) === 'client connected').map((l) => String(l['identity'])));
      return ['child1', 'child1/counter', 'leaf1'].every((id) => connected.has(id)) ? true : undefined;
    });
    assert.equal(emulator.openConnections, 0, 'IoT Hub was still away');
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - outageStart))));
    assert.ok(leafSeq > sentBefore1 + 10, 'the leaf kept sending to the child while the cloud was away');
    await emulator.start();
    const target1 = leafSeq;
    await childProc.until('backlog after the cloud outage', 60_000, () => (leafSeqs().length >= target1 && counterSeqs().length > OUTAGE_MS / 100 / 2 ? true : undefined));

    // 2. The child's link to the parent is down for 30 s.
    amqpLink.pause();
    httpsLink.pause();
    const sentBefore2 = leafSeq;
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    assert.ok(leafSeq > sentBefore2 + 10, 'the leaf kept sending to the child while the parent was unreachable');
    amqpLink.resume();
    httpsLink.resume();
    const target2 = leafSeq;
    const counterBefore2 = counterSeqs().length;
    await childProc.until('backlog after the parent link outage', 60_000, () => (leafSeqs().length >= target2 && counterSeqs().length > counterBefore2 + OUTAGE_MS / 100 / 2 ? true : undefined));

    leafRunning = false;
    await leafLoop;
    assertInOrder(leafSeqs(), 'leaf1');
    assertInOrder(counterSeqs(), 'child1/counter');
    // The cloud took them on the leaf's own link (authenticated as leaf1), not as the parent or the child.
    assert.ok(!emulator.received.some((r) => r.identity === 'parent1' || r.identity === 'child1'), 'nothing arrived as the edge devices themselves');

    // Still one upstream connection after both outages, and the method still answers.
    assert.equal(emulator.identitiesByConnection().size, 1);
    // (The method link comes back once the child has resynchronized with the parent: 404 until then.)
    const again = await childProc.until('the method link back after the outages', 30_000, async () => {
      const outcome = await emulator.invokeMethod('child1/counter', 'echo', { x: 2 }, 20_000);
      return outcome.status === 404 ? undefined : outcome;
    });
    assert.deepEqual(again, { status: 200, payload: { echoed: { x: 2 }, from: 'counter' } });

    // Every identity the child carried was accepted by the parent at once (its scope was known there).
    parentLines.push(...parentRuntime.lines);
    const refused = parentLines.filter((l) => String(l['msg']) === 'put-token refused');
    assert.deepEqual(refused, [], 'the parent refused none of the child\'s identities');
    // The one registry call refused is the forged one, logged with its reason.
    assert.deepEqual(parentLines.filter((l) => String(l['msg']) === 'child edge device refused').map((l) => l['reason']), ['bad-signature']);
    assert.ok(!JSON.stringify(parentLines).includes(child.primaryKey) && !JSON.stringify(childRuntime.lines).includes(leaf.primaryKey), 'no key in the logs');

    await leafClient?.close().catch(() => undefined);
    leafClient = undefined;
    assert.equal(await childProc.stop(), 0, childProc.context());
    assert.equal(await parentRuntime.stop(), 0, parentRuntime.context());
  } finally {
    leafRunning = false;
    await leafLoop?.catch(() => undefined);
    await leafClient?.close().catch(() => undefined);
    await childRuntime?.stop();
    await parentRuntime.stop();
    await amqpLink.stop();
    await httpsLink.stop();
    await emulator.close();
    rmSync(parentDir, { recursive: true, force: true });
    rmSync(childDir, { recursive: true, force: true });
  }
});
