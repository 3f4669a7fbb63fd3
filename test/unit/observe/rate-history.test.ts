import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HISTORY_SAMPLES, RateHistory } from '../../../application/observe/rate-history.js';

const totals = (n: number) => new Map([['k', n]]);

test('rates are per second over the last 5 s of samples; history has one rate per sample interval', () => {
  const h = new RateHistory();
  assert.equal(h.rate('k'), 0, 'no sample yet');
  h.add(0, totals(0));
  assert.equal(h.rate('k'), 0, 'one sample is no rate');
  for (let s = 1; s <= 10; s++) h.add(s * 1000, totals(s * s));
  // Last 5 s: from 25 (t=5 s) to 100 (t=10 s).
  assert.equal(h.rate('k'), 15);
  assert.equal(h.total('k'), 100);
  assert.equal(h.total('absent'), 0);
  assert.deepEqual(h.series('k'), [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
});

test('a counter that went down (reset) gives 0, never a negative rate; old samples fall out', () => {
  const h = new RateHistory();
  h.add(0, totals(50));
  h.add(1000, totals(10));
  assert.equal(h.rate('k'), 0);
  assert.deepEqual(h.series('k'), [0]);
  h.add(1000, totals(99));
  assert.equal(h.total('k'), 10, 'a sample not after the last one is ignored');
  for (let s = 2; s < 200; s++) h.add(s * 1000, totals(s));
  assert.equal(h.series('k').length, HISTORY_SAMPLES - 1);
});
