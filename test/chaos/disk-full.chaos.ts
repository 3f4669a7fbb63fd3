import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { commandExists, isRoot, requireCapability } from './support/capabilities.js';
import { SHORT, collectInputs, outputTopic, publishQos1, startEdge, waitFor, type EdgeUnderTest } from './support/edge-under-test.js';

// Disk full: the data directory is a small tmpfs; a filler file takes the rest of it while a module
// publishes. The hub must refuse (no PUBACK, connection closed) instead of crashing or acknowledging
// what it could not store, say so in its log naming the directory, keep its SQLite database intact,
// and take messages again as soon as space returns, without a restart.

// better-sqlite3 ships no types here (as in adapters/storage/sqlite-writer-worker.ts).
const Database = createRequire(import.meta.url)('better-sqlite3') as new (path: string, options: { readonly: boolean }) => {
  pragma(source: string, options: { simple: true }): unknown;
  close(): void;
};

const TMPFS_SIZE = '8m';
const BODY = Buffer.alloc(1024, 0x62);

/** Writes 64 KB chunks (then smaller ones) to `path` until the file system says ENOSPC; returns the bytes written. */
function fillDisk(path: string): number {
  const fd = openSync(path, 'w');
  let written = 0;
  try {
    for (let chunk = 64 * 1024; chunk >= 512; ) {
      try {
        written += writeSync(fd, Buffer.alloc(chunk, 0x7a));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
        chunk /= 2;
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

function integrity(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    return String(db.pragma('integrity_check', { simple: true }));
  } finally {
    db.close();
  }
}

const skip = requireCapability('a tmpfs mount', isRoot() && commandExists('mount') && commandExists('umount'), 'runs as root with mount(8)');

test('chaos: disk full on a tmpfs data directory: clear refusal, no corruption, ingest resumes when space returns', { timeout: 180_000, skip }, async () => {
  const base = mkdtempSync(join(tmpdir(), 'edgeport-chaos-disk-'));
  const dataDir = join(base, 'data');
  mkdirSync(dataDir, { mode: 0o700 });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE},mode=0700`, 'edgeport-chaos', dataDir]);
  let edge: EdgeUnderTest | undefined;
  try {
    edge = await startEdge({
      dataDir,
      identities: ['gw/sensor', 'gw/sink'],
      routes: { toSink: 'FROM /messages/modules/sensor/outputs/* INTO BrokeredEndpoint("/modules/sink/inputs/in")' },
    });
    const e = edge;
    const acked = new Set<number>();
    let seq = 0;
    let sensor = await e.connect('gw/sensor');
    sensor.on('error', () => undefined);
    for (let i = 0; i < 50; i++) {
      const s = seq++;
      assert.equal(await publishQos1(sensor, outputTopic('gw/sensor', 'out', { seq: String(s) }), BODY), 'acked');
      acked.add(s);
    }

    const filler = join(dataDir, 'filler');
    const filled = fillDisk(filler);
    // The WAL may still have room for a few pages: publish until the hub refuses.
    let refusal: string | undefined;
    const maxTries = SHORT ? 3000 : 6000;
    for (let i = 0; i < maxTries && refusal === undefined; i++) {
      const s = seq++;
      const outcome = await publishQos1(sensor, outputTopic('gw/sensor', 'out', { seq: String(s) }), BODY);
      if (outcome === 'acked') acked.add(s);
      else refusal = outcome;
    }
    assert.equal(refusal, 'closed', `the hub refused a publish on the full disk by closing the connection (filled ${filled} bytes, ${acked.size} acknowledged)`);
    const diskFullLine = await e.runtime.until('a log line saying the disk is full, naming the directory', 20_000, () =>
      e.runtime.lines.find((l) => /disk (is )?full/i.test(JSON.stringify(l)) && JSON.stringify(l).includes(dataDir)),
    );
    assert.equal(diskFullLine['level'] !== undefined, true);
    assert.equal(e.runtime.exitCode, undefined, 'the runtime is still running');
    // Another publisher is refused too, and the process stays up.
    const again = await e.connect('gw/sensor');
    again.on('error', () => undefined);
    assert.notEqual(await publishQos1(again, outputTopic('gw/sensor', 'out', { seq: String(seq++) }), BODY), 'acked', 'still refused while full');
    assert.equal(integrity(join(dataDir, 'edgeport.db')), 'ok', 'the database is intact while the disk is full');

    // Space returns: ingest resumes without a restart.
    rmSync(filler);
    sensor = await waitFor('a connection accepted after space returned', 20_000, async () => await e.connect('gw/sensor').catch(() => undefined));
    sensor.on('error', () => undefined);
    for (let i = 0; i < 50; i++) {
      const s = seq++;
      assert.equal(await publishQos1(sensor, outputTopic('gw/sensor', 'out', { seq: String(s) }), BODY), 'acked', `publish ${s} after space returned`);
      acked.add(s);
    }

    // Every acknowledged message reaches the sink.
    const sink = await e.connect('gw/sink');
    const inputs = await collectInputs(sink, 'sink');
    const received = await waitFor('every acknowledged message at the sink', 60_000, () => {
      const got = new Set(inputs.get('gw/sensor') ?? []);
      return [...acked].every((s) => got.has(s)) ? got : undefined;
    }, () => `acked ${acked.size}, received ${(inputs.get('gw/sensor') ?? []).length}`);
    assert.ok(received.size >= acked.size);
    await sink.endAsync();
    await sensor.endAsync();
    await again.endAsync(true);
    assert.equal(await e.runtime.stop(), 0, e.runtime.context());
    assert.equal(integrity(join(dataDir, 'edgeport.db')), 'ok', 'the database is intact after the run');
    console.log(`disk full: ${acked.size} acknowledged, all delivered; refusal: connection closed; log: ${String(diskFullLine['msg'])}`);
  } finally {
    await edge?.runtime.stop();
    try {
      execFileSync('umount', [dataDir]);
    } catch {
      execFileSync('umount', ['-l', dataDir]);
    }
    rmSync(base, { recursive: true, force: true });
  }
});
