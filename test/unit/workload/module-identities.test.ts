import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { ModuleIdentities, WorkloadSettings, GENERATIONS_NAMESPACE } from '../../../application/workload/module-identities.js';
import { NodeWorkloadCrypto } from '../../../adapters/crypto/node-workload-crypto.js';
import { InMemoryIdentityStore } from '../../../adapters/identity/in-memory-identity-store.js';
import { InMemoryStateStore } from '../../support/in-memory-state-store.js';
import { MemoryLogger } from '../../support/agent/memory-logger.js';

const MOD = (moduleId: string) => ({ kind: 'module' as const, deviceId: 'dev1', moduleId });

function setup() {
  const identities = new InMemoryIdentityStore();
  const state = new InMemoryStateStore();
  const service = new ModuleIdentities(identities, state, new NodeWorkloadCrypto(), new WorkloadSettings('dev1', 'unix:///run/edgeport/workload.sock'), new MemoryLogger());
  return { identities, state, service };
}

test('provision creates <device>/<module> with two random 32-byte keys and a generation id; again keeps both', async () => {
  const { identities, service } = setup();
  const first = await service.provision('filter');
  assert.equal(first.workloadUri, 'unix:///run/edgeport/workload.sock');
  assert.match(first.generationId, /^[0-9a-f]{32}$/);
  const credentials = await identities.get(MOD('filter'));
  assert.ok(credentials !== undefined);
  assert.equal(Buffer.from(credentials.primaryKey, 'base64').length, 32);
  assert.notEqual(credentials.primaryKey, credentials.secondaryKey);
  const second = await service.provision('filter');
  assert.equal(second.generationId, first.generationId);
  assert.deepEqual(await identities.get(MOD('filter')), credentials);
});

test('provision keeps keys registered beforehand (edgeport identity add) and adds a generation id', async () => {
  const { identities, service } = setup();
  await identities.put(MOD('filter'), { primaryKey: 'AAAA', secondaryKey: 'BBBB' });
  const { generationId } = await service.provision('filter');
  assert.ok(generationId.length > 0);
  assert.deepEqual(await identities.get(MOD('filter')), { primaryKey: 'AAAA', secondaryKey: 'BBBB' });
});

test('deprovision removes identity and generation; provisioning again yields new keys and a new generation id', async () => {
  const { identities, state, service } = setup();
  const first = await service.provision('filter');
  const keys = await identities.get(MOD('filter'));
  await service.deprovision('filter');
  assert.equal(await identities.get(MOD('filter')), undefined);
  assert.equal(await state.get(GENERATIONS_NAMESPACE, 'filter'), undefined);
  const again = await service.provision('filter');
  assert.notEqual(again.generationId, first.generationId);
  assert.notDeepEqual(await identities.get(MOD('filter')), keys);
});

test('an identity removed behind the agent\'s back is re-created with a new generation id', async () => {
  const { identities, service } = setup();
  const first = await service.provision('filter');
  await identities.remove(MOD('filter'));
  const again = await service.provision('filter');
  assert.notEqual(again.generationId, first.generationId);
  assert.ok((await identities.get(MOD('filter'))) !== undefined);
});

test('sign: HMAC-SHA256 of the decoded bytes with the primary (or secondary) key, as the SDK wire example', async () => {
  const { identities, service } = setup();
  const { generationId } = await service.provision('mod1');
  const credentials = (await identities.get(MOD('mod1')))!;
  // iot-sdk-protocol.md §2 wire capture: "myhub.azure-devices.net%2Fdevices%2Fdev1%2Fmodules%2Fmod1\n1795677069".
  const data = 'bXlodWIuYXp1cmUtZGV2aWNlcy5uZXQlMkZkZXZpY2VzJTJGZGV2MSUyRm1vZHVsZXMlMkZtb2QxCjE3OTU2NzcwNjk=';
  const expected = createHmac('sha256', Buffer.from(credentials.primaryKey, 'base64')).update('myhub.azure-devices.net%2Fdevices%2Fdev1%2Fmodules%2Fmod1\n1795677069').digest('base64');
  assert.deepEqual(await service.sign('mod1', generationId, { keyId: 'primary', algo: 'HMACSHA256', data }), { ok: true, digest: expected });
  const secondary = createHmac('sha256', Buffer.from(credentials.secondaryKey, 'base64')).update(Buffer.from(data, 'base64')).digest('base64');
  assert.deepEqual(await service.sign('mod1', generationId, { keyId: 'secondary', algo: 'HMACSHA256', data }), { ok: true, digest: secondary });
  // Arbitrary bytes (not UTF-8) are signed as bytes.
  const binary = Buffer.from([0xff, 0x00, 0xfe]).toString('base64');
  const binaryDigest = createHmac('sha256', Buffer.from(credentials.primaryKey, 'base64')).update(Buffer.from([0xff, 0x00, 0xfe])).digest('base64');
  assert.deepEqual(await service.sign('mod1', generationId, { keyId: 'primary', algo: 'HMACSHA256', data: binary }), { ok: true, digest: binaryDigest });
});

test('sign: 404 for an unknown module, a wrong or old generation id, a disabled identity; 400 for bad requests', async () => {
  const { identities, service } = setup();
  const { generationId } = await service.provision('mod1');
  const ok = { keyId: 'primary', algo: 'HMACSHA256', data: 'YWJj' };
  assert.equal((await service.sign('nope', generationId, ok) as { status: number }).status, 404);
  assert.equal((await service.sign('mod1', 'other', ok) as { status: number }).status, 404);
  assert.equal((await service.sign('a/b', generationId, ok) as { status: number }).status, 404);
  assert.equal((await service.sign('mod1', generationId, { ...ok, algo: 'HMACSHA1' }) as { status: number }).status, 400);
  assert.equal((await service.sign('mod1', generationId, { ...ok, keyId: 'tertiary' }) as { status: number }).status, 400);
  assert.equal((await service.sign('mod1', generationId, { ...ok, data: 'not base64!' }) as { status: number }).status, 400);
  assert.equal((await service.sign('mod1', generationId, { ...ok, data: 42 }) as { status: number }).status, 400);
  await service.deprovision('mod1');
  const fresh = await service.provision('mod1');
  assert.equal((await service.sign('mod1', generationId, ok) as { status: number }).status, 404, 'the old generation id no longer signs');
  assert.equal((await service.sign('mod1', fresh.generationId, ok)).ok, true);
  const credentials = (await identities.get(MOD('mod1')))!;
  await identities.put(MOD('mod1'), { ...credentials, status: 'disabled' });
  assert.equal((await service.sign('mod1', fresh.generationId, ok) as { status: number }).status, 404);
});

test('opt-in legacy: provision also returns EdgeHubConnectionString with the primary key and the CA file', async () => {
  const identities = new InMemoryIdentityStore();
  const settings = new WorkloadSettings('dev1', 'unix:///w.sock', { iotHubHostname: 'hub.example', gatewayHostname: 'gw:8883', caCertPath: '/certs/ca.pem' });
  const service = new ModuleIdentities(identities, new InMemoryStateStore(), new NodeWorkloadCrypto(), settings, new MemoryLogger());
  const result = await service.provision('filter');
  const key = (await identities.get(MOD('filter')))!.primaryKey;
  assert.deepEqual(result.env, {
    EdgeHubConnectionString: `HostName=hub.example;DeviceId=dev1;ModuleId=filter;SharedAccessKey=${key};GatewayHostName=gw:8883`,
    EdgeModuleCACertificateFile: '/certs/ca.pem',
  });
  assert.equal((await setup().service.provision('x')).env, undefined, 'off by default');
});
