import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type AttackSocket, type AttackTarget, openAttack } from './attack-sockets.js';
import { type AttackedHub, MB, freshClientRoutes, startAttackedHub, underAttack } from './attacked-hub.js';

// Issue #12 item 4: connections were not capped at all. With hub.limits at test sizes, a flood
// past the per-source pending cap is refused at once (one log line, then one summary per
// interval) while other sources connect; a flood from many sources past the total pending cap
// leaves the connected clients routing and clears at the handshake deadline.

const LIMITS = { maxPendingPerSource: 20, maxPendingConnections: 60, handshakeTimeoutSecs: 3, logSummaryIntervalSecs: 1 };
const RSS_BOUND = 20 * MB;

/** Opens `count` connections to `target` from `source` at once; resolves when all are open (or refused). */
async function flood(hub: AttackedHub, target: AttackTarget, source: string, count: number): Promise<AttackSocket[]> {
  const sockets = await Promise.all(Array.from({ length: count }, () => openAttack(hub, target, source).catch(() => undefined)));
  return sockets.filter((s): s is AttackSocket => s !== undefined);
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The sockets still open once the hub has handled every accept: refused ones close at once, but
 * a loaded machine may take a moment to run the accepts. Polls until `expected` remain or 5 s.
 */
async function settledOpen(sockets: AttackSocket[], expected: number): Promise<AttackSocket[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const open = sockets.filter((s) => !s.isClosed);
    if (open.length <= expected || Date.now() > deadline) return open;
    await pause(50);
  }
}

let hub: AttackedHub;
before(async () => (hub = await startAttackedHub(LIMITS)));
after(async () => await hub?.stop());

test('connection flood from one source: past maxPendingPerSource refused at once and logged collapsed; other sources connect and route during it', { timeout: 90_000 }, async (t) => {
  const sockets: AttackSocket[] = [];
  await underAttack(hub, async ({ traffic, watch, from, since }) => {
    sockets.push(...(await flood(hub, 'mqtt', '127.0.0.2', 150)), ...(await flood(hub, 'tcp-to-amqps', '127.0.0.2', 150)));
    const open = await settledOpen(sockets, LIMITS.maxPendingPerSource);
    const floodSecs = (Date.now() - from) / 1000;
    t.diagnostic(`${sockets.length} connections from 127.0.0.2: ${open.length} left open`);
    assert.equal(open.length, LIMITS.maxPendingPerSource, 'exactly the per-source pending cap is admitted');
    await freshClientRoutes(hub, traffic); // from 127.0.0.1, during the flood
    await pause(1_500); // the summary interval ends
    const refusals = hub.logLines('connection refused by limits', { source: '127.0.0.2', reason: 'too-many-pending-from-source' }, since);
    const summaries = hub.logLines('repeated refusals from one source', { source: '127.0.0.2' }, since);
    const summed = summaries.reduce((n, l) => n + Number((l['counts'] as Record<string, number>)['too-many-pending-from-source'] ?? 0), 0);
    assert.ok(refusals.length >= 1 && refusals.length <= Math.ceil(floodSecs / LIMITS.logSummaryIntervalSecs) + 1, `one full line per summary interval: ${refusals.length} in ${floodSecs} s`);
    assert.equal(summed + refusals.length, sockets.length - LIMITS.maxPendingPerSource, 'the summary counts every other refusal');
    await Promise.all(open.map((s) => s.closed)); // the handshake deadline
    const growth = watch.stop();
    t.diagnostic(`RSS + ${(growth / MB).toFixed(1)} MB; ${traffic.delivered(from)} messages routed meanwhile`);
    assert.ok(growth < RSS_BOUND, `hub RSS grew ${(growth / MB).toFixed(1)} MB`);
    assert.ok(traffic.delivered(from) >= 10);
    await freshClientRoutes(hub, traffic);
  }).finally(() => {
    for (const socket of sockets) socket.destroy();
  });
});

test('connection flood from many sources: past maxPendingConnections refused; connected clients route throughout; new clients connect after the deadline', { timeout: 90_000 }, async (t) => {
  const sockets: AttackSocket[] = [];
  await underAttack(hub, async ({ traffic, watch, from, since }) => {
    const targets: AttackTarget[] = ['mqtt', 'tcp-to-mqtts', 'tcp-to-amqps', 'https'];
    sockets.push(...(await Promise.all(Array.from({ length: 10 }, (_, i) => flood(hub, targets[i % targets.length]!, `127.0.0.${10 + i}`, 12)))).flat());
    const open = await settledOpen(sockets, LIMITS.maxPendingConnections);
    t.diagnostic(`${sockets.length} connections from 10 sources: ${open.length} left open`);
    assert.equal(open.length, LIMITS.maxPendingConnections, 'exactly the total pending cap is admitted');
    const duringFrom = Date.now();
    await Promise.all(open.map((s) => s.closed));
    assert.ok(traffic.delivered(duringFrom) >= 5, 'the connected client routed while the pending slots were full');
    await freshClientRoutes(hub, traffic);
    const growth = watch.stop();
    t.diagnostic(`RSS + ${(growth / MB).toFixed(1)} MB; ${traffic.delivered(from)} messages routed meanwhile`);
    assert.ok(growth < RSS_BOUND, `hub RSS grew ${(growth / MB).toFixed(1)} MB`);
    assert.ok(hub.logLines('connection refused by limits', { reason: 'too-many-pending' }, since).length >= 1);
  }).finally(() => {
    for (const socket of sockets) socket.destroy();
  });
});
