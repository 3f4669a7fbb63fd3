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
