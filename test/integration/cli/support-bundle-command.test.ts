import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { StateIdentityStore } from '../../../application/hub/state-identity-store.js';
import { AesGcmSecretCipher } from '../../../adapters/secrets/aes-gcm-secret-cipher.js';
import { MasterKeyFile } from '../../../adapters/secrets/master-key-file.js';
import { writeRegistryCredentialsFile } from '../../../infrastructure/config/registry-credentials-file.js';
import { eventually, modulesRunning, REPO, runExample } from '../../support/example/run-example.js';
import { isolatedEnv } from '../../support/diagnostics/check-runner.js';
import { postgresFixture } from '../../support/storage-fixtures.js';
import { skipUnless } from '../../support/services.js';
import { SilentLogger } from '../../support/pipeline-harness.js';

const skip = await skipUnless('postgres');
const CONNECTION_KEY = Buffer.from('bundle-upstream-device-key-000001').toString('base64');
const LEAF_KEYS = [Buffer.from('bundle-leaf-primary-key-00000001').toString('base64'), Buffer.from('bundle-leaf-secondary-key-0000002').toString('base64')];
const PG_PASSWORD = 'Pg-Bundle-Secret-3';
const FILE_REGISTRY_PASSWORD = 'File-Registry-Secret-4';
const MANIFEST_REGISTRY_PASSWORD = 'Manifest-Registry-Secret-5';
const SIGNATURE = 'bundleSigValue0123456789abcdefABCDEF%3D';
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Every file under `dir`, relative, sorted. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** The temperature example's manifest with a registry credential and a SAS token in a module's environment. */
function manifestWithSecrets(): string {
  const manifest = JSON.parse(readFileSync(join(REPO, 'examples/temperature/deployment.json'), 'utf8')) as { modulesContent: Record<string, Record<string, Record<string, unknown>>> };
  const desired = manifest.modulesContent['$edgeAgent']!['properties.desired']!;
  desired['runtime'] = { type: 'docker', settings: { registryCredentials: { acr: { address: 'bundleacr.azurecr.io', username: 'bundleacr', password: MANIFEST_REGISTRY_PASSWORD } } } };
  const sensor = (desired['modules'] as Record<string, { env: Record<string, { value: string }> }>)['sensor']!;
  sensor.env['UPSTREAM_TOKEN'] = { value: `SharedAccessSignature sr=bundle-hub.azure-devices.net%2Fdevices%2Fx&sig=${SIGNATURE}&se=1893456000` };
  return JSON.stringify(manifest, null, 2);
}

test('edgeport support-bundle: the runtime running with keys, a connection string, a PostgreSQL password and registry passwords; the .tar.gz lists the expected files and holds none of those secrets', { skip, timeout: 180_000 }, async () => {
  const store = await postgresFixture();
  const dir = mkdtempSync(join(tmpdir(), 'edgeport-bundle-'));
  dirs.push(dir);
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const url = store.url.replace('://postgres@', `://postgres:${PG_PASSWORD}@`);
  writeFileSync(join(dir, 'deployment.json'), manifestWithSecrets());
  writeRegistryCredentialsFile(join(dir, 'registry-credentials.json'), { acr: { address: 'bundleacr.azurecr.io', username: 'bundleacr', password: FILE_REGISTRY_PASSWORD } });
  const config = join(dir, 'edgeport.toml');
  writeFileSync(
    config,
    [
      'deviceId = "bundle-device"',
      '[storage]',
      'kind = "postgres"',
      `url = "${url}"`,
      '[agent]',
      'runtime = "process"',
      `manifest = "${join(dir, 'deployment.json')}"`,
      `registryCredentialsFile = "${join(dir, 'registry-credentials.json')}"`,
      '[upstream]',
      'kind = "none"',
      `connectionString = "HostName=bundle-hub.azure-devices.net;DeviceId=bundle-device;SharedAccessKey=${CONNECTION_KEY}"`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const run = runExample(config, await isolatedEnv(dataDir));
  try {
    await run.running();
    await eventually('sensor and filter running', 60_000, () => modulesRunning(run, ['sensor', 'filter']), run.context);
    const added = run.cli(['identity', 'add', 'bundle-leaf', '--primary-key', LEAF_KEYS[0]!, '--secondary-key', LEAF_KEYS[1]!]);
    assert.equal(added.status, 0, added.stderr);
    await eventually('the sensor logged its connection', 30_000, () => (/sensor connected/.test(run.cli(['logs', 'sensor']).stdout) ? true : undefined), run.context);

    const output = join(dir, 'bundle.tar.gz');
    const made = run.cli(['support-bundle', '--since', '1h', '-o', output]);
    assert.equal(made.status, 0, made.stderr);
    assert.match(made.stdout, /bundle\.tar\.gz \(\d+ files\)/);
    assert.match(made.stderr, /collecting check results \.\.\./);
    assert.equal(statSync(output).mode & 0o777, 0o600);

    const extracted = join(dir, 'extracted');
    mkdirSync(extracted);
    execFileSync('tar', ['-xzf', output, '-C', extracted]);
    const files = filesUnder(extracted);
    assert.deepEqual(files, [
      'check.json',
      'check.txt',
      'config/edgeport.toml',
      'config/effective-config.json',
      'config/registry-credentials.json',
      'list.json',
      'logs/edgeport.log',
      'logs/filter_log.txt',
      'logs/sensor_log.txt',
      'manifest/deployment.json',
      'manifest/edgeAgent-twin.json',
      'metrics.txt',
      'store.json',
      'versions.json',
    ]);
    const text = (file: string): string => readFileSync(join(extracted, file), 'utf8');
    assert.ok(Object.keys((JSON.parse(text('check.json')) as { checks: object }).checks).includes('store'));
    assert.match(text('logs/sensor_log.txt'), /stdout sensor connected as bundle-device\/sensor/);
    assert.match(text('logs/edgeport.log'), /"msg":"edgeport running/);
    assert.match(text('metrics.txt'), /^edgeport_messages_received_total/m);
    assert.deepEqual((JSON.parse(text('list.json')) as { modules: Array<{ name: string }> }).modules.map((m) => m.name).sort(), ['edgeAgent', 'edgeHub', 'filter', 'sensor']);
    assert.match(text('config/edgeport.toml'), /connectionString = "\[REDACTED\]"/);
    assert.match(text('config/registry-credentials.json'), /"username": "bundleacr"/);

    // Every secret of the setup: ours, the module identities' keys the runtime made, the edge CA's key.
    // Keys are sealed at rest (secrets.keyFile): read them through the identity store with the runtime's master key.
    const { state } = await store.open();
    const cipher = new AesGcmSecretCipher(new MasterKeyFile(join(dataDir, 'secrets', 'master.key'), new SilentLogger()));
    await cipher.open({ allowCreate: false });
    const identityKeys = (await new StateIdentityStore(state!, cipher).list()).flatMap(({ credentials }) => [credentials.primaryKey, credentials.secondaryKey]);
    await store.shut();
    assert.ok(identityKeys.length >= 6, 'sensor, filter and the leaf device have keys');
    const caKeyBody = readFileSync(join(dataDir, 'certs', 'edge-ca.key.pem'), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('-----'))[0]!;
    const secrets = [CONNECTION_KEY, ...LEAF_KEYS, ...identityKeys, PG_PASSWORD, FILE_REGISTRY_PASSWORD, MANIFEST_REGISTRY_PASSWORD, SIGNATURE, caKeyBody];
    for (const file of files) {
      const content = text(file);
      for (const secret of secrets) assert.ok(!content.includes(secret), `${file} contains a secret (${secret.slice(0, 6)}...)`);
      assert.doesNotMatch(content, /SharedAccessSignature sr=/, `${file} contains a SAS token`);
    }
  } finally {
    await run.stop();
    await store.destroy();
  }
});
