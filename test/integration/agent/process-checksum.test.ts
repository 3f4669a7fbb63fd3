import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAgentDesired } from '../../../domain/deployment/agent-desired.js';
import { manifestWith, processModule } from '../../support/agent/memory-deployment-source.js';
import { tempDir, until } from '../../support/agent/process-fixtures.js';
import { processLoop } from '../../support/agent/process-loop.js';

const temp = tempDir('process-checksum');
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups) await cleanup();
  temp.cleanup();
});

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

function setup(name: string) {
  return processLoop(temp.dir, name, cleanups);
}

test('settings.sha256: the program (string) or listed scripts must match before start; a mismatch is failed, never started', { timeout: 30_000 }, async () => {
  const program = join(temp.dir, 'run.sh');
  writeFileSync(program, '#!/bin/sh\nexec sleep 30\n');
  chmodSync(program, 0o755);
  const script = join(temp.dir, 'worker.js');
  writeFileSync(script, 'setInterval(() => {}, 1000);\n');
  const { runtime, source, reporter, loop } = setup('pinned');
  source.set(
    manifestWith({
      shell: processModule({}, { command: './run.sh', args: [], cwd: temp.dir, sha256: sha256(program).toUpperCase() }),
      node: processModule({}, { command: process.execPath, args: ['worker.js'], cwd: temp.dir, sha256: { 'worker.js': sha256(script) } }),
      tampered: processModule({}, { command: './run.sh', args: [], cwd: temp.dir, sha256: 'ab'.repeat(32) }),
    }),
  );
  await loop.start();
  assert.equal(reporter.module('shell')?.['runtimeStatus'], 'running');
  assert.equal(reporter.module('shell')?.['settings']?.['sha256'], sha256(program), 'reported in lower case');
  assert.equal(reporter.module('node')?.['runtimeStatus'], 'running');
  assert.equal(reporter.module('tampered')?.['runtimeStatus'], 'failed');
  assert.equal(reporter.module('tampered')?.['statusDescription'], `${program} of module "tampered" has SHA-256 ${sha256(program)}, not ${'ab'.repeat(32)} as settings.sha256 requires; not started`);
  assert.match(reporter.status().description, /^prepare tampered: /);
  assert.equal((await runtime.list()).find((m) => m.name === 'tampered'), undefined, 'never created, never started');
});

test('a program changed after its module was created is refused at the next start (restart after a crash)', { timeout: 30_000 }, async () => {
  const program = join(temp.dir, 'crash.sh');
  writeFileSync(program, '#!/bin/sh\nsleep 0.2\nexit 3\n');
  chmodSync(program, 0o755);
  const pinned = sha256(program);
  const { runtime, source, reporter, loop, advance } = setup('changed');
  source.set(manifestWith({ crashy: processModule({ restartPolicy: 'on-failure' }, { command: program, args: [], sha256: pinned }) }));
  await loop.start();
  await until(async () => (await runtime.list()).find((m) => m.name === 'crashy')?.state.exitCode === 3, 5000, 'first run exits');
  await loop.whenIdle();
  writeFileSync(program, '#!/bin/sh\necho owned\nexit 0\n');
  await advance(10_000);
  const state = (await runtime.list()).find((m) => m.name === 'crashy')?.state;
  assert.equal(state?.statusDescription, `${program} of module "crashy" has SHA-256 ${sha256(program)}, not ${pinned} as settings.sha256 requires; not started`);
  assert.equal(state?.exitCode, 3, 'the changed program did not run');
  assert.match(reporter.status().description, /restart crashy \(#1\): .* has SHA-256/);
});

test('settings.sha256 values are checked in the manifest: 64 hex digits or a map of them', () => {
  const parse = (sha: unknown) => parseAgentDesired({ schemaVersion: '1.1', modules: { m: processModule({}, { command: 'node', sha256: sha }) } });
  for (const bad of ['abc', 42, {}, { 'a.js': 'nope' }, ['x']]) {
    const result = parse(bad);
    assert.equal(result.ok, false, JSON.stringify(bad));
    if (!result.ok) assert.match(result.status.description, /settings\.sha256.*expected (the SHA-256 of the program|a SHA-256 \(64 hex digits\) of the file)/);
  }
  assert.equal(parse('A'.repeat(64)).ok, true);
});
