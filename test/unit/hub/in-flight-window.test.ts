import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeliveryResult } from '../../../application/ports/endpoint-delivery.js';
import { InFlightWindow, nextBatch } from '../../../application/hub/in-flight-window.js';

function deferred(): { promise: Promise<DeliveryResult>; resolve: (r: DeliveryResult) => void } {
  let resolve!: (r: DeliveryResult) => void;
  const promise = new Promise<DeliveryResult>((r) => (resolve = r));
  return { promise, resolve };
}

test('in-flight window: holds at most `depth` batches and hands them back oldest first', () => {
  const window = new InFlightWindow<number>(2);
  assert.ok(window.isEmpty && window.hasRoom);
  window.add([1, 2], Promise.resolve({ delivered: 2 }));
  assert.equal(window.size, 1);
  assert.ok(window.hasRoom);
  window.add([3], Promise.resolve({ delivered: 1 }));
  assert.equal(window.hasRoom, false);
  assert.throws(() => window.add([4], Promise.resolve({ delivered: 1 })), /full \(2 batches\)/);
  assert.deepEqual(window.oldest().batch, [1, 2]);
  assert.deepEqual(window.shift().batch, [1, 2]);
  assert.deepEqual(window.shift().batch, [3]);
  assert.ok(window.isEmpty);
  assert.throws(() => window.shift(), /empty/);
  assert.throws(() => new InFlightWindow(0), RangeError);
});

test('in-flight window: abandon empties it and waits for every outcome it held', async () => {
  const window = new InFlightWindow<string>(3);
  const first = deferred();
  const second = deferred();
  window.add(['a'], first.promise);
  window.add(['b'], second.promise);
  let done = false;
  const abandoned = window.abandon().then(() => (done = true));
  assert.ok(window.isEmpty, 'emptied at once: nothing behind a failure is counted');
  first.resolve({ delivered: 1 });
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false, 'still waiting for the second outcome');
  second.resolve({ delivered: 0, error: new Error('x') });
  await abandoned;
  assert.equal(done, true);
});

test('nextBatch: up to `max` entries from `from`, ending before the first expired entry', () => {
  const page = [10, 20, 30, 40, 50].map((expiresAt, i) => ({ offset: i + 1, expiresAt }));
  assert.deepEqual(nextBatch(page, 0, 2, 5).map((e) => e.offset), [1, 2]);
  assert.deepEqual(nextBatch(page, 3, 10, 5).map((e) => e.offset), [4, 5]);
  assert.deepEqual(nextBatch(page, 5, 10, 5), []);
  // An expired entry ends the batch before it; from it, the batch is empty (the pump drops it from the head).
  const mixed = [100, 100, 30, 100].map((expiresAt, i) => ({ offset: i + 1, expiresAt }));
  assert.deepEqual(nextBatch(mixed, 0, 10, 50).map((e) => e.offset), [1, 2]);
  assert.deepEqual(nextBatch(mixed, 2, 10, 50), []);
  assert.deepEqual(nextBatch(mixed, 3, 10, 50).map((e) => e.offset), [4]);
  assert.deepEqual(nextBatch(mixed, 0, 10, 30).map((e) => e.offset), [1, 2], 'expiresAt <= now is expired');
});
