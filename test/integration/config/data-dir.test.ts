import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../infrastructure/config/load-config.js';
import { DataDirError, prepareDataDir } from '../../../infrastructure/data-dir.js';
import { EDGEPORT_BIN, REPO_ROOT } from '../../support/runtime-process.js';

// Issue #12.5: an unusable dataDir must fail start with an error that names the setting and why.
// Tests run as root, which ignores permission bits, so the unusable paths here are paths under a
// regular file and paths that are files.

const noWarnings = (message: string): never => assert.fail(`unexpected warning: ${message}`);

function scratch(): { dir: string; file: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'edgeport-datadir-'));
  const file = join(dir, 'regular-file');
  writeFileSync(file, 'not a directory');
  return { dir, file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

async function dataDirError(config: ReturnType<typeof loadConfig>): Promise<DataDirError> {
  try {
    await prepareDataDir(config, noWarnings);
  } catch (error) {
    assert.ok(error instanceof DataDirError, String(error));
    return error;
  }
  return assert.fail('prepareDataDir accepted an unusable directory');
}

test('dataDir under a regular file, or a file itself: the error names dataDir, EDGEPORT_DATA_DIR and the reason', async () => {
  const s = scratch();
  try {
    const under = await dataDirError(loadConfig({ env: { EDGEPORT_DATA_DIR: join(s.file, 'data') }, cwd: s.dir }));
    assert.equal(under.setting, 'dataDir');
    assert.equal(
      under.message,
      `dataDir (set by EDGEPORT_DATA_DIR) = "${join(s.file, 'data')}" cannot be used: cannot create it: a file is in the way (a part of the path is a regular file, not a directory) (ENOTDIR); set dataDir in the configuration file or EDGEPORT_DATA_DIR to a writable directory`,
    );
    const isFile = await dataDirError(loadConfig({ env: { EDGEPORT_DATA_DIR: s.file }, cwd: s.dir }));
    assert.match(isFile.message, /^dataDir \(set by EDGEPORT_DATA_DIR\) = ".*regular-file" cannot be used: cannot create it: it exists and is not a directory \(EEXIST\);/);

    // Set in a file rather than the environment: the message says where it came from.
    writeFileSync(join(s.dir, 'edgeport.toml'), `dataDir = "${join(s.file, 'x')}"\n`);
    const fromFile = await dataDirError(loadConfig({ env: {}, cwd: s.dir }));
    assert.match(fromFile.message, new RegExp(`^dataDir \\(from ${join(s.dir, 'edgeport.toml').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} or the default\\) = `));

    // A database path that cannot be used names storage.path instead.
    const storage = await dataDirError(loadConfig({ env: { EDGEPORT_DATA_DIR: join(s.dir, 'ok'), EDGEPORT_STORAGE_PATH: join(s.file, 'edgeport.db') }, cwd: s.dir }));
    assert.equal(storage.setting, 'storage.path');
    assert.match(storage.message, /^the directory of storage\.path \(set by EDGEPORT_STORAGE_PATH\) = ".*regular-file" cannot be used: cannot create it: it exists and is not a directory \(EEXIST\); set storage\.path in the configuration file or EDGEPORT_STORAGE_PATH/);
  } finally {
    s.cleanup();
  }
});

test('a usable dataDir is created 0700 (with missing parents) and the database file 0600 before SQLite opens it', async () => {
  const s = scratch();
  try {
    const config = loadConfig({ env: { EDGEPORT_DATA_DIR: join(s.dir, 'a', 'b', 'data') }, cwd: s.dir });
    await prepareDataDir(config, noWarnings);
    assert.equal(statSync(config.dataDir).mode & 0o777, 0o700);
    assert.equal(statSync(config.storage.path).mode & 0o777, 0o600);
    assert.equal(statSync(config.storage.path).size, 0);
    await prepareDataDir(config, noWarnings); // idempotent, and silent when nothing is wider than needed
  } finally {
    s.cleanup();
  }
});

test('edgeport run and identity add with an unusable dataDir: exit 1, the message names the setting and the reason', () => {
  const s = scratch();
  try {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EDGEPORT_')) env[k] = v;
    Object.assign(env, { EDGEPORT_DATA_DIR: join(s.file, 'data'), EDGEPORT_LOG_FORMAT: 'json' });
    const run = spawnSync(process.execPath, [EDGEPORT_BIN, 'run'], { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 1, run.stdout + run.stderr);
    const failure = run.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: string; msg: string; setting?: string })
      .find((l) => l.level === 'error');
    assert.ok(failure !== undefined, run.stdout);
    assert.equal(failure.setting, 'dataDir');
    assert.match(failure.msg, /^start failed: dataDir \(set by EDGEPORT_DATA_DIR\) = ".*" cannot be used: cannot create it: a file is in the way .*\(ENOTDIR\); set dataDir in the configuration file or EDGEPORT_DATA_DIR/);

    const add = spawnSync(process.execPath, [EDGEPORT_BIN, 'identity', 'add', 'leaf1'], { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 30_000 });
    assert.equal(add.status, 1);
    assert.equal(add.stdout, '');
    assert.match(add.stderr, /^dataDir \(set by EDGEPORT_DATA_DIR\) = ".*" cannot be used: .*ENOTDIR/);
  } finally {
    s.cleanup();
  }
});
