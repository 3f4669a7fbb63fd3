import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CURVES, FULL, MAX_BODY, QUICK, configFromArgs, maxBody, runScale, type ScaleConfig } from '../../../bench/scale.js';
import { MAX_MESSAGE_SIZE_BYTES } from '../../../domain/messages/limits.js';

test('bench:scale runs every curve with tiny sizes and prints a table with all points and one SVG per curve', { timeout: 120_000 }, async () => {
  const out = await mkdtemp(join(tmpdir(), 'edgeport-scale-smoke-'));
  const lines: string[] = [];
  try {
    const config: ScaleConfig = {
      ...QUICK,
      routes: [1, 20],
      clients: [2, 5],
      sizes: [1024, MAX_BODY],
      backlog: [5, 50],
      messages: 200,
      window: 50,
      bytesPerRound: 2 * 1024 * 1024,
      rounds: 1,
      rate: 200,
      sizeRate: 20,
      clientRate: 5,
      seconds: 0.2,
      clientSeconds: 0.5,
      warmup: 0.1,
      out,
      log: (line) => lines.push(line),
    };
    const { points, table, plots } = await runScale(config);
    const expected = [
      ...config.routes.map((x) => ['routes', x]),
      ...config.clients.map((x) => ['clients', x]),
      [`size`, 1024],
      ['size', maxBody({ sensor: 's0' }, 'A')],
      ...config.backlog.map((x) => ['backlog', x]),
    ];
    assert.deepEqual(points.map((p) => [p.curve, p.x]), expected);
    for (const p of points) {
      assert.ok(Number.isFinite(p.routed.rate) && p.routed.rate > 0, `${p.curve} ${p.label}: routed rate ${p.routed.rate}`);
      assert.ok(Number.isFinite(p.base.rate) && p.base.rate > 0, `${p.curve} ${p.label}: baseline rate ${p.base.rate}`);
      if (p.curve !== 'backlog') assert.ok(p.routed.p99 > 0 && p.base.p99 > 0, `${p.curve} ${p.label}: p99 measured`);
    }
    const rows = table.split('\n');
    assert.match(rows[0]!, /^\| curve \| point \| routed msg\/s \| baseline msg\/s \| ratio \|/);
    assert.equal(rows.length, 2 + points.length);
    for (const p of points) assert.ok(rows.some((r) => r.startsWith(`| ${p.curve} | ${p.label} |`)), `row for ${p.curve} ${p.label}`);
    assert.ok(lines.at(-1)!.includes(rows[0]!), 'the table is printed last');
    assert.deepEqual((await readdir(out)).sort(), CURVES.map((c) => `scale-${c}.svg`).sort());
    assert.equal(plots.length, CURVES.length);
    for (const file of plots) {
      const svg = await readFile(file, 'utf8');
      assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      assert.match(svg, /<polyline [^>]*points="[\d.]+,[\d.]+ [\d.]+,[\d.]+"/);
      assert.ok(!svg.includes('NaN'), `${file} has no NaN coordinates`);
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('bench:scale options: --quick keeps the points, --backlog N gives N/100, N/10, N, bad values are refused', () => {
  assert.deepEqual(FULL.backlog, [10_000, 100_000, 1_000_000]);
  const quick = configFromArgs(['--quick']);
  assert.deepEqual([quick.routes, quick.clients, quick.sizes], [FULL.routes, FULL.clients, FULL.sizes]);
  assert.ok(quick.backlog.at(-1)! < FULL.backlog.at(-1)!);
  assert.deepEqual(configFromArgs(['--backlog', '50000']).backlog, [500, 5000, 50_000]);
  assert.deepEqual(configFromArgs(['--quick', '--backlog=1000']).backlog, [10, 100, 1000]);
  assert.deepEqual(configFromArgs(['--only', 'size,routes']).only, ['size', 'routes']);
  assert.throws(() => configFromArgs(['--backlog', 'lots']), /--backlog lots: give a whole number of messages, at least 100/);
  assert.throws(() => configFromArgs(['--only', 'routes,nope']), /unknown curve nope \(curves: routes, clients, size, backlog\)/);
  // The largest body leaves room for the properties the hub counts (IoT Hub's 256 KB includes them).
  const body = maxBody({ sensor: 's0' }, 'A');
  assert.ok(body < MAX_MESSAGE_SIZE_BYTES && body > MAX_MESSAGE_SIZE_BYTES - 200);
});
