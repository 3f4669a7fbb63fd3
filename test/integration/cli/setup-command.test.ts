import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, exampleEnv } from '../../support/example/run-example.js';
import { TmuxSession } from '../../support/cli/tmux-session.js';

/** tmux drives the interactive test; required where EDGEPORT_REQUIRE_SERVICES is set (.ci/run installs it). */
function tmuxSkip(): false | string {
  if (spawnSync('tmux', ['-V']).status === 0) return false;
  if (process.env['EDGEPORT_REQUIRE_SERVICES']) throw new Error('tmux is required (EDGEPORT_REQUIRE_SERVICES is set): apt-get install tmux');
  return 'tmux not installed';
}

const KEY = Buffer.from('setup-test-device-key-0123456789').toString('base64');
const CONNECTION_STRING = `HostName=hub-setup.azure-devices.net;DeviceId=gw-setup;SharedAccessKey=${KEY}`;
const REGISTRY_PASSWORD = 'Registry-Pa55-word!';
const PG_PASSWORD = 'pg-Secret-77';
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgeport-setup-'));
  dirs.push(dir);
  return dir;
}

/** `edgeport <args>` without any EDGEPORT_* variable of the test's own environment. */
function edgeport(args: string[], cwd: string, input?: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd, env: exampleEnv({}), encoding: 'utf8', timeout: 30_000, ...(input !== undefined ? { input } : {}) });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const mode = (path: string): number => statSync(path).mode & 0o777;

function assertNoSecret(text: string, where: string): void {
  for (const secret of [KEY, REGISTRY_PASSWORD, PG_PASSWORD]) assert.ok(!text.includes(secret), `${where} shows a secret:\n${text}`);
}

test('edgeport setup --non-interactive (connected, PostgreSQL, registry): files of mode 0600 that config check accepts, secrets masked, no overwrite without --force', () => {
  const dir = tempDir();
  const config = join(dir, 'edgeport.toml');
  const args = [
    'setup', '--non-interactive', '-c', config, '--mode', 'connected', '--connection-string', CONNECTION_STRING, '--hostname', 'gw-setup.local',
    '--data-dir', join(dir, 'data'), '--storage', 'postgres', '--storage-url', `postgres://edge:${PG_PASSWORD}@127.0.0.1:5432/edgeport`,
    '--mqtt-port', '18883', '--registry', 'setupacr.azurecr.io', '--registry-username', 'setupacr', '--registry-password', '-',
  ];
  const first = edgeport(args, dir, `${REGISTRY_PASSWORD}\n`);
  assert.equal(first.status, 0, first.stderr);
  assertNoSecret(first.stdout + first.stderr, 'setup output');
  assert.match(first.stdout, /connectionString = "HostName=hub-setup\.azure-devices\.net;DeviceId=gw-setup;SharedAccessKey=\[REDACTED\]"/);
  assert.match(first.stdout, /url = "postgres:\/\/edge:\[REDACTED\]@127\.0\.0\.1:5432\/edgeport"/);
  assert.match(first.stdout, /writing .*registry-credentials\.json \(mode 0600\) \.\.\. done: registry setupacr\.azurecr\.io, user setupacr, password hidden/);

  const credentials = join(dir, 'registry-credentials.json');
  assert.equal(mode(config), 0o600);
  assert.equal(mode(credentials), 0o600);
  const toml = readFileSync(config, 'utf8');
  assert.ok(toml.includes(CONNECTION_STRING), 'the configuration holds the connection string itself');
  assert.ok(!toml.includes(REGISTRY_PASSWORD), 'the registry password is only in its own file');
  assert.match(toml, new RegExp(`registryCredentialsFile = "${credentials.replace(/[/.]/g, '\\$&')}"`));
  assert.deepEqual(JSON.parse(readFileSync(credentials, 'utf8')), { setupacr: { address: 'setupacr.azurecr.io', username: 'setupacr', password: REGISTRY_PASSWORD } });

  const check = edgeport(['config', 'check', config], dir);
  assert.equal(check.status, 0, check.stderr);
  assert.match(check.stdout, /^configuration OK: /);

  // An existing file is kept: exit 2, nothing changed; --force replaces both files.
  writeFileSync(config, `${toml}# edited by hand\n`);
  const again = edgeport([...args.slice(0, -1), 'other-password'], dir);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /edgeport\.toml exists; pass --force to overwrite it/);
  assert.match(readFileSync(config, 'utf8'), /# edited by hand\n$/);
  const forced = edgeport([...args.slice(0, -1), 'other-password', '--force'], dir);
  assert.equal(forced.status, 0, forced.stderr);
  assert.doesNotMatch(readFileSync(config, 'utf8'), /edited by hand/);
  assert.equal(JSON.parse(readFileSync(credentials, 'utf8')).setupacr.password, 'other-password');
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
});

test('edgeport setup --non-interactive: bad flags are listed at once and nothing is written', () => {
  const dir = tempDir();
  const result = edgeport(['setup', '--non-interactive', '-c', join(dir, 'x.toml'), '--mode', 'connected', '--connection-string', `HostName=h;SharedAccessKey=${KEY}`, '--mqtt-port', '70000', '--registry', 'r.example'], dir);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /--connection-string: the connection string lacks DeviceId/);
  assert.match(result.stderr, /--mqtt-port must be a port 1-65535/);
  assert.match(result.stderr, /--registry, --registry-username and --registry-password go together/);
  assertNoSecret(result.stderr, 'the error');
  assert.deepEqual(readdirSync(dir), []);
});

test('edgeport setup in a terminal (tmux): prompts, masked secrets, custom ports and a registry; config check accepts the file', { skip: tmuxSkip(), timeout: 90_000 }, async () => {
  const dir = tempDir();
  const config = join(dir, 'edgeport.toml');
  const session = new TmuxSession(`${process.execPath} ${BIN} setup -c ${config}; echo SETUP-EXIT=$?; sleep 60`, exampleEnv({}), dir);
  try {
    await session.waitFor(/How does this device run\?/);
    session.key('Down', 'Enter');
    await session.waitFor(/connection string/);
    session.type(CONNECTION_STRING);
    await session.waitFor(/Hostname that modules/);
    session.type('gw-tmux.local');
    await session.waitFor(/Data directory/);
    session.type(join(dir, 'data'));
    await session.waitFor(/Message store/);
    session.key('Enter');
    await session.waitFor(/Module runtime/);
    session.key('Down', 'Down', 'Enter');
    await session.waitFor(/Use the standard ports/);
    session.type('n');
    for (const [name, port] of [['MQTT', '28883'], ['AMQP', '25671'], ['HTTPS', '28443'], ['METRICS', '29600']] as const) {
      await session.waitFor(new RegExp(`${name} port:`));
      session.type(port);
    }
    await session.waitFor(/private container registry/);
    session.type('y');
    await session.waitFor(/Registry address/);
    session.type('tmuxacr.azurecr.io');
    await session.waitFor(/User name/);
    session.type('tmuxuser');
    await session.waitFor(/Password:/);
    session.type(REGISTRY_PASSWORD);
    const screen = await session.waitFor(/SETUP-EXIT=\d+/, 30_000);
    assert.match(screen, /SETUP-EXIT=0/, screen);
    assertNoSecret(screen, 'the terminal');
    assert.match(screen, /\*{20,}/, 'the connection string was typed masked');
    assert.match(screen, /SharedAccessKey=\[REDACTED\]/);

    const toml = readFileSync(config, 'utf8');
    assert.match(toml, /hostname = "gw-tmux\.local"/);
    assert.match(toml, /deviceId = "gw-setup"/);
    assert.match(toml, /\[hub\.mqtt\]\nport = 28883/);
    assert.match(toml, /\[metrics\]\nport = 29600/);
    assert.match(toml, /runtime = "process"/);
    assert.equal(mode(config), 0o600);
    assert.equal(JSON.parse(readFileSync(join(dir, 'registry-credentials.json'), 'utf8')).tmuxacr.password, REGISTRY_PASSWORD);
    const check = edgeport(['config', 'check', config], dir);
    assert.equal(check.status, 0, check.stderr);
  } finally {
    session.close();
  }
});
