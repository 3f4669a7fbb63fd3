import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeTraffic, TrafficReport, trafficTotals } from '../../../application/hub/traffic-report.js';
import { PipelineMetrics } from '../../../application/hub/pipeline-metrics.js';
import { InMemoryMetrics } from '../../support/in-memory-metrics.js';
import { FakeClock } from '../../support/fake-clock.js';
import { MemoryLogger } from '../../support/agent/memory-logger.js';

test('trafficTotals sums the pipeline metrics per endpoint over priorities', () => {
  const metrics = new InMemoryMetrics();
  const pipeline = new PipelineMetrics(metrics);
  pipeline.received.inc(undefined, 5);
  pipeline.sent.inc({ endpoint: 'filter/input1', priority: '0' }, 2);
  pipeline.sent.inc({ endpoint: 'filter/input1', priority: '2000000000' }, 3);
  pipeline.queueLength.set({ endpoint: '$upstream', priority: '0' }, 4);
  assert.deepEqual(trafficTotals(metrics.snapshot()), { received: 5, sent: { 'filter/input1': 5 }, queued: { $upstream: 4 } });
});

test('describeTraffic: totals with the increase since the last report; nothing when idle', () => {
  const before = { received: 10, sent: { 'filter/input1': 10 }, queued: {} };
  const now = { received: 20, sent: { 'filter/input1': 19, $upstream: 0 }, queued: { $upstream: 6, 'filter/input1': 0 } };
  assert.equal(describeTraffic(now, before), 'messages: received 20 (+10); delivered $upstream 0, filter/input1 19 (+9); queued $upstream 6');
  assert.equal(describeTraffic(before, before), undefined);
});

test('TrafficReport logs every interval while messages flow, stays quiet when idle, stops with stop()', async () => {
  const metrics = new InMemoryMetrics();
  const pipeline = new PipelineMetrics(metrics);
  const clock = new FakeClock();
  const logger = new MemoryLogger();
  const report = new TrafficReport(metrics, clock, logger, 10_000);
  pipeline.received.inc(undefined, 3); // before start: not reported as new traffic
  await report.start();
  clock.advance(10_000);
  assert.equal(logger.entries.length, 0);
  pipeline.received.inc(undefined, 2);
  pipeline.sent.inc({ endpoint: 'filter/input1', priority: '0' }, 2);
  clock.advance(10_000);
  assert.deepEqual(logger.entries.map((e) => e.message), ['messages: received 5 (+2); delivered filter/input1 2 (+2)']);
  assert.equal(logger.entries[0]!.level, 'info');
  clock.advance(10_000);
  assert.equal(logger.entries.length, 1, 'idle: no line');
  await report.stop();
  pipeline.received.inc();
  clock.advance(30_000);
  assert.equal(logger.entries.length, 1, 'stopped: no line');
});
