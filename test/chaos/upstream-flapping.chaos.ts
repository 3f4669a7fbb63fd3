import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IotHubEmulator } from '../support/iothub-emulator/iothub-emulator.js';
import { EDGE_DEVICE, IOT_HUB, SHORT, SequencedPublisher, delay, startEdge, waitFor, type EdgeUnderTest } from './support/edge-under-test.js';

// Upstream flapping under load: three modules publish QoS 1 messages routed into $upstream while
// the IoT Hub (the emulator) goes away every few seconds, alternately dropping every connection
// at once and staying down for a while. Every acknowledged message must reach the hub, each
// sender's messages in order; at-least-once delivery may repeat a message (a batch sent just
// before a drop whose acknowledgement was lost), which is counted and allowed.

const SENSORS = ['sensor1', 'sensor2', 'sensor3'].map((m) => `${EDGE_DEVICE}/${m}`);

/** First occurrences of `seq` per sender, in arrival order, and how many arrivals repeated one. */
function arrivals(emulator: IotHubEmulator, id: string): { firsts: number[]; duplicates: number } {
  const seen = new Set<number>();
  const firsts: number[] = [];
  let duplicates = 0;
  for (const m of emulator.messages(id)) {
    const seq = Number(m.properties['seq']);
    if (seen.has(seq)) duplicates++;
    else {
      seen.add(seq);
      firsts.push(seq);
    }
  }
  return { firsts, duplicates };
}

test('chaos: upstream flapping every few seconds under load: nothing acknowledged is lost, order per sender kept', { timeout: 300_000 }, async () => {
  const emulator = new IotHubEmulator(IOT_HUB);
  const edgeEntry = emulator.registry.add(EDGE_DEVICE, { edge: true });
  for (const m of ['$edgeAgent', '$edgeHub']) emulator.registry.add(`${EDGE_DEVICE}/${m}`);
  const keys = new Map(SENSORS.map((id) => [id, emulator.registry.add(id).primaryKey]));
  // The deployment comes from the cloud twins, as in connected mode.
  emulator.setDesired(`${EDGE_DEVICE}/$edgeHub`, { schemaVersion: '1.1', routes: { up: 'FROM /messages/modules/* INTO $upstream' }, storeAndForwardConfiguration: { timeToLiveSecs: 7200 } });
  emulator.setDesired(`${EDGE_DEVICE}/$edgeAgent`, { schemaVersion: '1.1', modules: {} });
  await emulator.start();
  const dataDir = mkdtempSync(join(tmpdir(), 'edgeport-chaos-flap-'));
  const caFile = join(dataDir, 'emulator-ca.pem');
  writeFileSync(caFile, emulator.ca);
  let edge: EdgeUnderTest | undefined;
  const publishers: SequencedPublisher[] = [];
  try {
    edge = await startEdge({
      dataDir,
      identities: [],
      keys,
      routes: {},
      manifestPath: false,
      env: {
        EDGEPORT_UPSTREAM_KIND: 'iothub',
        EDGEPORT_UPSTREAM_CONNECTION_STRING: `HostName=${IOT_HUB};DeviceId=${EDGE_DEVICE};SharedAccessKey=${edgeEntry.primaryKey}`,
        EDGEPORT_UPSTREAM_HOST: 'localhost',
        EDGEPORT_UPSTREAM_AMQP_PORT: String(emulator.amqpPort),
        EDGEPORT_UPSTREAM_HTTPS_PORT: String(emulator.httpsPort),
        EDGEPORT_UPSTREAM_CA_FILE: caFile,
      },
    });
    const e = edge;
    const context = (): string => `${e.runtime.context().slice(-4000)}\nemulator: open ${emulator.openConnections}, refusals ${emulator.refusals.slice(-5).join('; ')}`;
    // The sensors' identities come from the cloud's device scope, and the routes from $edgeHub.
    await e.runtime.until('$edgeHub routes applied', 30_000, () => e.runtime.lines.some((l) => String(l['msg']).startsWith('routes applied: 1')) || undefined);
    const first = await waitFor('a sensor connection (device scope cached)', 30_000, async () => await e.connect(SENSORS[0]!).catch(() => undefined), context);
    await first.endAsync();
    for (const id of SENSORS) publishers.push(new SequencedPublisher(e, id, { paceMs: 5 }).start());
    const acked = (): number => publishers.reduce((n, p) => n + p.acked.length, 0);
    await waitFor('traffic at the hub', 30_000, () => (emulator.messages().length >= 100 ? true : undefined), context);

    const cycles = SHORT ? 6 : 16;
    for (let i = 0; i < cycles; i++) {
      await delay(SHORT ? 2000 : 3000);
      if (i % 2 === 0) {
        await emulator.restart(); // every connection dropped at once, back at once
      } else {
        await emulator.stop();
        // Once, the deployment changes while the hub is away: the edge reads it on reconnect.
        if (i === 1) emulator.setDesired(`${EDGE_DEVICE}/$edgeHub`, { routes: { more: 'FROM /messages/modules/sensor9/* INTO $upstream' } });
        await delay(SHORT ? 1500 : 3000);
        await emulator.start();
      }
    }
    await delay(1000);
    for (const p of publishers) await p.stop();
    assert.equal(e.runtime.exitCode, undefined, 'the runtime is still running');
    await waitFor('every acknowledged message at the hub', 120_000, () => {
      for (const p of publishers) {
        const got = new Set(arrivals(emulator, p.id).firsts);
        if (!p.acked.every((s) => got.has(s))) return undefined;
      }
      return true;
    }, () => `${publishers.map((p) => `${p.id}: acked ${p.acked.length}, at the hub ${arrivals(emulator, p.id).firsts.length}`).join('; ')}\n${context()}`);
    let duplicates = 0;
    for (const p of publishers) {
      const { firsts, duplicates: d } = arrivals(emulator, p.id);
      duplicates += d;
      assert.deepEqual(firsts.slice(0, p.acked.length), p.acked, `${p.id}: every acknowledged message, in order`);
    }
    assert.equal(emulator.openConnections, 1, 'one upstream connection after the flapping');
    // After each reconnect the device scope is refreshed before the twins (and so the deployment) are read again.
    const order = e.runtime.lines.map((l) => String(l['msg'])).filter((m) => /^(upstream connected: resynchronizing|device scope cached|device scope not refreshed|routes applied)/.test(m));
    assert.ok(order.filter((m) => m.startsWith('upstream connected')).length >= cycles / 2, `reconnects seen: ${order.join(' | ')}`);
    const changed = order.indexOf('routes applied: 2');
    assert.ok(changed > 0, `the deployment changed during an outage is applied after the reconnect: ${order.join(' | ')}`);
    const reconnect = order.lastIndexOf('upstream connected: resynchronizing', changed);
    assert.ok(order.slice(reconnect, changed).some((m) => m.startsWith('device scope cached')), `the device scope is refreshed before the deployment is read again: ${order.join(' | ')}`);
    const refusals = publishers.reduce((n, p) => n + p.refusals + p.connectFailures, 0);
    assert.equal(refusals, 0, 'the upstream outage never refuses a local publisher (store and forward)');
    assert.equal(await e.runtime.stop(), 0, context());
    console.log(`upstream flapping: ${cycles} outages, ${acked()} acknowledged, all at the hub in order per sender, ${duplicates} duplicates (at-least-once), ${emulator.connectionsOpened} upstream connections opened`);
  } finally {
    for (const p of publishers) await p.stop();
    await edge?.runtime.stop();
    await emulator.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
