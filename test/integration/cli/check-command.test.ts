import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDataSource } from '../../../adapters/storage/create-data-source.js';
import { SqlMessageStore } from '../../../adapters/storage/sql-message-store.js';
import { DEFAULT_ROUTE_PRIORITY } from '../../../domain/routing/route-table.js';
import { ensureEdgeCertificates } from '../../../infrastructure/certs/edge-certificates.js';
import { eventually, modulesRunning, REPO, runExample } from '../../support/example/run-example.js';
import { idsWith, isolatedEnv, runCheck, runCheckJson } from '../../support/diagnostics/check-runner.js';

const DAY_MS = 86_400_000;
const dirs: string[] = [];
const mounts: string[] = [];

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

after(() => {
  for (const mount of mounts) execFileSync('umount', [mount]);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The text line of a check and the fix line under it. */
function lineOf(stdout: string, description: string): { line: string; fix: string } {
  const lines = stdout.split('\n');
  const index = lines.findIndex((l) => l.slice(2).startsWith(`${description} - `));
  assert.ok(index >= 0, `no line for "${description}" in:\n${stdout}`);
  return { line: lines[index]!, fix: lines[index + 1] ?? '' };
}

/** Asserts the one failing check: × in text with a fix line, Error with a fix in JSON, exit 1. */
function assertOnlyError(args: string[], env: NodeJS.ProcessEnv, id: string, description: string, reason: RegExp, fix: RegExp): void {
  const json = runCheckJson(args, env);
  assert.equal(json.status, 1, json.raw);
  assert.deepEqual(idsWith(json.checks, 'Error'), [id], json.raw);
  assert.match(json.checks[id]!.details, reason);
  assert.match(json.checks[id]!.fix ?? '', fix);
  const text = runCheck(args, env);
  assert.equal(text.status, 1, text.stdout);
  const { line, fix: fixLine } = lineOf(text.stdout, description);
  assert.ok(line.startsWith('× '), line);
  assert.match(line, reason);
  assert.match(fixLine, /^ {4}fix: /);
  assert.match(fixLine, fix);
}

test('edgeport check on a healthy running setup (the temperature example): every check ✓, exit 0, also as JSON', { timeout: 120_000 }, async () => {
  const dataDir = tempDir('edgeport-check-healthy-');
  const env = await isolatedEnv(dataDir);
  const config = 'examples/temperature/edgeport.toml';
  const run = runExample(config, env);
  try {
    await run.running();
    await eventually('sensor and filter running', 60_000, () => modulesRunning(run, ['sensor', 'filter']), run.context);

    const text = runCheck(['-c', config], env);
    assert.equal(text.status, 0, text.stdout + text.stderr);
    const checkLines = text.stdout.split('\n').filter((l) => /^[✓‼×-] /.test(l));
    assert.ok(checkLines.length >= 13, text.stdout);
    assert.deepEqual(checkLines.filter((l) => !l.startsWith('✓ ')), [], text.stdout);
    assert.match(text.stdout, /: the runtime is running\n/);
    assert.match(lineOf(text.stdout, 'listener ports are free or held by this runtime').line, /held by this runtime/);
    assert.match(lineOf(text.stdout, 'modules are running (none failed or in back-off)').line, / (\d+) of \1 modules running/);
    assert.match(lineOf(text.stdout, 'deployment status is 200').line, /the agent reports 200/);
    assert.match(text.stdout, new RegExp(`\n${checkLines.length} ok, 0 warnings, 0 errors, 0 skipped\n`));

    const json = runCheckJson(['-c', config], env);
    assert.equal(json.status, 0);
    assert.deepEqual(Object.values(json.checks).map((c) => c.result).filter((r) => r !== 'Ok'), [], json.raw);
    assert.ok('config-valid' in json.checks && 'store' in json.checks && 'ports' in json.checks);
  } finally {
    await run.stop();
  }
});

test('edgeport check: an unwritable data directory (read-only mount) is × with its fix, exit 1', { timeout: 60_000 }, async () => {
  const mount = tempDir('edgeport-check-ro-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=256m', 'tmpfs', mount]);
  mounts.push(mount);
  const env = await isolatedEnv(mount);
  assertOnlyError([], env, 'data-dir-writable', 'data directory is writable', /cannot write to .*: read-only file system/, /mount a writable volume there|set dataDir/);
});

test('edgeport check: an expired server certificate is × with its fix, exit 1', { timeout: 60_000 }, async () => {
  const dataDir = tempDir('edgeport-check-cert-');
  // Made 400 days ago: the CA (5 years) is still valid, the server certificate (1 year) is not.
  await ensureEdgeCertificates({ dir: join(dataDir, 'certs'), hostname: 'localhost', now: new Date(Date.now() - 400 * DAY_MS) });
  const env = await isolatedEnv(dataDir);
  assertOnlyError([], env, 'certificates', 'edge CA and server certificate are valid', /the server certificate expired on \d{4}-\d\d-\d\d/, /issues a new server certificate/);
});

test('edgeport check: a listener port taken by another process is × with its fix, exit 1', { timeout: 60_000 }, async () => {
  const dataDir = tempDir('edgeport-check-port-');
  const env = await isolatedEnv(dataDir);
  const taken: Server = createServer();
  await new Promise<void>((resolve) => taken.listen(Number(env['EDGEPORT_HUB_AMQP_PORT']), '127.0.0.1', resolve));
  try {
    assertOnlyError([], env, 'ports', 'listener ports are free or held by this runtime', new RegExp(`port ${env['EDGEPORT_HUB_AMQP_PORT']} \\(hub\\.amqp\\.port, AMQP over TLS\\) is in use by another process`), /EDGEPORT_HUB_AMQP_PORT/);
  } finally {
    await new Promise((resolve) => taken.close(resolve));
  }
});

test('edgeport check: Docker absent while the deployment has Docker modules is × with its fix, exit 1', { timeout: 60_000 }, async () => {
  const dataDir = tempDir('edgeport-check-docker-');
  const env = await isolatedEnv(dataDir, {
    EDGEPORT_AGENT_DOCKER_SOCKET: join(dataDir, 'no-docker.sock'),
    EDGEPORT_AGENT_MANIFEST: join(REPO, 'examples/temperature/deployment.docker.json'),
  });
  assertOnlyError([], env, 'docker-engine', 'Docker engine answers when the deployment needs it', /the deployment has Docker modules \(filter, sensor\) but no Docker engine answers on .*no-docker\.sock/, /start Docker|mount its socket/);
});

test('edgeport check: a store over 90% of its limit is × with its fix, exit 1', { timeout: 60_000 }, async () => {
  const dataDir = tempDir('edgeport-check-store-');
  mkdirSync(dataDir, { recursive: true });
  const dataSource = createDataSource({ kind: 'sqlite', path: join(dataDir, 'edgeport.db'), sync: 'normal' });
  const store = new SqlMessageStore(dataSource);
  await store.open();
  const now = Date.now();
  const items = Array.from({ length: 20 }, (_, i) => ({
    message: { body: new Uint8Array(1000).fill(i), properties: {}, systemProperties: {} },
    enqueuedAt: now - 1000,
    entries: [{ endpointId: '$upstream', priority: DEFAULT_ROUTE_PRIORITY, expiresAt: now + 3_600_000 }],
  }));
  await store.append(items);
  await store.close();
  await dataSource.destroy();
  // 20 000 bytes stored against a 21 000-byte limit: 95 %.
  const env = await isolatedEnv(dataDir, { EDGEPORT_HUB_STORE_AND_FORWARD_MAX_BYTES: '21000' });
  assertOnlyError([], env, 'store', 'message store has room and its queues drain', /the store is 9\d% full .*new messages are refused/, /raise hub\.storeAndForward\.maxBytes/);
  // The queue and the age of its oldest message are in the report.
  assert.match(runCheckJson([], env).checks['store']!.details, /\$upstream: 20 queued, oldest \d+ s/);
});

test('edgeport check: a route condition that compares a property with a number is ‼ routes-can-match (a warning: exit 0)', { timeout: 60_000 }, async () => {
  const dataDir = tempDir('edgeport-check-routes-');
  const manifest = join(dataDir, 'deployment.json');
  writeFileSync(
    manifest,
    JSON.stringify({
      modulesContent: {
        $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', runtime: { type: 'docker', settings: {} }, systemModules: {}, modules: {} } },
        $edgeHub: { 'properties.desired': { schemaVersion: '1.1', routes: { hot: 'FROM /messages/* WHERE temp > 100 INTO $upstream', fine: 'FROM /messages/* WHERE as_number(temp) > 100 INTO $upstream' }, storeAndForwardConfiguration: { timeToLiveSecs: 7200 } } },
      },
    }),
  );
  const env = await isolatedEnv(dataDir, { EDGEPORT_AGENT_MANIFEST: manifest });
  const json = runCheckJson([], env);
  assert.equal(json.checks['routes-can-match']?.result, 'Warning', json.raw);
  assert.match(json.checks['routes-can-match']!.details, /hot/);
  assert.doesNotMatch(json.checks['routes-can-match']!.details, /route fine/);
  assert.match(json.checks['routes-can-match']!.fix ?? '', /as_number/);
  assert.deepEqual(idsWith(json.checks, 'Error'), [], json.raw);
  assert.equal(json.status, 0, json.raw);
});
