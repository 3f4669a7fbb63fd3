import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sqliteFixture } from '../../support/storage-fixtures.js';
import { PIPELINE_DEPTH } from '../../../application/hub/endpoint-pump.js';

const CHILD = fileURLToPath(new URL('../../support/crash-child.js', import.meta.url));
const KILLS = 5;
const DELIVERY_BATCH = 100;

interface Run {
  child: ChildProcess;
  ready: Promise<void>;
  done: Promise<void>;
  exited: Promise<void>;
}

function startChild(path: string, args: string[], onLine: (line: string) => void): Run {
  const child = spawn(process.execPath, [CHILD, path, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let buffered = '';
  let stderr = '';
  let readyResolve!: () => void;
  let doneResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  const done = new Promise<void>((r) => (doneResolve = r));
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line === 'READY') readyResolve();
      else if (line === 'DONE') doneResolve();
      else onLine(line);
    }
  });
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve, reject) => {
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL' || code === 0) resolve();
      else reject(new Error(`child exited with ${code ?? signal}: ${stderr}`));
    });
  });
  exited.catch(() => undefined);
  return { child, ready, done, exited };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms).unref())]);
}

test(`crash: ${KILLS} SIGKILLs while ingesting at full speed; after each restart every acknowledged message is delivered`, { timeout: 90_000 }, async () => {
  const fixture = await sqliteFixture();
  const acked: number[] = [];
  const delivered = new Map<string, number[]>([
    ['$upstream', []],
    ['filter/input1', []],
  ]);
  const onLine = (line: string): void => {
    if (line.startsWith('A ')) acked.push(Number(line.slice(2)));
    else if (line.startsWith('D ')) {
      const [, endpoint = '', id = ''] = line.split(' ');
      delivered.get(endpoint)?.push(Number(id));
    }
  };
  const running: Run[] = [];
  const ackedPerRun: number[] = [];
  try {
    for (let k = 0; k < KILLS; k++) {
      const before = acked.length;
      const run = startChild(fixture.path, ['ingest', String((k + 1) * 10_000_000)], onLine);
      running.push(run);
      await withTimeout(run.ready, 15_000, 'child ready');
      await new Promise((r) => setTimeout(r, 500 + Math.floor(Math.random() * 2000)));
      run.child.kill('SIGKILL');
      await withTimeout(run.exited, 10_000, 'child exit');
      ackedPerRun.push(acked.length - before);
      // Restart: the new process delivers what is stored; everything acknowledged so far must arrive.
      const drain = startChild(fixture.path, ['drain'], onLine);
      running.push(drain);
      await withTimeout(drain.done, 30_000, 'drain');
      await withTimeout(drain.exited, 10_000, 'drain exit');
      for (const [endpoint, ids] of delivered) {
        const seen = new Set(ids);
        const missing = acked.filter((id) => !seen.has(id));
        assert.equal(missing.length, 0, `after restart ${k + 1}, ${endpoint} misses ${missing.length} acknowledged messages, e.g. ${missing.slice(0, 5).join(', ')}`);
      }
    }
  } finally {
    for (const r of running) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    await fixture.destroy();
  }

  assert.ok(acked.length > 1000, `acknowledged ${acked.length}`);
  let totalDuplicates = 0;
  for (const [endpoint, ids] of delivered) {
    const seen = new Set<number>();
    const firstSeen: number[] = [];
    for (const id of ids) {
      if (seen.has(id)) continue;
      seen.add(id);
      firstSeen.push(id);
    }
    const missing = acked.filter((id) => !seen.has(id));
    assert.deepEqual(missing.slice(0, 10), [], `${endpoint}: ${missing.length} acknowledged messages never delivered`);
    for (let i = 1; i < firstSeen.length; i++) {
      if (firstSeen[i]! <= firstSeen[i - 1]!) assert.fail(`${endpoint}: out of order at ${i}: ${firstSeen[i - 1]} then ${firstSeen[i]}`);
    }
    const duplicates = ids.length - firstSeen.length;
    totalDuplicates += duplicates;
    // A kill can only repeat what was delivered but not yet checkpointed: the batches in flight.
    assert.ok(duplicates <= KILLS * DELIVERY_BATCH * PIPELINE_DEPTH, `${endpoint}: ${duplicates} duplicates`);
    assert.ok(duplicates < 0.01 * acked.length, `${endpoint}: ${duplicates} duplicates of ${acked.length} (>= 1%)`);
  }
  process.stdout.write(
    `# crash: ${KILLS} kills, acknowledged per run ${ackedPerRun.join('/')} (total ${acked.length}), ` +
      `duplicates ${totalDuplicates} (${((100 * totalDuplicates) / (2 * acked.length)).toFixed(3)}% of deliveries), none lost, in order\n`,
  );
});
