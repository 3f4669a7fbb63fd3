/**
 * What each CLI command loads (docs/architecture.md, "CLI start-up"): the command definitions are
 * cheap and every action imports what it runs, so `version`, `--help`, `config check` and `list`
 * load none of the runtime's packages (inversify, typeorm, aedes, dockerode, pino, ...) nor its
 * adapters and composition root. Structural, not timed: the modules are recorded by loader hooks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packagesIn, recordImportsFlag } from '../../support/cli/record-imports.js';

const BIN = fileURLToPath(new URL('../../../infrastructure/cli/bin.js', import.meta.url));
const DIST = new URL('../../../', import.meta.url).href;

/** Runs `edgeport <args>` in an empty directory (data dir there, no EDGEPORT_* from the host) and records what it loads. */
function edgeportLoading(args: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'edgeport-cli-imports-'));
  try {
    const record = join(dir, 'loaded.txt');
    writeFileSync(record, '');
    const result = spawnSync(process.execPath, ['--import', recordImportsFlag(record), BIN, ...args], {
      cwd: dir,
      env: { PATH: process.env['PATH'], EDGEPORT_DATA_DIR: dir },
      encoding: 'utf8',
      timeout: 30_000,
    });
    const urls = readFileSync(record, 'utf8').split('\n').filter((line) => line !== '');
    const ours = urls.filter((url) => url.startsWith(DIST)).map((url) => url.slice(DIST.length));
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, packages: packagesIn(urls), ours };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Project files that only the runtime needs: adapters, use cases, composition root, lifecycle, certificates, logging. */
const RUNTIME_ONLY = /^(adapters|application)\/|^infrastructure\/(composition|lifecycle|certs|logging)\//;

test('version and --help load commander and nothing of the runtime', () => {
  for (const args of [['version'], ['run', '--help'], ['c2d', 'send', '--help'], ['status', '--help'], ['twin', 'show', '--help']]) {
    const run = edgeportLoading(args);
    assert.equal(run.status, 0, `${args.join(' ')}: ${run.stderr}`);
    assert.ok(run.ours.includes('infrastructure/cli/bin.js'), `the hooks recorded the CLI itself: ${run.ours.join(', ')}`);
    assert.deepEqual(run.packages, ['commander'], args.join(' '));
    assert.deepEqual(run.ours.filter((file) => RUNTIME_ONLY.test(file)), [], args.join(' '));
  }
});

test('config check and list load the configuration modules (zod, smol-toml) and nothing of the runtime', () => {
  const check = edgeportLoading(['config', 'check']);
  assert.equal(check.status, 0, check.stderr);
  assert.match(check.stdout, /^configuration OK: built-in defaults \(no file\) with EDGEPORT_DATA_DIR\n$/);
  const list = edgeportLoading(['list']);
  assert.equal(list.status, 1);
  assert.match(list.stderr, /^no Edgeport runtime is running: cannot reach .*management\.sock\n$/);
  const status = edgeportLoading(['status']);
  assert.equal(status.status, 1);
  assert.match(status.stderr, /^no Edgeport runtime is running: cannot reach .*management\.sock\n$/);
  for (const run of [check, list, status]) {
    assert.deepEqual(run.packages, ['commander', 'smol-toml', 'zod']);
    assert.deepEqual(run.ours.filter((file) => RUNTIME_ONLY.test(file)), []);
  }
});

test('an action loads its implementation when it runs: identity list opens the database through typeorm', () => {
  const run = edgeportLoading(['identity', 'list']);
  assert.equal(run.status, 0, run.stderr);
  assert.ok(run.packages.includes('typeorm'), run.packages.join(', '));
  assert.ok(run.ours.includes('adapters/storage/typeorm-state-store.js'), run.ours.join(', '));
  assert.ok(!run.packages.includes('aedes') && !run.packages.includes('dockerode'), run.packages.join(', '));
});
