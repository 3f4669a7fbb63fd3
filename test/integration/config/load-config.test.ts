import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_LEAVES, envSegment } from '../../../infrastructure/config/env-overrides.js';
import { ConfigError, loadConfig } from '../../../infrastructure/config/load-config.js';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'edgeport-config-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.problems.map((p) => (p.path === '' ? p.message : `${p.path}: ${p.message}`));
  }
  assert.fail('expected a ConfigError');
}

test('no file and no environment gives the embedded defaults', () => {
  withDir((dir) => {
    const config = loadConfig({ env: {}, cwd: dir });
    assert.equal(config.source.file, null);
    assert.equal(config.hub.mqtt.port, 8883);
    assert.equal(config.hub.mqtt.plainPort, 0);
    assert.equal(config.storage.kind, 'sqlite');
    assert.equal(config.storage.path, join(dir, 'data', 'edgeport.db'));
    assert.equal(config.certs.dir, join(dir, 'data', 'certs'));
    assert.equal(config.agent.runtime, 'auto');
    assert.equal(config.hub.storeAndForward.timeToLiveSecs, 7200);
    // No default listener needs root.
    for (const port of [config.hub.mqtt.port, config.hub.amqp.port, config.metrics.port]) assert.ok(port >= 1024, `port ${port} is privileged`);
  });
});

test('a file with three mistakes reports all three with key paths and expectations', () => {
  withDir((dir) => {
    const file = join(dir, 'edgeport.toml');
    writeFileSync(file, ['hostname = "gw1"', '[hub.mqtt]', 'port = "abc"', 'prot = 1', '[storage]', 'kind = "mysql"', ''].join('\n'));
    const problems = problemsOf(() => loadConfig({ file, env: {}, cwd: dir }));
    assert.deepEqual(problems.sort(), [
      'hub.mqtt.port: expected an integer 1-65535, got "abc"',
      'hub.mqtt.prot: unknown key (expected one of: enabled, host, port, plainPort)',
      'storage.kind: expected one of "sqlite", "postgres", got "mysql"',
    ]);
  });
});

test('./edgeport.toml is used when present; explicit file and EDGEPORT_CONFIG win', () => {
  withDir((dir) => {
    writeFileSync(join(dir, 'edgeport.toml'), 'hostname = "from-cwd"\n');
    writeFileSync(join(dir, 'other.toml'), 'hostname = "from-other"\n');
    assert.equal(loadConfig({ env: {}, cwd: dir }).hostname, 'from-cwd');
    assert.equal(loadConfig({ env: { EDGEPORT_CONFIG: 'other.toml' }, cwd: dir }).hostname, 'from-other');
    assert.equal(loadConfig({ file: join(dir, 'other.toml'), env: {}, cwd: dir }).source.file, join(dir, 'other.toml'));
  });
});

test('EDGEPORT_* variables override the file, are typed, and name themselves in errors', () => {
  withDir((dir) => {
    const file = join(dir, 'edgeport.toml');
    writeFileSync(file, '[hub.mqtt]\nport = 1883\n');
    const config = loadConfig({
      file,
      env: { EDGEPORT_HUB_MQTT_PORT: '18883', EDGEPORT_HUB_STORE_AND_FORWARD_TIME_TO_LIVE_SECS: '60', EDGEPORT_METRICS_ENABLED: 'false' },
      cwd: dir,
    });
    assert.equal(config.hub.mqtt.port, 18883);
    assert.equal(config.hub.storeAndForward.timeToLiveSecs, 60);
    assert.equal(config.metrics.enabled, false);
    assert.deepEqual(config.source.env.sort(), ['EDGEPORT_HUB_MQTT_PORT', 'EDGEPORT_HUB_STORE_AND_FORWARD_TIME_TO_LIVE_SECS', 'EDGEPORT_METRICS_ENABLED']);

    const problems = problemsOf(() => loadConfig({ file, env: { EDGEPORT_HUB_MQTT_PORT: 'abc', EDGEPORT_HUB_MQTT_PROT: '1', EDGEPORT_METRICS_ENABLED: 'yes' }, cwd: dir }));
    assert.deepEqual(problems.sort(), [
      'EDGEPORT_HUB_MQTT_PROT: unknown environment variable (no configuration key has this name)',
      'hub.mqtt.port (from EDGEPORT_HUB_MQTT_PORT): expected an integer 1-65535, got "abc"',
      'metrics.enabled (from EDGEPORT_METRICS_ENABLED): expected true or false, got "yes"',
    ]);
  });
});

test('every configuration key has a distinct environment variable', () => {
  const names = CONFIG_LEAVES.map((leaf) => leaf.env);
  assert.equal(new Set(names).size, names.length);
  assert.ok(names.includes('EDGEPORT_HUB_MQTT_PLAIN_PORT'));
  assert.equal(envSegment('timeToLiveSecs'), 'TIME_TO_LIVE_SECS');
});

test('TOML syntax errors name the line and column; unreadable files name the file', () => {
  withDir((dir) => {
    const file = join(dir, 'broken.toml');
    writeFileSync(file, 'hostname = "a"\n[hub\n');
    const [problem] = problemsOf(() => loadConfig({ file, env: {}, cwd: dir }));
    assert.match(problem!, /TOML syntax error at line 2, column \d+/);
    const [missing] = problemsOf(() => loadConfig({ file: join(dir, 'absent.toml'), env: {}, cwd: dir }));
    assert.match(missing!, /cannot read .*absent\.toml: ENOENT/);
  });
});

test('cross-field rules: postgres needs a URL, and the URL is never echoed back', () => {
  withDir((dir) => {
    assert.deepEqual(problemsOf(() => loadConfig({ env: { EDGEPORT_STORAGE_KIND: 'postgres' }, cwd: dir })), [
      'storage.url: expected a postgres:// URL when storage.kind is "postgres", got ""',
    ]);
    const problems = problemsOf(() => loadConfig({ env: { EDGEPORT_STORAGE_URL: 'mysql://root:secret@db/x' }, cwd: dir }));
    assert.deepEqual(problems, ['storage.url (from EDGEPORT_STORAGE_URL): expected a postgres:// URL']);
    const ok = loadConfig({ env: { EDGEPORT_STORAGE_KIND: 'postgres', EDGEPORT_STORAGE_URL: 'postgres://postgres@127.0.0.1/test' }, cwd: dir });
    assert.equal(ok.storage.kind, 'postgres');
  });
});

test('cross-field rules: upstream.kind "parent" needs the parent\'s host name (setting or GatewayHostName) and the edge device connection string', () => {
  withDir((dir) => {
    const base = { EDGEPORT_DEVICE_ID: 'child1', EDGEPORT_IOT_HUB_HOSTNAME: 'hub.azure-devices.net', EDGEPORT_UPSTREAM_KIND: 'parent' };
    const cs = 'HostName=hub.azure-devices.net;DeviceId=child1;SharedAccessKey=c2VjcmV0';
    const missingParent = problemsOf(() => loadConfig({ env: { ...base, EDGEPORT_UPSTREAM_CONNECTION_STRING: cs }, cwd: dir }));
    assert.equal(missingParent.length, 1);
    assert.match(missingParent[0]!, /^upstream\.parentHostname: expected the parent edge device's host name/);
    const missingKey = problemsOf(() => loadConfig({ env: { ...base, EDGEPORT_UPSTREAM_PARENT_HOSTNAME: 'parent.local', EDGEPORT_UPSTREAM_CONNECTION_STRING: 'HostName=hub.azure-devices.net;DeviceId=child1' }, cwd: dir }));
    assert.match(missingKey.join('\n'), /upstream\.connectionString.*"parent"; missing SharedAccessKey/);
    assert.ok(!missingKey.join('\n').includes('c2VjcmV0'));
    const viaGateway = loadConfig({ env: { ...base, EDGEPORT_UPSTREAM_CONNECTION_STRING: `${cs};GatewayHostName=parent.local` }, cwd: dir });
    assert.equal(viaGateway.upstream.kind, 'parent');
    const explicit = loadConfig({ env: { ...base, EDGEPORT_UPSTREAM_CONNECTION_STRING: cs, EDGEPORT_UPSTREAM_PARENT_HOSTNAME: 'parent.local', EDGEPORT_UPSTREAM_MAX_RECONNECT_DELAY_SECS: '5' }, cwd: dir });
    assert.equal(explicit.upstream.parentHostname, 'parent.local');
    assert.equal(explicit.upstream.maxReconnectDelaySecs, 5);
  });
});
