import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretCipherError } from '../../../application/ports/secret-cipher.js';
import { AesGcmSecretCipher } from '../../../adapters/secrets/aes-gcm-secret-cipher.js';
import { MasterKeyFile } from '../../../adapters/secrets/master-key-file.js';
import { MemoryLogger } from '../../support/agent/memory-logger.js';

const mode = (path: string): number => statSync(path).mode & 0o777;

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof SecretCipherError ? error.code : `not a SecretCipherError: ${String(error)}`;
  }
  return undefined;
}

test('AES-GCM cipher: round trip, fresh nonce per seal, bound to its context and key, tamper-evident', async () => {
  const cipher = AesGcmSecretCipher.withKey(randomBytes(32));
  assert.equal(codeOf(() => cipher.seal('x', 'c')), 'SECRET_NOT_OPEN');
  await cipher.open({ allowCreate: false });
  const sealed = cipher.seal('{"primaryKey":"k"}', 'identities/dev1');
  assert.ok(cipher.isSealed(sealed) && !cipher.isSealed('{"primaryKey":"k"}'));
  assert.doesNotMatch(sealed, /primaryKey/);
  assert.notEqual(cipher.seal('{"primaryKey":"k"}', 'identities/dev1'), sealed, 'a new nonce every time');
  assert.equal(cipher.unseal(sealed, 'identities/dev1'), '{"primaryKey":"k"}');
  assert.equal(codeOf(() => cipher.unseal(sealed, 'identities/dev2')), 'SECRET_CORRUPT', 'moved to another identity');
  const flipped = sealed.slice(0, -4) + (sealed.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  assert.equal(codeOf(() => cipher.unseal(flipped, 'identities/dev1')), 'SECRET_CORRUPT');
  const other = AesGcmSecretCipher.withKey(randomBytes(32));
  await other.open({ allowCreate: false });
  assert.equal(codeOf(() => other.unseal(sealed, 'identities/dev1')), 'SECRET_KEY_MISMATCH');
});

test('master key file: created 0600 in a 0700 directory once, reused, narrowed with a warning, never silently replaced', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeport-key-'));
  try {
    const path = join(dir, 'secrets', 'master.key');
    const logger = new MemoryLogger();
    await assert.rejects(new MasterKeyFile(path, logger).load(false), (e: unknown) => e instanceof SecretCipherError && e.code === 'SECRET_KEY_MISSING' && e.message.includes(path) && /restore it from your backup/.test(e.message));
    const key = await new MasterKeyFile(path, logger).load(true);
    assert.equal(key.length, 32);
    assert.equal(mode(path), 0o600);
    assert.equal(mode(join(dir, 'secrets')), 0o700);
    assert.match(logger.entries.find((e) => e.level === 'info')?.message ?? '', /master key created at .*master\.key \(secrets\.keyFile\).*back it up/);
    assert.deepEqual(await new MasterKeyFile(path, logger).load(true), key, 'the same key on the next start');

    chmodSync(path, 0o644);
    const warned = new MemoryLogger();
    assert.deepEqual(await new MasterKeyFile(path, warned).load(false), key);
    assert.equal(mode(path), 0o600);
    assert.deepEqual(
      warned.entries.filter((e) => e.level === 'warn').map((e) => e.message),
      [`${path} had mode 0644, wider than needed for secrets; changed to 0600`],
    );

    writeFileSync(path, 'not a key\n');
    await assert.rejects(new MasterKeyFile(path, logger).load(true), (e: unknown) => e instanceof SecretCipherError && e.code === 'SECRET_KEY_UNREADABLE');
    assert.equal(readFileSync(path, 'utf8'), 'not a key\n', 'an unreadable key file is never overwritten');

    // Two processes creating the key at once end up with the same key.
    const racePath = join(dir, 'race', 'master.key');
    mkdirSync(join(dir, 'race'));
    const [a, b] = await Promise.all([new MasterKeyFile(racePath, logger).load(true), new MasterKeyFile(racePath, logger).load(true)]);
    assert.deepEqual(a, b);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
