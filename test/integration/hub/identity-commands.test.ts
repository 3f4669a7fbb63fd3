import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { parseIdentity } from '../../../domain/identity/identity.js';
import { StateIdentityStore } from '../../../application/hub/state-identity-store.js';
import { createDataSource } from '../../../adapters/storage/create-data-source.js';
import { TypeormStateStore } from '../../../adapters/storage/typeorm-state-store.js';
import { registerIdentityCommands } from '../../../infrastructure/cli/identity-commands.js';
import { AesGcmSecretCipher } from '../../../adapters/secrets/aes-gcm-secret-cipher.js';
import { MasterKeyFile } from '../../../adapters/secrets/master-key-file.js';
import { MemoryLogger } from '../../support/agent/memory-logger.js';
import { loadConfig } from '../../../infrastructure/config/load-config.js';

test('edgeport identity add/list/remove against the configured SQLite database', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgeport-idcli-'));
  const exitCode = process.exitCode;
  try {
    const config = loadConfig({ env: { EDGEPORT_DATA_DIR: dir, EDGEPORT_HUB_MQTT_PORT: '18883', EDGEPORT_HOSTNAME: 'gw.local', EDGEPORT_IOT_HUB_HOSTNAME: 'myhub.azure-devices.net' }, cwd: dir });
    let output = '';
    const run = async (...args: string[]): Promise<string> => {
      output = '';
      const program = new Command('edgeport').exitOverride();
      registerIdentityCommands(program, { loadConfig: () => config, out: { write: (t: string) => (output += t) } });
      await program.parseAsync(['node', 'edgeport', ...args]);
      return output;
    };
    const added = await run('identity', 'add', 'leaf1');
    const key = /primaryKey: (\S+)/.exec(added)?.[1];
    assert.ok(key !== undefined && Buffer.from(key, 'base64').length === 32);
    assert.match(added, new RegExp(`connectionString: HostName=myhub\\.azure-devices\\.net;DeviceId=leaf1;SharedAccessKey=${key.replace(/[+/]/g, '\\$&')};GatewayHostName=gw\\.local:18883`));
    await run('identity', 'add', 'edge1/A', '--primary-key', 'cHJpbWFyeQ==');
    assert.equal(await run('identity', 'list'), 'edge1/A\tmodule\tenabled\nleaf1\tdevice\tenabled\n');
    assert.equal(await run('identity', 'remove', 'leaf1'), 'identity leaf1 removed\n');

    const ds = createDataSource({ kind: 'sqlite', path: config.storage.path });
    const state = new TypeormStateStore(ds);
    await state.open();
    const cipher = new AesGcmSecretCipher(new MasterKeyFile(config.secrets.keyFile, new MemoryLogger()));
    assert.equal((await new StateIdentityStore(state, cipher).get(parseIdentity('edge1/A')))?.primaryKey, 'cHJpbWFyeQ==');
    await ds.destroy();

    await run('identity', 'add', 'bad/id/x');
    assert.equal(process.exitCode, 2);
  } finally {
    process.exitCode = exitCode;
    await rm(dir, { recursive: true, force: true });
  }
});

test('identity add refuses to replace keys without --force; identity renew rotates one or both keys', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgeport-idcli-'));
  const exitCode = process.exitCode;
  try {
    const config = loadConfig({ env: { EDGEPORT_DATA_DIR: dir, EDGEPORT_HOSTNAME: 'gw.local' }, cwd: dir });
    let output = '';
    let errors = '';
    const run = async (...args: string[]): Promise<{ out: string; err: string; code: number | undefined }> => {
      output = '';
      errors = '';
      process.exitCode = undefined;
      const program = new Command('edgeport').exitOverride();
      registerIdentityCommands(program, { loadConfig: () => config, out: { write: (t: string) => (output += t) }, err: { write: (t: string) => (errors += t) } });
      await program.parseAsync(['node', 'edgeport', ...args]);
      const code = typeof process.exitCode === 'number' ? process.exitCode : undefined;
      process.exitCode = undefined;
      return { out: output, err: errors, code };
    };
    const keysOf = (text: string) => ({ primaryKey: /^primaryKey: (\S+)$/m.exec(text)?.[1], secondaryKey: /^secondaryKey: (\S+)$/m.exec(text)?.[1] });
    const first = keysOf((await run('identity', 'add', 'leaf1')).out);

    const again = await run('identity', 'add', 'leaf1');
    assert.equal(again.code, 1);
    assert.equal(again.out, '');
    assert.match(again.err, /^identity leaf1 is already registered; its keys were not changed \(replacing them would lock out clients that use them\)\.\nTo rotate its keys: edgeport identity renew leaf1 \[--primary\|--secondary\]; to replace them anyway: edgeport identity add leaf1 --force\n$/);
    const forced = await run('identity', 'add', 'leaf1', '--force', '--primary-key', 'cHJpbWFyeQ==');
    assert.equal(forced.code, undefined, forced.err);
    assert.match(forced.out, /^identity leaf1 registered again: its previous keys were replaced \(--force\)\n/);
    assert.equal(keysOf(forced.out).primaryKey, 'cHJpbWFyeQ==');
    assert.notEqual(keysOf(forced.out).secondaryKey, first.secondaryKey);

    // --secondary keeps the primary key; the output has both connection strings.
    const secondary = keysOf((await run('identity', 'renew', 'leaf1', '--secondary')).out);
    assert.equal(secondary.primaryKey, 'cHJpbWFyeQ==');
    assert.notEqual(secondary.secondaryKey, keysOf(forced.out).secondaryKey);
    assert.match(output, /^identity leaf1: secondary key renewed/);
    assert.match(output, new RegExp(`^connectionString: HostName=edgeport\\.local;DeviceId=leaf1;SharedAccessKey=cHJpbWFyeQ==;GatewayHostName=gw\\.local$`, 'm'));
    assert.match(output, new RegExp(`^secondaryConnectionString: .*SharedAccessKey=${secondary.secondaryKey!.replace(/[+/]/g, '\\$&')};`, 'm'));

    const primary = keysOf((await run('identity', 'renew', 'leaf1', '--primary')).out);
    assert.notEqual(primary.primaryKey, 'cHJpbWFyeQ==');
    assert.equal(primary.secondaryKey, secondary.secondaryKey);
    const both = await run('identity', 'renew', 'leaf1');
    assert.match(both.out, /^identity leaf1: primary and secondary keys renewed/);
    assert.notEqual(keysOf(both.out).primaryKey, primary.primaryKey);
    assert.notEqual(keysOf(both.out).secondaryKey, primary.secondaryKey);

    const unknown = await run('identity', 'renew', 'ghost');
    assert.equal(unknown.code, 1);
    assert.equal(unknown.err, 'identity ghost is not registered; register it with: edgeport identity add ghost\n');
    assert.equal((await run('identity', 'list')).out, 'leaf1\tdevice\tenabled\n');
  } finally {
    process.exitCode = exitCode;
    await rm(dir, { recursive: true, force: true });
  }
});
