import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coolOffMs, effectiveStatus, shouldRestart, runningLongEnough } from '../../../domain/modules/restart-policy.js';
import { exited, running } from '../../support/agent/specs.js';

test('cool-off follows Azure table: 10 s * 2^restarts capped at 300 s', () => {
  const table: Array<[number, number]> = [[0, 10], [1, 20], [2, 40], [3, 80], [4, 160], [5, 300], [6, 300], [10, 300], [20, 300], [1000, 300]];
  for (const [restarts, seconds] of table) assert.equal(coolOffMs(restarts), seconds * 1000, `restartCount ${restarts}`);
});

test('effective status: backoff while restarts remain, failed after 20, per policy', () => {
  assert.equal(effectiveStatus('running', 'failed', 'always', 0), 'backoff');
  assert.equal(effectiveStatus('running', 'stopped', 'always', 3), 'backoff');
  assert.equal(effectiveStatus('running', 'failed', 'always', 19), 'backoff');
  assert.equal(effectiveStatus('running', 'failed', 'always', 20), 'failed');
  assert.equal(effectiveStatus('running', 'failed', 'on-failure', 0), 'backoff');
  assert.equal(effectiveStatus('running', 'stopped', 'on-failure', 0), 'stopped');
  assert.equal(effectiveStatus('running', 'unhealthy', 'on-failure', 0), 'unhealthy');
  assert.equal(effectiveStatus('running', 'unhealthy', 'on-unhealthy', 0), 'backoff');
  assert.equal(effectiveStatus('running', 'failed', 'on-unhealthy', 0), 'backoff');
  assert.equal(effectiveStatus('running', 'failed', 'never', 0), 'failed');
  assert.equal(effectiveStatus('running', 'running', 'always', 5), 'running');
  assert.equal(effectiveStatus('running', 'dead', 'always', 0), 'dead');
  assert.equal(effectiveStatus('stopped', 'failed', 'always', 0), 'failed', 'desired stopped: no policy');
});

test('shouldRestart waits for the cool-off measured from the exit time', () => {
  const exit = 1_000_000;
  const state = exited(1, exit - 5000, exit);
  assert.equal(shouldRestart(state, 0, exit + 9_999), false);
  assert.equal(shouldRestart(state, 0, exit + 10_000), true);
  assert.equal(shouldRestart(state, 2, exit + 39_999), false);
  assert.equal(shouldRestart(state, 2, exit + 40_000), true);
  assert.equal(shouldRestart(state, 0, exit - 1), true, 'clock went backwards: restart at once (Azure)');
});

test('running longer than 10 minutes counts as healthy', () => {
  assert.equal(runningLongEnough(running(0), 10 * 60_000), false);
  assert.equal(runningLongEnough(running(0), 10 * 60_000 + 1), true);
});
