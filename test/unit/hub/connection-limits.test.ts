import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionAdmission } from '../../../application/hub/connection-admission.js';
import { ConnectionGuard, sourceOf } from '../../../application/hub/connection-guard.js';
import { ConnectionLimits } from '../../../application/hub/connection-limits.js';
import { LoginBackoff } from '../../../application/hub/login-backoff.js';
import { OTHER_SOURCES, RefusalLog } from '../../../application/hub/refusal-log.js';
import { FakeClock } from '../../support/fake-clock.js';
import { InMemoryMetrics } from '../../support/in-memory-metrics.js';
import { SilentLogger } from '../../support/pipeline-harness.js';

test('admission: total, per-source and pending limits; authentication frees a pending slot; close frees both', () => {
  const admission = new ConnectionAdmission(new ConnectionLimits({ maxConnections: 6, maxConnectionsPerSource: 3, maxPendingConnections: 4, maxPendingPerSource: 2 }));
  assert.equal(admission.admit('a'), undefined);
  assert.equal(admission.admit('a'), undefined);
  assert.equal(admission.admit('a'), 'too-many-pending-from-source');
  admission.authenticated('a');
  assert.equal(admission.admit('a'), undefined, 'a pending slot was freed by the authentication');
  assert.equal(admission.admit('a'), 'too-many-from-source', 'three open from a');
  assert.equal(admission.admit('b'), undefined);
  assert.equal(admission.admit('c'), undefined);
  assert.equal(admission.admit('d'), 'too-many-pending', 'four pending in total');
  admission.authenticated('b');
  assert.equal(admission.admit('d'), undefined);
  assert.equal(admission.admit('e'), 'too-many-connections', 'six open in total');
  assert.deepEqual(admission.counts(), { open: 6, pending: 4 });
  admission.closed('a', true);
  admission.closed('b', false);
  assert.deepEqual(admission.counts(), { open: 4, pending: 3 });
  assert.deepEqual(admission.counts('b'), { open: 0, pending: 0 });
  assert.equal(admission.admit('e'), undefined);
});

test('admission: 0 means no limit', () => {
  const admission = new ConnectionAdmission(new ConnectionLimits({ maxConnections: 0, maxConnectionsPerSource: 0, maxPendingConnections: 0, maxPendingPerSource: 0 }));
  for (let i = 0; i < 50_000; i++) assert.equal(admission.admit('a'), undefined);
  assert.deepEqual(admission.counts('a'), { open: 50_000, pending: 50_000 });
});

test('login back-off: free failures up to the threshold, then 1 s doubling to the maximum; a success or a quiet maximum resets', () => {
  const backoff = new LoginBackoff(new ConnectionLimits({ loginFailuresBeforeBackoff: 3, loginBackoffMaxMs: 8_000 }));
  let now = 1_000_000;
  assert.deepEqual(backoff.failed('a', now), { backoffMs: 0, failures: 1 });
  assert.deepEqual(backoff.failed('a', now), { backoffMs: 0, failures: 2 });
  assert.equal(backoff.blockedFor('a', now), 0);
  assert.deepEqual(backoff.failed('a', now), { backoffMs: 1_000, failures: 3 });
  assert.equal(backoff.blockedFor('a', now + 400), 600);
  assert.equal(backoff.blockedFor('b', now), 0, 'other sources are not affected');
  const seen = [2, 3, 4, 5].map(() => backoff.failed('a', (now += 1_000)).backoffMs);
  assert.deepEqual(seen, [2_000, 4_000, 8_000, 8_000]);
  backoff.succeeded('a');
  assert.equal(backoff.blockedFor('a', now), 0);
  assert.equal(backoff.failures('a', now), 0);
  for (let i = 0; i < 3; i++) backoff.failed('a', now);
  assert.equal(backoff.blockedFor('a', now), 1_000);
  // Quiet for the maximum after the block ended: forgotten.
  assert.equal(backoff.failures('a', now + 1_000 + 8_000), 3);
  assert.equal(backoff.failures('a', now + 1_000 + 8_001), 0);
  assert.deepEqual(backoff.failed('a', now + 1_000 + 8_001), { backoffMs: 0, failures: 1 });
});

test('refusal log: the first of each kind per source and interval is logged, the rest are summed when the interval ends', () => {
  const log = new RefusalLog(10_000);
  assert.equal(log.record('a', 'bad-signature', 0), true);
  assert.equal(log.record('a', 'bad-signature', 1), false);
  assert.equal(log.record('a', 'bad-signature', 2), false);
  assert.equal(log.record('a', 'too-many-pending', 3), true);
  assert.equal(log.record('b', 'bad-signature', 4_000), true);
  assert.equal(log.nextDue(), 10_000);
  assert.deepEqual(log.due(9_999), []);
  assert.deepEqual(log.due(10_000), [{ source: 'a', since: 0, counts: { 'bad-signature': 2 }, total: 2 }]);
  assert.equal(log.nextDue(), 14_000);
  assert.deepEqual(log.due(14_000), [], 'b had nothing suppressed: no summary');
  assert.equal(log.nextDue(), undefined);
  assert.equal(log.record('a', 'bad-signature', 20_000), true, 'a new interval logs its first refusal again');
});

test('refusal log: sources beyond the tracked maximum share one summary', () => {
  const log = new RefusalLog(1_000);
  for (let i = 0; i < 10_000; i++) log.record(`10.0.${i >> 8}.${i & 255}`, 'x', 0);
  assert.equal(log.record('192.0.2.1', 'x', 0), true);
  assert.equal(log.record('192.0.2.2', 'x', 0), false, 'counted under other sources');
  const other = log.due(1_000).find((s) => s.source === OTHER_SOURCES);
  assert.deepEqual(other?.counts, { x: 1 });
});

test('sourceOf writes IPv4-mapped IPv6 addresses as IPv4', () => {
  assert.equal(sourceOf('::ffff:127.0.0.2'), '127.0.0.2');
  assert.equal(sourceOf('::1'), '::1');
  assert.equal(sourceOf('fe80::ffff:1'), 'fe80::ffff:1');
});

class FakeSocket {
  destroyed = false;
  private onClose: (() => void) | undefined;
  constructor(readonly remoteAddress: string | undefined, readonly remotePort: number, readonly localPort = 8883) {}
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.onClose?.();
  }
  once(_event: 'close', listener: () => void): this {
    this.onClose = listener;
    return this;
  }
}

function guardWith(limits: Partial<ConnectionLimits>): { guard: ConnectionGuard; clock: FakeClock; logger: SilentLogger; metrics: InMemoryMetrics } {
  const clock = new FakeClock();
  const logger = new SilentLogger();
  const metrics = new InMemoryMetrics();
  return { guard: new ConnectionGuard(new ConnectionLimits(limits), clock, logger, metrics), clock, logger, metrics };
}

test('guard: a pending connection is closed at the handshake deadline; an authenticated one is not', () => {
  const { guard, clock, logger } = guardWith({ handshakeTimeoutMs: 5_000 });
  const slow = new FakeSocket('127.0.0.2', 1000);
  const quick = new FakeSocket('127.0.0.1', 1001);
  const slowPeer = guard.admit(slow, 'mqtts');
  const quickPeer = guard.admit(quick, 'mqtts');
  assert.ok(slowPeer !== undefined && quickPeer !== undefined);
  assert.equal(guard.peerOf({ remoteAddress: '::ffff:127.0.0.1', remotePort: 1001, localPort: 8883 }), quickPeer, 'found from the TLS socket address');
  guard.authenticated(quickPeer);
  assert.deepEqual(guard.counts(), { open: 2, pending: 1 });
  clock.advance(4_999);
  assert.equal(slow.destroyed, false);
  clock.advance(1);
  assert.equal(slow.destroyed, true);
  assert.equal(quick.destroyed, false);
  assert.deepEqual(guard.counts(), { open: 1, pending: 0 });
  assert.equal(guard.peerOf(slow), undefined);
  const line = logger.lines.find((l) => l.message === 'connection refused by limits');
  assert.deepEqual(line?.fields, { source: '127.0.0.2', listener: 'mqtts', reason: 'handshake-timeout', afterSecs: 5 });
  assert.equal(clock.pendingCount, 1, 'only the summary timer is left (the quick peer has no deadline)');
});

test('guard: refusals are destroyed at once, counted in metrics, and logged once per kind with a summary per interval', () => {
  const { guard, clock, logger, metrics } = guardWith({ maxPendingPerSource: 2, logSummaryIntervalMs: 10_000, handshakeTimeoutMs: 60_000 });
  const sockets = Array.from({ length: 50 }, (_, i) => new FakeSocket('127.0.0.2', 2000 + i));
  const admitted = sockets.map((s) => guard.admit(s, 'amqps')).filter((p) => p !== undefined);
  assert.equal(admitted.length, 2);
  assert.equal(sockets.filter((s) => s.destroyed).length, 48);
  assert.equal(guard.admit(new FakeSocket('127.0.0.1', 3000), 'amqps')?.source, '127.0.0.1', 'another source is admitted');
  const refusals = logger.lines.filter((l) => l.message === 'connection refused by limits');
  assert.equal(refusals.length, 1);
  assert.equal(refusals[0]?.fields?.['reason'], 'too-many-pending-from-source');
  clock.advance(10_000);
  const summaries = logger.lines.filter((l) => l.message === 'repeated refusals from one source');
  assert.deepEqual(summaries.map((l) => [l.fields?.['source'], l.fields?.['total'], l.fields?.['counts']]), [['127.0.0.2', 47, { 'too-many-pending-from-source': 47 }]]);
  const counted = metrics.snapshot().find((s) => s.name === 'edgeport_connections_refused_total' && s.labels['reason'] === 'too-many-pending-from-source');
  assert.equal(counted?.value, 48);
});

test('guard: failed logins back a source off (its new connections are refused) and collapse their log lines; a success resets it', () => {
  const { guard, clock, logger } = guardWith({ loginFailuresBeforeBackoff: 3, loginBackoffMaxMs: 60_000, logSummaryIntervalMs: 10_000 });
  const full: boolean[] = [];
  for (let i = 0; i < 3; i++) full.push(guard.loginFailed('127.0.0.2', 'mqtt', 'bad-signature').logInFull);
  assert.deepEqual(full, [true, true, true], 'below and at the threshold: the caller logs each');
  assert.equal(guard.admit(new FakeSocket('127.0.0.2', 1), 'mqtt'), undefined, 'backed off for 1 s');
  assert.ok(guard.admit(new FakeSocket('127.0.0.1', 1), 'mqtt') !== undefined, 'other sources connect');
  clock.advance(1_000);
  const again = guard.admit(new FakeSocket('127.0.0.2', 2), 'mqtt');
  assert.ok(again !== undefined, 'the back-off ended');
  const more = Array.from({ length: 20 }, () => guard.loginFailed('127.0.0.2', 'mqtt', 'bad-signature').logInFull);
  assert.deepEqual(more.filter(Boolean).length, 0, 'the first beyond the threshold was logged already in this interval');
  assert.equal(guard.loginFailed('127.0.0.2', 'mqtt', 'bad-signature').backoffMs, 60_000);
  clock.advance(10_000);
  const summary = logger.lines.find((l) => l.message === 'repeated refusals from one source');
  assert.deepEqual(summary?.fields?.['counts'], { 'login-failed:bad-signature': 21 });
  guard.authenticated(again);
  assert.ok(guard.admit(new FakeSocket('127.0.0.2', 3), 'mqtt') !== undefined, 'a success from the source resets its back-off');
});
