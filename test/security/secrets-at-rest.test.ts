/**
 * Issue #12.3: every device key was readable by any local user (database 0644, data directory
 * 0755, keys in plain text). Now: data directory 0700, database and its -wal/-shm 0600, certificate
 * keys 0600, and identity keys encrypted with a master key kept in its own file (0600, in a 0700
 * directory). Wider modes left by older versions are narrowed at start with one warning each, and
 * plain-text keys are encrypted at start without losing an identity, on SQLite and PostgreSQL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateIdentityStore } from '../../application/hub/state-identity-store.js';
import { AesGcmSecretCipher } from '../../adapters/secrets/aes-gcm-secret-cipher.js';
import { MasterKeyFile } from '../../adapters/secrets/master-key-file.js';
import { createDataSource } from '../../adapters/storage/create-data-source.js';
import { TypeormStateStore } from '../../adapters/storage/typeorm-state-store.js';
import { ensureEdgeCertificates, EDGE_CERT_FILES } from '../../infrastructure/certs/edge-certificates.js';
import { parseIdentity } from '../../domain/identity/identity.js';
import { MemoryLogger } from '../support/agent/memory-logger.js';
import { cliEnv, edgeportCli, loopbackListeners } from '../support/cli/edgeport-cli.js';
import { Client, Message, Mqtt } from '../support/mqtt/sdk.js';
import { within } from '../support/mqtt/hub-harness.js';
import { RuntimeProcess } from '../support/runtime-process.js';
import { skipUnless } from '../support/services.js';
import { postgresFixture } from '../support/storage-fixtures.js';

const mode = (path: string): string => `0${(statSync(path).mode & 0o777).toString(8)}`;

function printed(output: string, field: string): string {
  const value = new RegExp(`^${field}: (\\S+)$`, 'm').exec(output)?.[1];
  assert.ok(value !== undefined, `no ${field} in:\n${output}`);
  return value;
}

/** Neither the base64 text of a key nor its raw bytes occur in `bytes`. */
function assertNoKey(bytes: Buffer, key: string, where: string): void {
  assert.equal(bytes.includes(Buffer.from(key, 'utf8')), false, `${where} holds a key in base64 text`);
  assert.equal(bytes.includes(Buffer.from(key, 'base64')), false, `${where} holds a key's raw bytes`);
}

/** A database as an older Edgeport left it: an identity with plain-text keys. */
async function legacyIdentity(options: { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string }, id: string, keys: { primaryKey: string; secondaryKey: string }): Promise<void> {
  const dataSource = createDataSource(options);
  const state = new TypeormStateStore(dataSource);
  await state.open();
  await state.put('identities', id, keys);
  await dataSource.destroy();
}

const LEGACY = { primaryKey: Buffer.alloc(32, 7).toString('base64'), secondaryKey: Buffer.alloc(32, 9).toString('base64') };

test('SQLite: modes narrowed with a warning, plain-text keys encrypted at start, no key in the database files, SAS still works', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgeport-secrets-'));
  chmodSync(dataDir, 0o755);
  const database = join(dataDir, 'edgeport.db');
  const certs = join(dataDir, 'certs');
  await legacyIdentity({ kind: 'sqlite', path: database }, 'leafOld', LEGACY);
  chmodSync(database, 0o644);
  await ensureEdgeCertificates({ dir: certs, hostname: 'localhost' });
  chmodSync(certs, 0o755);
  chmodSync(join(certs, EDGE_CERT_FILES.caKey), 0o644);
  // A key directory left too wide (the key itself is created at start).
  mkdirSync(join(dataDir, 'secrets'), { mode: 0o755 });
  chmodSync(join(dataDir, 'secrets'), 0o755);

  const env = { EDGEPORT_HOSTNAME: 'localhost', EDGEPORT_DEVICE_ID: 'gw', ...(await loopbackListeners()) };
  const mqttPort = env.EDGEPORT_HUB_MQTT_PORT;
  const runtime = new RuntimeProcess(dataDir, env, ['--only', 'hub']);
  const clients: Array<InstanceType<typeof Client>> = [];
  try {
    await runtime.until('edgeport running', 30_000, () => runtime.lines.some((l) => String(l['msg']).startsWith('edgeport running')) || undefined);

    // One warning per narrowed path, naming it and both modes.
    const warnings = runtime.lines.filter((l) => l['level'] === 'warn').map((l) => String(l['msg']));
    for (const [path, from, to] of [
      [dataDir, '0755', '0700'],
      [database, '0644', '0600'],
      [certs, '0755', '0700'],
      [join(dataDir, 'secrets'), '0755', '0700'],
      [join(certs, EDGE_CERT_FILES.caKey), '0644', '0600'],
    ] as const) {
      const about = warnings.filter((w) => w.startsWith(`${path} had mode`));
      assert.equal(about.length, 1, `one warning for ${path}:\n${warnings.join('\n')}`);
      assert.match(about[0]!, new RegExp(`had mode ${from}, .*changed to ${to}$`));
    }
    assert.ok(warnings.some((w) => w === 'encrypted the keys of 1 identity that were stored in plain text'), warnings.join('\n'));

    const cli = cliEnv({ ...env, EDGEPORT_DATA_DIR: dataDir });
    const added = await edgeportCli(['identity', 'add', 'leafNew'], { env: cli });
    assert.equal(added.status, 0, added.stderr);
    const fresh = { primaryKey: printed(added.stdout, 'primaryKey'), secondaryKey: printed(added.stdout, 'secondaryKey') };
    const listed = await edgeportCli(['identity', 'list'], { env: cli });
    assert.equal(listed.stdout, 'leafNew\tdevice\tenabled\nleafOld\tdevice\tenabled\n');

    // Modes while running (SQLite creates -wal and -shm with the database file's mode).
    const secrets = join(dataDir, 'secrets');
    assert.deepEqual(
      [dataDir, database, `${database}-wal`, `${database}-shm`, secrets, join(secrets, 'master.key'), certs, join(certs, EDGE_CERT_FILES.caKey), join(certs, EDGE_CERT_FILES.serverKey)].map((p) => [p, mode(p)]),
      [
        [dataDir, '0700'],
        [database, '0600'],
        [`${database}-wal`, '0600'],
        [`${database}-shm`, '0600'],
        [secrets, '0700'],
        [join(secrets, 'master.key'), '0600'],
        [certs, '0700'],
        [join(certs, EDGE_CERT_FILES.caKey), '0600'],
        [join(certs, EDGE_CERT_FILES.serverKey), '0600'],
      ],
    );
    for (const file of [database, `${database}-wal`, `${database}-shm`]) {
      const bytes = readFileSync(file);
      for (const key of [LEGACY.primaryKey, LEGACY.secondaryKey, fresh.primaryKey, fresh.secondaryKey]) assertNoKey(bytes, key, file);
    }

    // The hub authenticates both identities with their (decrypted) keys.
    const ca = readFileSync(join(certs, EDGE_CERT_FILES.caCert), 'utf8');
    for (const [id, key] of [['leafOld', LEGACY.primaryKey], ['leafNew', fresh.secondaryKey]] as const) {
      const client = Client.fromConnectionString(`HostName=edgeport.local;DeviceId=${id};SharedAccessKey=${key};GatewayHostName=localhost:${mqttPort}`, Mqtt);
      clients.push(client);
      await client.setOptions({ ca });
      await within(15_000, `${id} connects`, client.open());
      await within(10_000, `${id} sends`, client.sendEvent(new Message('hello')));
    }
    const wrong = Client.fromConnectionString(`HostName=edgeport.local;DeviceId=leafOld;SharedAccessKey=${fresh.primaryKey};GatewayHostName=localhost:${mqttPort}`, Mqtt);
    await wrong.setOptions({ ca });
    await assert.rejects(within(15_000, 'wrong key refused', wrong.open()));
    await wrong.close().catch(() => undefined);
  } finally {
    for (const client of clients) await client.close().catch(() => undefined);
    await runtime.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  assert.equal(runtime.exitCode, 0, runtime.context());
});

test('PostgreSQL: identity add stores no key in the rows, plain-text rows are encrypted, every identity still reads', { timeout: 60_000, skip: await skipUnless('postgres') }, async () => {
  const fixture = await postgresFixture();
  const dataDir = mkdtempSync(join(tmpdir(), 'edgeport-secrets-pg-'));
  try {
    await legacyIdentity({ kind: 'postgres', url: fixture.url }, 'leafOld', LEGACY);
    const env = cliEnv({ EDGEPORT_DATA_DIR: dataDir, EDGEPORT_STORAGE_KIND: 'postgres', EDGEPORT_STORAGE_URL: fixture.url });
    const added = await edgeportCli(['identity', 'add', 'gw/mod1'], { env });
    assert.equal(added.status, 0, added.stderr);
    assert.match(added.stderr, /^master key created at .*master\.key \(secrets\.keyFile\)/m);
    assert.match(added.stderr, /^warning: encrypted the keys of 1 identities that were stored in plain text$/m);
    const fresh = { primaryKey: printed(added.stdout, 'primaryKey'), secondaryKey: printed(added.stdout, 'secondaryKey') };
    assert.equal(mode(join(dataDir, 'secrets', 'master.key')), '0600');
    assert.equal(existsSync(join(dataDir, 'edgeport.db')), false, 'no SQLite file with PostgreSQL storage');

    const dataSource = createDataSource({ kind: 'postgres', url: fixture.url });
    await dataSource.initialize();
    try {
      const rows = (await dataSource.query(`SELECT key, value FROM state_entries WHERE namespace = 'identities' ORDER BY key`)) as Array<{ key: string; value: string }>;
      assert.deepEqual(rows.map((r) => r.key), ['gw/mod1', 'leafOld']);
      const all = Buffer.from(JSON.stringify(await dataSource.query('SELECT * FROM state_entries')));
      for (const key of [LEGACY.primaryKey, LEGACY.secondaryKey, fresh.primaryKey, fresh.secondaryKey]) assertNoKey(all, key, 'state_entries');
      for (const row of rows) assert.match(JSON.parse(row.value).keys as string, /^edgeport-sealed:v1:/);

      const state = new TypeormStateStore(dataSource);
      await state.open();
      const store = new StateIdentityStore(state, new AesGcmSecretCipher(new MasterKeyFile(join(dataDir, 'secrets', 'master.key'), new MemoryLogger())));
      assert.deepEqual(await store.get(parseIdentity('leafOld')), LEGACY);
      assert.deepEqual(await store.get(parseIdentity('gw/mod1')), fresh);
    } finally {
      await dataSource.destroy();
    }
    const listed = await edgeportCli(['identity', 'list'], { env });
    assert.equal(listed.stdout, 'gw/mod1\tmodule\tenabled\nleafOld\tdevice\tenabled\n');
  } finally {
    await fixture.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
