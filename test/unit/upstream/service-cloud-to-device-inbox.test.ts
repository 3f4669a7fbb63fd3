import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIdentity } from '../../../domain/identity/identity.js';
import { ClientDirectory } from '../../../application/hub/client-directory.js';
import { CloudToDeviceOptions, CloudToDeviceService } from '../../../application/hub/cloud-to-device-service.js';
import { StateIdentityStore } from '../../../application/hub/state-identity-store.js';
import { UpstreamError } from '../../../application/ports/upstream.js';
import { ServiceCloudToDeviceInbox } from '../../../application/upstream/service-cloud-to-device-inbox.js';
import { FakeClock } from '../../support/fake-clock.js';
import { InMemoryStateStore } from '../../support/in-memory-state-store.js';
import { FixedRandom, SilentLogger } from '../../support/pipeline-harness.js';
import { testCipher } from '../../support/identity/test-cipher.js';

test('cloud C2D goes into the durable per-device queue with its properties; refusals map to permanent or transient upstream errors', async () => {
  const state = new InMemoryStateStore();
  const identities = new StateIdentityStore(state, testCipher());
  await identities.put(parseIdentity('leaf1'), { primaryKey: 'a2V5MQ==', secondaryKey: 'a2V5Mg==' });
  const clock = new FakeClock();
  const service = new CloudToDeviceService(state, new ClientDirectory(), identities, clock, new FixedRandom(), new CloudToDeviceOptions({ maxQueuedPerDevice: 1 }), new SilentLogger());
  const inbox = new ServiceCloudToDeviceInbox(service);
  const expiry = new Date(clock.now() + 60_000).toISOString();
  await inbox.enqueue(parseIdentity('leaf1'), {
    body: new TextEncoder().encode('hi'),
    properties: { k: 'v', 'iothub-ack': 'full' },
    systemProperties: { messageId: 'm1', correlationId: 'c1', contentType: 'text/plain', expiryTimeUtc: expiry },
  });
  const [queued] = await service.pending('leaf1');
  assert.equal(new TextDecoder().decode(queued!.body), 'hi');
  assert.equal(queued!.systemProperties['messageId'], 'm1');
  assert.equal(queued!.systemProperties['correlationId'], 'c1');
  assert.equal(queued!.systemProperties['contentType'], 'text/plain');
  assert.equal(queued!.properties['k'], 'v');

  await assert.rejects(inbox.enqueue(parseIdentity('leaf1'), { body: new Uint8Array(), properties: {}, systemProperties: {} }), (e: unknown) => e instanceof UpstreamError && e.transient, 'queue full: released, comes again');
  await assert.rejects(inbox.enqueue(parseIdentity('nobody'), { body: new Uint8Array(), properties: {}, systemProperties: {} }), (e: unknown) => e instanceof UpstreamError && !e.transient && e.status === 404, 'unknown device: rejected');
  await assert.rejects(inbox.enqueue(parseIdentity('leaf1/mod'), { body: new Uint8Array(), properties: {}, systemProperties: {} }), (e: unknown) => e instanceof UpstreamError && !e.transient);
});
