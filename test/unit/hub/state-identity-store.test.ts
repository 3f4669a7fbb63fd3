import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIdentity } from '../../../domain/identity/identity.js';
import { StateIdentityStore } from '../../../application/hub/state-identity-store.js';
import { createDataSource } from '../../../adapters/storage/create-data-source.js';
import { TypeormStateStore } from '../../../adapters/storage/typeorm-state-store.js';
import { identityStoreContract } from '../../support/identity/identity-store-contract.js';
import { InMemoryStateStore } from '../../support/in-memory-state-store.js';

identityStoreContract('StateIdentityStore (in-memory state)', async () => new StateIdentityStore(new InMemoryStateStore()));

test('StateIdentityStore persists identities in SQLite across reopen', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgeport-ids-'));
  const path = join(dir, 'edgeport.db');
  try {
    const ds1 = createDataSource({ kind: 'sqlite', path });
    const state1 = new TypeormStateStore(ds1);
    await state1.open();
    await new StateIdentityStore(state1).put(parseIdentity('edge1/A'), { primaryKey: 'cHJpbWFyeQ==', secondaryKey: 'c2Vjb25kYXJ5', status: 'disabled' });
    await ds1.destroy();
    const ds2 = createDataSource({ kind: 'sqlite', path });
    const state2 = new TypeormStateStore(ds2);
    await state2.open();
    const store = new StateIdentityStore(state2);
    assert.deepEqual(await store.get(parseIdentity('edge1/A')), { primaryKey: 'cHJpbWFyeQ==', secondaryKey: 'c2Vjb25kYXJ5', status: 'disabled' });
    assert.deepEqual((await store.list()).map((r) => r.identity), [parseIdentity('edge1/A')]);
    await ds2.destroy();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
