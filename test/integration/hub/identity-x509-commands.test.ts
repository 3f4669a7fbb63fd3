import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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
import { testCa } from '../../support/x509/client-certificates.js';

test('edgeport identity add --x509 (thumbprint, CA), list and show the kind without key material, renew refuses; the registry keeps it in SQLite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgeport-idx509-'));
  const exitCode = process.exitCode;
  try {
    const config = loadConfig({ env: { EDGEPORT_DATA_DIR: dir, EDGEPORT_HUB_MQTT_PORT: '18883', EDGEPORT_HOSTNAME: 'gw.local', EDGEPORT_IOT_HUB_HOSTNAME: 'myhub.azure-devices.net' }, cwd: dir });
    let output = '';
    let errors = '';
    const run = async (...args: string[]): Promise<{ out: string; err: string; code: number | undefined }> => {
      output = '';
      errors = '';
      process.exitCode = undefined;
      const program = new Command('edgeport').exitOverride();
      registerIdentityCommands(program, { loadConfig: () => config, out: { write: (t: string) => (output += t) }, err: { write: (t: string) => (errors += t) } });
      await program.parseAsync(['node', 'edgeport', ...args]);
      return { out: output, err: errors, code: process.exitCode as number | undefined };
    };
    const sha1 = 'ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01';
    const added = await run('identity', 'add', 'thumb1', '--x509', '--thumbprint', sha1, '--secondary-thumbprint', 'b'.repeat(64));
    assert.equal(added.code, undefined);
    assert.match(added.out, /authentication: X\.509 self-signed/);
    assert.match(added.out, /primaryThumbprint: ABCDEF0123456789ABCDEF0123456789ABCDEF01/);
    assert.match(added.out, /connectionString: HostName=myhub\.azure-devices\.net;DeviceId=thumb1;x509=true;GatewayHostName=gw\.local:18883/);
    assert.doesNotMatch(added.out, /primaryKey/);

    const ca = await testCa('Per Device CA');
    await writeFile(join(dir, 'ca.pem'), ca.subjectPem);
    assert.match((await run('identity', 'add', 'ca1', '--x509', '--ca', join(dir, 'ca.pem'))).out, /CA-signed \(certificate subject CN must be "ca1"; trusted CAs: hub\.x509\.trustedCaFiles and this identity's own CA\)/);
    assert.equal((await run('identity', 'add', 'ca2', '--x509', '--ca')).code, undefined);
    await run('identity', 'add', 'sas1');

    assert.equal((await run('identity', 'list')).out, 'ca1\tdevice\tenabled\tx509-ca\nca2\tdevice\tenabled\tx509-ca\nsas1\tdevice\tenabled\nthumb1\tdevice\tenabled\tx509-thumbprint\n');
    const shown = await run('identity', 'show', 'thumb1');
    assert.equal(shown.out, `id: thumb1\nkind: device\nstatus: enabled\nauthentication: x509-thumbprint\nprimaryThumbprint: ABCDEF0123456789ABCDEF0123456789ABCDEF01\nsecondaryThumbprint: ${'B'.repeat(64)}\n`);
    assert.match((await run('identity', 'show', 'sas1')).out, /authentication: sas\n$/);
    assert.doesNotMatch((await run('identity', 'show', 'sas1')).out, /Key/);
    assert.equal((await run('identity', 'show', 'nobody')).code, 1);

    const renewed = await run('identity', 'renew', 'thumb1');
    assert.equal(renewed.code, 1);
    assert.match(renewed.err, /X\.509 certificate and has no keys/);

    // Usage errors: exit 2, nothing stored.
    assert.equal((await run('identity', 'add', 'bad1', '--x509')).code, 2);
    assert.equal((await run('identity', 'add', 'bad2', '--x509', '--thumbprint', 'xyz')).code, 2);
    assert.equal((await run('identity', 'add', 'bad3', '--thumbprint', sha1)).code, 2);
    assert.equal((await run('identity', 'add', 'bad4', '--x509', '--thumbprint', sha1, '--ca')).code, 2);
    assert.equal((await run('identity', 'add', 'bad5', '--x509', '--ca', join(dir, 'missing.pem'))).code, 2);
    assert.equal((await run('identity', 'list')).out.split('\n').filter(Boolean).length, 4);

    const ds = createDataSource({ kind: 'sqlite', path: config.storage.path });
    const state = new TypeormStateStore(ds);
    await state.open();
    const store = new StateIdentityStore(state, new AesGcmSecretCipher(new MasterKeyFile(config.secrets.keyFile, new MemoryLogger())));
    assert.deepEqual((await store.get(parseIdentity('thumb1')))?.x509, { type: 'selfSigned', primaryThumbprint: 'ABCDEF0123456789ABCDEF0123456789ABCDEF01', secondaryThumbprint: 'B'.repeat(64) });
    assert.deepEqual((await store.get(parseIdentity('ca1')))?.x509, { type: 'certificateAuthority', trustedCaPems: [ca.subjectPem] });
    assert.deepEqual((await store.get(parseIdentity('ca2')))?.x509, { type: 'certificateAuthority' });
    await ds.destroy();
  } finally {
    process.exitCode = exitCode;
    await rm(dir, { recursive: true, force: true });
  }
});
