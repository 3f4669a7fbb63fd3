import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIdentity } from '../../../domain/identity/identity.js';
import { StateIdentityStore } from '../../../application/hub/state-identity-store.js';
import { SecretCipherError } from '../../../application/ports/secret-cipher.js';
import { createDataSource } from '../../../adapters/storage/create-data-source.js';
import { TypeormStateStore } from '../../../adapters/storage/typeorm-state-store.js';
import { identityStoreContract } from '../../support/identity/identity-store-contract.js';
import { InMemoryStateStore } from '../../support/in-memory-state-store.js';
import { testCipher } from '../../support/identity/test-cipher.js';

identityStoreContract('StateIdentityStore (in-memory state)', async () => new StateIdentityStore(new InMemoryStateStore(), testCipher()));

test('StateIdentityStore persists identities in SQLite across reopen', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgeport-ids-'));
  const path = join(dir, 'edgeport.db');
  const cipher = testCipher();
  try {
    const ds1 = createDataSource({ kind: 'sqlite', path });
    const state1 = new TypeormStateStore(ds1);
    await state1.open();
    await new StateIdentityStore(state1, cipher).put(parseIdentity('edge1/A'), { primaryKey: 'cHJpbWFyeQ==', secondaryKey: 'c2Vjb25kYXJ5', status: 'disabled' });
    await ds1.destroy();
    const ds2 = createDataSource({ kind: 'sqlite', path });
    const state2 = new TypeormStateStore(ds2);
    await state2.open();
    const store = new StateIdentityStore(state2, cipher);
    assert.deepEqual(await store.get(parseIdentity('edge1/A')), { primaryKey: 'cHJpbWFyeQ==', secondaryKey: 'c2Vjb25kYXJ5', status: 'disabled' });
    assert.deepEqual((await store.list()).map((r) => r.identity), [parseIdentity('edge1/A')]);
    await ds2.destroy();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('StateIdentityStore.open: plain-text documents are encrypted (status kept), the store scrubbed, every identity still reads', async () => {
  const state = new InMemoryStateStore();
  await state.put('identities', 'leaf1', { primaryKey: 'cHJpbWFyeQ==', secondaryKey: 'c2Vjb25kYXJ5' });
  await state.put('identities', 'edge1/m', { primaryKey: 'bW9k', secondaryKey: 'bW9kMg==', status: 'disabled' });
  const store = new StateIdentityStore(state, testCipher());
  assert.deepEqual(await store.open(), { encrypted: 2, alreadyEncrypted: 0 });
  assert.equal(state.scrubs, 1);
  for (const { value } of await state.list('identities')) {
    assert.doesNotMatch(JSON.stringify(value), /cHJpbWFyeQ|c2Vjb25kYXJ5|bW9k/);
  }
  const stored = (await state.get('identities', 'edge1/m')) as { keys: string; status: string };
  assert.deepEqual(Object.keys(stored).sort(), ['keys', 'status']);
  assert.match(stored.keys, /^edgeport-sealed:v1:/);
  assert.equal(stored.status, 'disabled');
  assert.deepEqual(await store.get(parseIdentity('leaf1')), { primaryKey: 'cHJpbWFyeQ==', secondaryKey: 'c2Vjb25kYXJ5' });
  assert.deepEqual(await store.get(parseIdentity('edge1/m')), { primaryKey: 'bW9k', secondaryKey: 'bW9kMg==', status: 'disabled' });
  assert.deepEqual(await store.open(), { encrypted: 2, alreadyEncrypted: 0 }, 'open is idempotent');
  assert.equal(state.scrubs, 1);
});

test('StateIdentityStore.open: documents sealed with another key stop it with a message naming the key file; no new key is created', async () => {
  const state = new InMemoryStateStore();
  await new StateIdentityStore(state, testCipher()).put(parseIdentity('leaf1'), { primaryKey: 'cHJpbWFyeQ==', secondaryKey: 'c2Vjb25kYXJ5' });
  await assert.rejects(new StateIdentityStore(state, testCipher()).get(parseIdentity('leaf1')), (e: unknown) => e instanceof SecretCipherError && e.code === 'SECRET_KEY_MISMATCH' && /1 stored identity cannot be decrypted with the master key \(in memory\) \(secrets\.keyFile\): restore the key file/.test(e.message));
  let allowCreate: boolean | undefined;
  const lostKey = testCipher();
  lostKey.open = async (options) => {
    allowCreate = options.allowCreate;
    throw new SecretCipherError('SECRET_KEY_MISSING', 'missing');
  };
  await assert.rejects(new StateIdentityStore(state, lostKey).list(), /missing/);
  assert.equal(allowCreate, false, 'a key is only created while nothing is sealed');
});
