/**
 * What each CLI command loads (docs/architecture.md, "CLI start-up"): the command definitions are
 * cheap and every action imports what it runs, so `version`, `--help`, `config check` and `list`
 * load none of the runtime's packages (inversify, typeorm, aedes, dockerode, pino, ...) nor its
 * adapters and composition root. Structural, not timed: the modules are recorded by loader hooks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packagesIn, recordImportsFlag } from '../../support/cli/record-imports.js';
import { freePort } from '../../support/free-port.js';

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

/** `edgeport run` (embedded defaults, `agent.runtime = process`, loopback ports) until it runs, then SIGINT; what it loaded. */
async function runLoading(dir: string): Promise<{ packages: string[]; ours: string[] }> {
  const record = join(dir, `loaded-${Date.now()}.txt`);
  writeFileSync(record, '');
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '', EDGEPORT_DATA_DIR: dir, EDGEPORT_LOG_FORMAT: 'json', EDGEPORT_AGENT_RUNTIME: 'process' };
  for (const name of ['HUB_MQTT', 'HUB_AMQP', 'HUB_HTTPS', 'METRICS']) {
    env[`EDGEPORT_${name}_HOST`] = '127.0.0.1';
    env[`EDGEPORT_${name}_PORT`] = String(await freePort());
  }
  const child = spawn(process.execPath, ['--import', recordImportsFlag(record), BIN, 'run'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 60_000;
  while (!out.includes('edgeport running')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`edgeport run did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGINT');
  assert.equal(await exited, 0, out);
  const urls = readFileSync(record, 'utf8').split('\n').filter((line) => line !== '');
  return { packages: packagesIn(urls), ours: urls.filter((url) => url.startsWith(DIST)).map((url) => url.slice(DIST.length)) };
}

test('edgeport run loads what its configuration uses: no Docker client, upstream clients, TypeORM or pino-pretty by default; the certificate generator only on the first start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeport-run-imports-'));
  try {
    const first = await runLoading(dir);
    assert.ok(first.packages.includes('@peculiar/x509'), `the first start issues the certificates: ${first.packages.join(', ')}`);
    const second = await runLoading(dir);
    // better-sqlite3 is loaded with createRequire, which the loader hooks do not see.
    for (const used of ['aedes', 'rhea', 'inversify', 'pino']) assert.ok(second.packages.includes(used), `${used}: ${second.packages.join(', ')}`);
    for (const unused of ['typeorm', 'dockerode', 'undici', 'amqplib', 'pino-pretty', '@peculiar/x509']) {
      assert.ok(!second.packages.includes(unused), `${unused} is loaded: ${second.packages.join(', ')}`);
    }
    for (const file of ['infrastructure/composition/upstream-module.js', 'infrastructure/composition/docker-runtime-module.js', 'infrastructure/composition/postgres-storage-module.js', 'adapters/storage/typeorm-state-store.js']) {
      assert.ok(!second.ours.includes(file), `${file} is loaded`);
    }
    assert.ok(second.ours.includes('adapters/storage/raw-sqlite-connection.js'), second.ours.join(', '));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
