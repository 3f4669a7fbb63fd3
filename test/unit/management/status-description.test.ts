import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeModuleStatus, humanDuration } from '../../../domain/modules/status-description.js';
import { parseLogTime } from '../../../domain/modules/log-time.js';

const NOW = Date.UTC(2026, 10, 26, 9, 0, 0);
const S = 1000;
const M = 60 * S;

test('humanDuration: rough units as iotedge list prints them', () => {
  assert.equal(humanDuration(400), 'less than a second');
  assert.equal(humanDuration(1 * S), '1 second');
  assert.equal(humanDuration(10 * S + 900), '10 seconds');
  assert.equal(humanDuration(59 * S), '59 seconds');
  assert.equal(humanDuration(60 * S), 'a minute');
  assert.equal(humanDuration(3 * M + 59 * S), '3 minutes');
  assert.equal(humanDuration(60 * M), 'an hour');
  assert.equal(humanDuration(3 * 60 * M), '3 hours');
  assert.equal(humanDuration(24 * 60 * M), 'a day');
  assert.equal(humanDuration(3 * 24 * 60 * M), '3 days');
  assert.equal(humanDuration(14 * 24 * 60 * M), '2 weeks');
  assert.equal(humanDuration(-5), 'less than a second');
});

test('describeModuleStatus: Azure-style descriptions', () => {
  assert.equal(describeModuleStatus({ status: 'running', exitCode: 0, startedAt: NOW - 3 * M }, NOW), 'Up 3 minutes');
  assert.equal(describeModuleStatus({ status: 'running', exitCode: 0, startedAt: NOW - 3 * 60 * M }, NOW), 'Up 3 hours');
  assert.equal(describeModuleStatus({ status: 'running', exitCode: 0 }, NOW), 'Up');
  assert.equal(describeModuleStatus({ status: 'failed', exitCode: 139, startedAt: NOW - M, exitedAt: NOW - 10 * S }, NOW), 'Failed (139) 10 seconds ago');
  assert.equal(describeModuleStatus({ status: 'failed', exitCode: 1 }, NOW), 'Failed (1)');
  assert.equal(describeModuleStatus({ status: 'backoff', exitCode: 1, exitedAt: NOW - 10 * S, restartAt: NOW + 40 * S }, NOW), 'Backoff, restart in 40 s');
  assert.equal(describeModuleStatus({ status: 'backoff', exitCode: 1, restartAt: NOW + 39_001 }, NOW), 'Backoff, restart in 40 s');
  assert.equal(describeModuleStatus({ status: 'backoff', exitCode: 1, restartAt: NOW - 5 }, NOW), 'Backoff, restart due');
  assert.equal(describeModuleStatus({ status: 'backoff', exitCode: 1 }, NOW), 'Backoff');
  assert.equal(describeModuleStatus({ status: 'stopped', exitCode: 0 }, NOW), 'Stopped');
  assert.equal(describeModuleStatus({ status: 'stopped', exitCode: 0, exitedAt: NOW - 2 * M }, NOW), 'Stopped 2 minutes ago');
  assert.equal(describeModuleStatus({ status: 'unhealthy', exitCode: 0, startedAt: NOW - 5 * M }, NOW), 'Up 5 minutes (unhealthy)');
  assert.equal(describeModuleStatus({ status: 'dead', exitCode: 0 }, NOW), 'Dead');
  assert.equal(describeModuleStatus({ status: 'unknown', exitCode: 0 }, NOW), 'Unknown');
});

test('--since: durations like 10m, RFC 3339 times with zones, Unix seconds; anything else is refused', () => {
  assert.equal(parseLogTime('10m', NOW), NOW - 10 * M);
  assert.equal(parseLogTime('1h30m', NOW), NOW - 90 * M);
  assert.equal(parseLogTime('1 day', NOW), NOW - 24 * 60 * M);
  assert.equal(parseLogTime('2026-11-26T08:00:00Z', NOW), NOW - 60 * M);
  assert.equal(parseLogTime('2026-11-26T09:00:00+01:00', NOW), NOW - 60 * M);
  assert.equal(parseLogTime('2026-11-26T08:59:30.500Z', NOW), NOW - 29_500);
  assert.equal(parseLogTime('1795683600', NOW), NOW);
  assert.equal(parseLogTime('yesterday', NOW), undefined);
  assert.equal(parseLogTime('10 parsecs', NOW), undefined);
  assert.equal(parseLogTime('2026-13-45T99:00:00Z', NOW), undefined);
});
