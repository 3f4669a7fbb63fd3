import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIdentity } from '../../../domain/identity/identity.js';
import { AuthenticateClient } from '../../../application/hub/authenticate-client.js';
import { DeviceScopeParents } from '../../../application/hub/device-scope-parents.js';
import { HubIdentity } from '../../../application/hub/hub-identity.js';
import type { IdentityRecord } from '../../../application/ports/identity-store.js';
import { NestedDeviceScope, NestedScopeError } from '../../../application/upstream/nested-device-scope.js';
import { NodeSasSigner } from '../../../adapters/crypto/node-crypto.js';
import { InMemoryIdentityStore } from '../../../adapters/identity/in-memory-identity-store.js';
import { FakeClock } from '../../support/fake-clock.js';
import { sdkDeviceToken } from '../../support/identity/sdk-sas-token.js';
import { InMemoryStateStore } from '../../support/in-memory-state-store.js';
import { SilentLogger } from '../../support/pipeline-harness.js';
import { FakeUpstream } from '../../support/upstream/fake-upstream.js';

const HUB = 'myhub.azure-devices.net';
const NOW_MS = 1_795_670_000_000;
const key = (text: string): string => Buffer.from(text.padEnd(32, '.')).toString('base64');
const CHILD = key('child-key');
const LEAF = key('leaf-key');
const OTHER = key('someone-else');
/** Every identity's secondary key here: never used to sign. */
const SECONDARY = key('secondary');

function token(identity: string, signingKey: string): string {
  const id = parseIdentity(identity);
  return sdkDeviceToken({ host: HUB, deviceId: id.deviceId, ...(id.kind === 'module' ? { moduleId: id.moduleId } : {}), key: signingKey, expiry: Math.floor(NOW_MS / 1000) + 3600 });
}

function record(id: string, primaryKey: string, status?: 'disabled'): IdentityRecord {
  return { identity: parseIdentity(id), credentials: { primaryKey, secondaryKey: SECONDARY, ...(status !== undefined ? { status } : {}) } };
}

/** A parent edge hub (`parent1`) whose own scope holds the child edge device `child1`. */
async function parentHub() {
  const identities = new InMemoryIdentityStore();
  await identities.put(parseIdentity('child1'), { primaryKey: CHILD, secondaryKey: SECONDARY });
  const state = new InMemoryStateStore();
  const parents = new DeviceScopeParents(state);
  const auth = new AuthenticateClient(identities, new NodeSasSigner(), new FakeClock(NOW_MS), parents);
  const upstream = new FakeUpstream();
  upstream.targetScopes.set('child1', [record('child1/$edgeAgent', key('agent')), record('leaf1', LEAF), record('leaf2', key('leaf2'), 'disabled')]);
  const scope = new NestedDeviceScope(upstream, auth, new HubIdentity('parent1', HUB), identities, state, parents, new SilentLogger());
  const login = async (identity: string, signingKey: string) => (await auth.execute({ identity: parseIdentity(identity), token: token(identity, signingKey), iotHubHostName: HUB })).ok;
  return { identities, state, parents, auth, upstream, scope, login };
}

test('nested scope: the child edge device authenticates with its own token; other keys and identities are refused with 401', async () => {
  const { scope } = await parentHub();
  assert.deepEqual(await scope.authorize('child1', token('child1', CHILD)), parseIdentity('child1'));
  for (const [device, bearer] of [['child1', token('child1', OTHER)], ['child1', token('leaf1', LEAF)], ['child1', undefined], ['nobody', token('nobody', CHILD)]] as const) {
    await assert.rejects(scope.authorize(device, bearer), (error: unknown) => error instanceof NestedScopeError && error.status === 401 && !error.message.includes('sig='));
  }
});

test('nested scope: the child\'s scope is fetched on its behalf and cached; its devices authenticate with their keys or the child\'s (on behalf of), also offline', async () => {
  const { upstream, scope, login, parents } = await parentHub();
  // Before the child's scope is known, the leaf is unknown here.
  assert.equal(await login('leaf1', LEAF), false);
  assert.equal(await login('leaf1', CHILD), false);
  upstream.setConnected(true);
  const online = await scope.scopeOf('child1');
  assert.deepEqual(online.map((r) => r.identity), [parseIdentity('child1/$edgeAgent'), parseIdentity('leaf1'), parseIdentity('leaf2')]);
  assert.equal(await parents.parentOf('leaf1'), 'child1');
  assert.equal(await login('leaf1', LEAF), true, 'own key');
  assert.equal(await login('leaf1', CHILD), true, 'the child edge device signs for the leaf of its scope');
  assert.equal(await login('child1/$edgeAgent', CHILD), true, 'the child device signs for its modules');
  assert.equal(await login('child1/anyModule', CHILD), true, 'modules the child created locally too');
  assert.equal(await login('leaf2', CHILD), false, 'a disabled leaf stays refused whoever signs');
  assert.equal(await login('leaf1', OTHER), false);
  assert.equal(await login('stranger', CHILD), false, 'the child does not sign for devices outside its scope');

  // The cloud goes away: the cached scope is served and the leaf still authenticates.
  upstream.setConnected(false);
  const offline = await scope.scopeOf('child1');
  assert.deepEqual(offline.map((r) => r.identity).sort((a, b) => a.deviceId.localeCompare(b.deviceId)), online.map((r) => r.identity).sort((a, b) => a.deviceId.localeCompare(b.deviceId)));
  assert.equal(offline.find((r) => r.identity.deviceId === 'leaf1')?.credentials.primaryKey, LEAF);
  assert.equal(await login('leaf1', CHILD), true);

  // The cloud drops leaf1 from the child's scope: its key and its link to the child go.
  upstream.setConnected(true);
  upstream.targetScopes.set('child1', [record('child1/$edgeAgent', key('agent'))]);
  await scope.scopeOf('child1');
  assert.equal(await parents.parentOf('leaf1'), undefined);
  assert.equal(await login('leaf1', LEAF), false);
  assert.equal(await login('leaf1', CHILD), false);
});

test('nested scope: a refusal of the cloud is passed on with its status; module identities are created while connected and 503 while not', async () => {
  const { upstream, scope } = await parentHub();
  upstream.setConnected(true);
  await assert.rejects(scope.scopeOf('leafNotEdge'), (error: unknown) => error instanceof NestedScopeError && error.status === 403);
  await scope.createModule('child1', 'counter');
  assert.deepEqual(upstream.targetModules, ['child1/counter']);
  upstream.setConnected(false);
  await assert.rejects(scope.createModule('child1', 'other'), (error: unknown) => error instanceof NestedScopeError && error.status === 503);
});

test('nested scope, deeper: a child that is itself a parent gets the scope of an edge device below it, and of no other', async () => {
  const { upstream, scope } = await parentHub();
  upstream.setConnected(true);
  upstream.targetScopes.set('child1', [record('grandchild1', key('grandchild'))]);
  upstream.targetScopes.set('grandchild1', [record('grandchild1/$edgeAgent', key('gc-agent')), record('leaf9', key('leaf9'))]);
  upstream.targetScopes.set('sibling1', [record('leaf7', key('leaf7'))]);
  await assert.rejects(scope.targetScopeOf('child1', 'grandchild1'), (error: unknown) => error instanceof NestedScopeError && error.status === 403, 'unknown before child1\'s scope is cached');
  await scope.scopeOf('child1');
  assert.deepEqual((await scope.targetScopeOf('child1', 'grandchild1')).map((r) => r.identity.deviceId), ['grandchild1', 'leaf9']);
  await assert.rejects(scope.targetScopeOf('child1', 'sibling1'), (error: unknown) => error instanceof NestedScopeError && error.status === 403);
  await assert.rejects(scope.targetScopeOf('grandchild1', 'child1'), (error: unknown) => error instanceof NestedScopeError && error.status === 403);
});
