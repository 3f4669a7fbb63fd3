import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoint } from '../../../domain/routing/index.js';
import type { Message } from '../../../domain/messages/message.js';
import type { DeliveryResult } from '../../../application/ports/endpoint-delivery.js';
import { PipelineOptions } from '../../../application/hub/pipeline-options.js';
import { InMemoryMessageStore } from '../../../adapters/storage/in-memory-message-store.js';
import { FakeClock } from '../../support/fake-clock.js';
import { RecordingDelivery, SENSOR, buildPipeline, eventually, settle, telemetry } from '../../support/pipeline-harness.js';

/** Each delivery waits until `release` (one round trip to the cloud per release). */
class HeldDelivery extends RecordingDelivery {
  readonly batches: number[] = [];
  private gates: Array<() => void> = [];

  override async deliver(endpoint: Endpoint, messages: readonly Message[]): Promise<DeliveryResult> {
    this.batches.push(messages.length);
    await new Promise<void>((resolve) => this.gates.push(resolve));
    return await super.deliver(endpoint, messages);
  }

  get held(): number {
    return this.gates.length;
  }

  release(): void {
    const gates = this.gates;
    this.gates = [];
    for (const open of gates) open();
  }
}

test('the default upstream batch takes everything the pump may hold in memory, so a free slot empties the page', () => {
  const options = new PipelineOptions();
  assert.ok(options.upstreamBatchSize! >= options.readPageSize + options.maxWriteBatch, `upstreamBatchSize ${String(options.upstreamBatchSize)}`);
});

test('$upstream with the default options: a flood of 1 200 messages per round trip stays in memory (nothing read back from the store), in order', async () => {
  const store = new InMemoryMessageStore();
  let reads = 0;
  const read = store.read.bind(store);
  store.read = async (queue, after, limit) => {
    reads++;
    return await read(queue, after, limit);
  };
  const delivery = new HeldDelivery();
  const p = buildPipeline({ store, clock: new FakeClock(), routes: { up: 'FROM /messages/* INTO $upstream' }, delivery });
  await p.pumps.start();
  let next = 0;
  const ingest = async (count: number): Promise<void> => {
    await Promise.all(Array.from({ length: count }, () => p.ingest.ingest(telemetry(next++), SENSOR)));
  };
  await ingest(1);
  await eventually(() => delivery.held === 1, 5_000, 'the first batch in flight');
  const readsAtStart = reads;
  // Each round trip 1 200 more arrive (more than two batches of 500 carry).
  for (let round = 0; round < 8; round++) {
    await ingest(1200);
    await settle();
    delivery.release();
    await settle();
  }
  while (p.delivery.ids('$upstream').length < next) {
    delivery.release();
    await settle();
  }
  assert.deepEqual(p.delivery.ids('$upstream'), Array.from({ length: next }, (_, i) => String(i)));
  assert.equal(reads - readsAtStart, 0, `the pump read the store ${reads - readsAtStart} times (batches ${delivery.batches.join(', ')})`);
  await p.pumps.stop();
});
