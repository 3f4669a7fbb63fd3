import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeliveryError } from '../../../application/ports/endpoint-delivery.js';
import { RuntimeInfo, RuntimeReadModel } from '../../../application/observe/runtime-read-model.js';
import { InMemoryMessageStore } from '../../../adapters/storage/in-memory-message-store.js';
import { FakeClock } from '../../support/fake-clock.js';
import { SENSOR, buildPipeline, eventually, telemetry } from '../../support/pipeline-harness.js';

function setup() {
  const store = new InMemoryMessageStore();
  const clock = new FakeClock();
  const p = buildPipeline({
    store,
    clock,
    routes: {
      toB: 'FROM /messages/modules/sensor/outputs/* INTO BrokeredEndpoint("/modules/b/inputs/in")',
      up: { route: 'FROM /messages/* INTO $upstream', priority: 1, timeToLiveSecs: 60 },
    },
  });
  const info = new RuntimeInfo('edge1', '9.9.9', { hub: true, agent: false });
  const model = new RuntimeReadModel(clock, p.metrics, info, undefined, undefined, p.routes, store, p.pipelineMetrics);
  return { store, clock, p, model };
}

test('routes and queues: totals, rates over the sampled history, depth, oldest entry, priority names', async () => {
  const { store, clock, p, model } = setup();
  p.delivery.setAvailable('$upstream', false);
  await p.pumps.start();
  await model.start();
  try {
    await Promise.all(Array.from({ length: 10 }, (_, i) => p.ingest.ingest(telemetry(i), SENSOR)));
    await eventually(() => p.delivery.ids('b/in').length === 10, 10_000, '10 delivered to b/in');
    clock.advance(1000);
    await Promise.all(Array.from({ length: 20 }, (_, i) => p.ingest.ingest(telemetry(10 + i), SENSOR)));
    await eventually(() => p.delivery.ids('b/in').length === 30, 10_000, '30 delivered to b/in');
    await eventually(() => store.queues().find((q) => q.endpointId === 'b/in')?.length === 0, 10_000, 'b/in checkpointed');
    clock.advance(1000);

    const routes = model.routes();
    assert.deepEqual(
      routes.map((r) => [r.name, r.priority, r.timeToLiveSecs, r.total, r.perSecond, r.history]),
      [
        ['toB', 'default', 0, 30, 15, [10, 20]],
        ['up', '1', 60, 30, 15, [10, 20]],
      ],
    );
    assert.match(routes[0]!.route, /^FROM \/messages\/modules\/sensor/);

    const queues = await model.queues();
    const b = queues.find((q) => q.endpoint === 'b/in')!;
    assert.deepEqual([b.priority, b.depth, b.inTotal, b.outTotal, b.inPerSecond, b.outPerSecond, b.oldestAgeMs], ['default', 0, 30, 30, 15, 15, undefined]);
    const up = queues.find((q) => q.endpoint === '$upstream')!;
    // The upstream is away: everything waits; the oldest entry came 2 s ago (fake clock).
    assert.deepEqual([up.priority, up.depth, up.inTotal, up.outTotal, up.outPerSecond, up.oldestAgeMs], ['1', 30, 30, 0, 0, 2000]);
    assert.equal(up.lastError, undefined);

    const status = await model.status();
    assert.equal(status.runtime.deviceId, 'edge1');
    assert.equal(status.runtime.version, '9.9.9');
    assert.equal(status.runtime.standalone, true);
    assert.deepEqual(status.modules, [], 'no agent here');
    assert.equal(status.deployment, undefined);
    assert.equal(status.queues.length, 2);
  } finally {
    await model.stop();
    await p.pumps.stop();
  }
});

test("a queue shows its endpoint's last delivery failure", async () => {
  const { clock, p, model } = setup();
  p.delivery.fail = (endpoint) => (endpoint.id === 'b/in' ? new DeliveryError('module b refused the message', false) : undefined);
  await p.pumps.start();
  await model.start();
  try {
    await p.ingest.ingest(telemetry(1), SENSOR);
    await eventually(() => (p.delivery.attempts.get('b/in') ?? 0) > 0, 10_000, 'a delivery attempt');
    await eventually(() => p.pipelineMetrics.lastFailure('b/in') !== undefined, 10_000, 'the failure recorded');
    const b = (await model.queues()).find((q) => q.endpoint === 'b/in')!;
    assert.deepEqual(b.lastError, { message: 'module b refused the message', at: clock.now() });
  } finally {
    await model.stop();
    await p.pumps.stop();
  }
});

test('twins and modules answer 503 without the hub or the agent', async () => {
  const { model } = setup();
  await assert.rejects(model.twin('edge1/b'), (error: { status?: number }) => error.status === 503);
  await assert.rejects(model.modules(), (error: { status?: number }) => error.status === 503);
});
