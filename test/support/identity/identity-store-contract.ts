import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIdentity } from '../../../domain/identity/identity.js';
import type { IdentityStore } from '../../../application/ports/identity-store.js';

/**
 * Behaviour every `IdentityStore` adapter must have. Register it from an adapter's test file:
 * `identityStoreContract('TypeormIdentityStore (sqlite)', async () => new TypeormIdentityStore(...))`.
 */
export function identityStoreContract(name: string, makeStore: () => Promise<IdentityStore>): void {
  const dev = parseIdentity('dev1');
  const mod = parseIdentity('dev1/mod1');
  const keys = { primaryKey: 'cHJpbWFyeQ==', secondaryKey: 'c2Vjb25kYXJ5' };

  test(`${name}: get of an unknown identity is undefined`, async () => {
    const store = await makeStore();
    assert.equal(await store.get(dev), undefined);
  });

  test(`${name}: devices and modules of the same device are distinct entries`, async () => {
    const store = await makeStore();
    await store.put(dev, keys);
    await store.put(mod, { ...keys, status: 'disabled' });
    assert.deepEqual(await store.get(dev), keys);
    assert.deepEqual(await store.get(mod), { ...keys, status: 'disabled' });
    assert.equal(await store.get(parseIdentity('dev1/mod2')), undefined);
    assert.equal(await store.get(parseIdentity('DEV1')), undefined, 'ids are case-sensitive');
  });

  test(`${name}: put replaces, remove deletes once, list returns everything`, async () => {
    const store = await makeStore();
    await store.put(dev, keys);
    await store.put(dev, { primaryKey: 'bmV3', secondaryKey: 'bmV3Mg==' });
    await store.put(mod, keys);
    assert.deepEqual(await store.get(dev), { primaryKey: 'bmV3', secondaryKey: 'bmV3Mg==' });
    const listed = (await store.list()).map((r) => r.identity).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    assert.deepEqual(listed, [dev, mod].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))));
    assert.equal(await store.remove(dev), true);
    assert.equal(await store.remove(dev), false);
    assert.equal(await store.get(dev), undefined);
    assert.deepEqual(await store.get(mod), keys);
  });
}
