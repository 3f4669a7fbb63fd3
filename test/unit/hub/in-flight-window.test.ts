import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeliveryResult } from '../../../application/ports/endpoint-delivery.js';
import { InFlightWindow } from '../../../application/hub/in-flight-window.js';

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
  assert.throws(() => window.add([4], Promise.resolve({ delivered: 1 })), /full \(2 batches, 3 entries\)/);
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

test('small batches may go beyond depth while their entries stay under maxEntries, up to maxBatches', () => {
  const settled = Promise.resolve({ delivered: 1 });
  const window = new InFlightWindow<number>(2, 10, 4);
  window.add([1], settled);
  window.add([2], settled);
  assert.equal(window.hasRoom, true, '2 entries of 10: a third small batch may go');
  window.add([3], settled);
  window.add([4], settled);
  assert.equal(window.hasRoom, false, 'maxBatches reached');
  window.shift();
  assert.equal(window.hasRoom, true);
  const full = new InFlightWindow<number>(2, 10, 4);
  full.add([1, 2, 3, 4, 5], settled);
  full.add([6, 7, 8, 9, 10], settled);
  assert.equal(full.hasRoom, false, 'two full batches: no third, as with depth alone');
  full.shift();
  assert.equal(full.hasRoom, true);
});
