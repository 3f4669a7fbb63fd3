import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextBatch, shiftExpired } from '../../../application/hub/queue-page.js';

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

test('shiftExpired: drops the expired head of a page (not expired entries behind a live one)', () => {
  const page = [5, 10, 50, 7].map((expiresAt, i) => ({ offset: i + 1, expiresAt }));
  assert.deepEqual(shiftExpired(page, 10), { count: 2, lastOffset: 2 });
  assert.deepEqual(page.map((e) => e.offset), [3, 4], 'entry 4 expired too, but only the head is dropped here');
  assert.deepEqual(shiftExpired(page, 10), { count: 0, lastOffset: 0 });
});

test('nextBatch stops before the entry that would pass maxBytes, but always takes one', () => {
  const page = [1, 2, 3, 4, 5].map((offset) => ({ offset, expiresAt: 100, size: offset === 1 ? 10 : 4 }));
  const size = (e: { size: number }): number => e.size;
  assert.deepEqual(nextBatch(page, 0, 10, 5, 18, size).map((e) => e.offset), [1, 2, 3], '10 + 4 + 4 = 18 fits, + 4 does not');
  assert.deepEqual(nextBatch(page, 0, 10, 5, 5, size).map((e) => e.offset), [1], 'an entry larger than the cap still goes alone');
  assert.deepEqual(nextBatch(page, 1, 2, 5, 100, size).map((e) => e.offset), [2, 3], 'the count cap still holds');
});
