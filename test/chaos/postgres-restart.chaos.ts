import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postgresBinDir, requireCapability } from './support/capabilities.js';
import { PrivatePostgres } from './support/private-postgres.js';
import { SHORT, SequencedPublisher, collectInputs, delay, startEdge, waitFor, type EdgeUnderTest } from './support/edge-under-test.js';

// PostgreSQL restarted during ingest: the hub's store is a private PostgreSQL cluster that is
// stopped (fast, then immediate shutdown) and started again while three modules publish QoS 1
// messages. No acknowledged message may be lost; while the database is down, publishers are
// refused (connection closed, no PUBACK) instead of being acknowledged.

const binDir = postgresBinDir();
const skip = requireCapability('PostgreSQL server binaries', binDir !== undefined, 'initdb and pg_ctl under /usr/lib/postgresql/<version>/bin');

test('chaos: PostgreSQL restarted (fast and immediate) during QoS 1 ingest: every acknowledged message delivered, refusals while down', { timeout: 240_000, skip }, async () => {
  const pg = new PrivatePostgres(binDir!);
  const dataDir = mkdtempSync(join(tmpdir(), 'edgeport-chaos-pgdata-'));
  let edge: EdgeUnderTest | undefined;
  const publishers: SequencedPublisher[] = [];
  try {
    await pg.init();
    await pg.start();
    edge = await startEdge({
      dataDir,
      identities: ['gw/sink', 'gw/sensor1', 'gw/sensor2', 'gw/sensor3'],
      routes: { toSink: 'FROM /messages/modules/* INTO BrokeredEndpoint("/modules/sink/inputs/in")' },
      env: { EDGEPORT_STORAGE_KIND: 'postgres', EDGEPORT_STORAGE_URL: pg.url },
    });
    const e = edge;
    const sink = await e.connect('gw/sink');
    sink.on('error', () => undefined);
    const inputs = await collectInputs(sink, 'sink');
    for (const id of ['gw/sensor1', 'gw/sensor2', 'gw/sensor3']) publishers.push(new SequencedPublisher(e, id, { paceMs: 2 }).start());
    const acked = (): number => publishers.reduce((n, p) => n + p.acked.length, 0);
    const refused = (): number => publishers.reduce((n, p) => n + p.refusals + p.connectFailures, 0);
    const outageMs = SHORT ? 3000 : 8000;
    const outages: string[] = [];
    for (const mode of ['fast', 'immediate'] as const) {
      const before = acked();
      await waitFor('traffic before the restart', 30_000, () => (acked() >= before + (SHORT ? 50 : 200) ? true : undefined));
      const refusedBefore = refused();
      await pg.stop(mode);
      const ackedAtStop = acked();
      await delay(outageMs);
      const ackedDuringOutage = acked() - ackedAtStop;
      const refusedDuringOutage = refused() - refusedBefore;
      await pg.start();
      outages.push(`${mode}: ${refusedDuringOutage} refusals, ${ackedDuringOutage} acknowledged while down`);
      assert.ok(refusedDuringOutage > 0, `publishers were refused while PostgreSQL was down (${mode})`);
      // A publish in flight when the server stopped may still commit; after that nothing is acknowledged.
      assert.ok(ackedDuringOutage <= publishers.length, `nothing acknowledged while the database is down (${mode}): ${ackedDuringOutage}`);
      const after = acked();
      await waitFor(`ingest resumes after the ${mode} restart`, 60_000, () => (acked() >= after + (SHORT ? 50 : 200) ? true : undefined), () => e.runtime.context().slice(-3000));
    }
    for (const p of publishers) await p.stop();
    assert.equal(e.runtime.exitCode, undefined, 'the runtime is still running');
    await waitFor('every acknowledged message at the sink', 90_000, () => {
      for (const p of publishers) {
        const got = new Set(inputs.get(p.id) ?? []);
        if (!p.acked.every((s) => got.has(s))) return undefined;
      }
      return true;
    }, () => publishers.map((p) => `${p.id}: acked ${p.acked.length}, received ${new Set(inputs.get(p.id) ?? []).size}`).join('; '));
    for (const p of publishers) {
      const got = inputs.get(p.id) ?? [];
      // Order per sender: the first arrival of each number comes in increasing order.
      const firsts = [...new Set(got)];
      assert.deepEqual(firsts, [...firsts].sort((a, b) => a - b), `${p.id}: delivered in order`);
    }
    // The refusals are logged as such, with the database's own reason.
    const refusalLog = e.runtime.lines.find((l) => String(l['msg']) === 'message refused, closing connection' && l['reason'] === 'STORE_UNAVAILABLE');
    assert.ok(refusalLog !== undefined, `the refusals are logged as STORE_UNAVAILABLE: ${e.runtime.lines.filter((l) => /refused|not stored/.test(String(l['msg']))).slice(0, 3).map((l) => JSON.stringify(l)).join('\n')}`);
    assert.equal(e.runtime.lines.some((l) => JSON.stringify(l).includes('Query runner already released')), false, 'no masked error');
    await sink.endAsync();
    assert.equal(await e.runtime.stop(), 0, e.runtime.context().slice(-3000));
    console.log(`postgres restart: ${acked()} acknowledged, all delivered in order; ${outages.join('; ')}; log: ${String(refusalLog['msg'])}: ${String(refusalLog['detail'])}`);
  } finally {
    for (const p of publishers) await p.stop();
    await edge?.runtime.stop();
    await pg.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
