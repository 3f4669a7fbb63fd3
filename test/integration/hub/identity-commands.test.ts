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
