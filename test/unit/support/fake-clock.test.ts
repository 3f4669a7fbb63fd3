import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../support/fake-clock.js';

test('fake clock fires timers in time order and honours cancel', () => {
  const clock = new FakeClock(1000);
  const fired: string[] = [];
  clock.schedule(50, () => fired.push('b'));
  clock.schedule(10, () => {
    fired.push('a');
    clock.schedule(5, () => fired.push('a2'));
  });
  const cancelled = clock.schedule(20, () => fired.push('never'));
  cancelled.cancel();
  clock.advance(30);
  assert.deepEqual(fired, ['a', 'a2']);
  assert.equal(clock.now(), 1030);
  clock.advance(20);
  assert.deepEqual(fired, ['a', 'a2', 'b']);
  assert.equal(clock.pendingCount, 0);
});
