import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { RotatingLog, readRotatedLog, rotatedFiles } from '../../../adapters/process/rotating-log.js';

const dir = mkdtempSync(join(tmpdir(), 'edgeport-rotating-log-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('rotating log: a burst stays within maxBytes per file and maxFiles files; every line readable at once, in order', () => {
  const path = join(dir, 'burst.log');
  const log = new RotatingLog(path, 1024, 3);
  for (let i = 0; i < 300; i++) {
    log.append({ time: Date.UTC(2026, 0, 1, 0, 0, i % 60), stream: i % 7 === 0 ? 'stderr' : 'stdout', text: `line ${i}` });
    // Synchronous: what was appended is on disk when append returns.
    if (i === 0) assert.deepEqual(readRotatedLog(path).map((l) => l.text), ['line 0']);
  }
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('burst')).sort(), ['burst.log', 'burst.log.1', 'burst.log.2']);
  for (const file of rotatedFiles(path)) assert.ok(statSync(file).size <= 1024, `${file} is ${statSync(file).size} bytes`);
  const lines = readRotatedLog(path);
  const numbers = lines.map((l) => Number(l.text.slice(5)));
  assert.equal(numbers.at(-1), 299);
  assert.deepEqual(numbers, Array.from({ length: numbers.length }, (_, i) => 300 - numbers.length + i), 'the newest lines, oldest first, none missing');
  assert.equal(lines.find((l) => l.text === 'line 294')?.stream, 'stderr');
  log.close();
});

test('rotating log: read while no writer is open (a stopped runtime), a torn last line skipped; delete removes every file', () => {
  const path = join(dir, 'offline.log');
  const entry = (n: number) => `${JSON.stringify({ log: `l${n}`, stream: 'stdout', time: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString() })}\n`;
  writeFileSync(`${path}.2`, entry(1));
  writeFileSync(`${path}.1`, entry(2));
  writeFileSync(path, `${entry(3)}{"log":"torn`);
  writeFileSync(`${path}.bak`, entry(9));
  assert.deepEqual(rotatedFiles(path), [`${path}.2`, `${path}.1`, path]);
  assert.deepEqual(readRotatedLog(path), [1, 2, 3].map((n) => ({ text: `l${n}`, stream: 'stdout', time: Date.UTC(2026, 0, 1, 0, 0, n) })));
  new RotatingLog(path, 1024, 3).delete();
  assert.deepEqual(rotatedFiles(path), []);
  assert.deepEqual(readRotatedLog(join(dir, 'never.log')), []);
});
