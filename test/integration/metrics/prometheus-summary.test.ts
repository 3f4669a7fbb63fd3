import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PrometheusMetrics, PrometheusMetricsOptions } from '../../../adapters/metrics/prometheus-metrics.js';
import { SUMMARY_MAX_AGE_MS, SUMMARY_WINDOW, SummarySeries } from '../../../adapters/metrics/summary-series.js';

test('summaries: quantiles over the recent window, sum and count; common labels on every series; collectors run before a scrape', async () => {
  const metrics = new PrometheusMetrics(new PrometheusMetricsOptions({ iothub: 'hub.example', edge_device: 'edge1', instance_number: 'guid-1' }, 'edgeAgent'));
  const duration = metrics.summary('edgehub_message_process_duration_seconds', 'Time taken to process a message from the queue');
  const bound = duration.bind({ from: 'edge1/a', to: 'edge1/b', priority: 'default' });
  for (let i = 1; i <= 100; i++) bound.observe(i / 100);
  const sent = metrics.counter('edgehub_messages_sent_total', 'sent').bind({ from: 'edge1/a', to: '$upstream', from_route_output: 'out', to_route_input: '', priority: '0' });
  sent.inc();
  sent.inc(4);
  let collected = 0;
  const clients = metrics.gauge('edgehub_connected_clients', 'clients');
  metrics.onCollect(() => clients.set({}, ++collected));

  const text = await metrics.exposition();
  assert.match(text, /# TYPE edgehub_message_process_duration_seconds summary/);
  const labels = 'iothub="hub.example",edge_device="edge1",instance_number="guid-1",from="edge1\/a",to="edge1\/b",priority="default"';
  assert.match(text, new RegExp(`edgehub_message_process_duration_seconds\\{${labels},quantile="0.5"\\} 0.51\\n`));
  assert.match(text, new RegExp(`edgehub_message_process_duration_seconds\\{${labels},quantile="0.99"\\} 1\\n`));
  assert.match(text, new RegExp(`edgehub_message_process_duration_seconds_count\\{${labels}\\} 100\\n`));
  assert.match(text, new RegExp(`edgehub_message_process_duration_seconds_sum\\{${labels}\\} 50.5`));
  assert.match(text, /edgehub_messages_sent_total\{from="edge1\/a",to="\$upstream",from_route_output="out",to_route_input="",priority="0",iothub="hub.example",edge_device="edge1",instance_number="guid-1"\} 5/);
  assert.match(text, /edgehub_connected_clients\{iothub="hub.example",edge_device="edge1",instance_number="guid-1"\} 1/);
  assert.match(text, /edgeAgent_used_memory_bytes\{module_name="edgeAgent",iothub="hub.example",edge_device="edge1",instance_number="guid-1"\} \d{6,}/);
  assert.equal(collected, 1);
  await metrics.exposition();
  assert.equal(collected, 2);
  const sample = metrics.snapshot().find((s) => s.name === 'edgehub_message_process_duration_seconds')!;
  assert.deepEqual({ ...sample, sum: Math.round(sample.sum! * 1000) / 1000 }, { name: 'edgehub_message_process_duration_seconds', type: 'summary', labels: { from: 'edge1/a', to: 'edge1/b', priority: 'default' }, value: 100, sum: 50.5 });
});

test('a summary keeps the last SUMMARY_WINDOW observations and reports NaN once none is recent', () => {
  const s = new SummarySeries({});
  const t0 = Date.UTC(2026, 0, 1);
  assert.ok(s.quantiles(t0).every(Number.isNaN), 'no observation yet');
  for (let i = 0; i < SUMMARY_WINDOW * 3; i++) s.observe(i < SUMMARY_WINDOW * 2 ? 1000 : 1);
  assert.deepEqual(s.quantiles(t0 + 1000), [1, 1, 1, 1, 1, 1], 'only the last window counts');
  assert.equal(s.count, SUMMARY_WINDOW * 3);
  // Nothing new for longer than the maximum age: the window is empty.
  assert.ok(s.quantiles(t0 + 1000 + SUMMARY_MAX_AGE_MS).every(Number.isNaN));
  s.observe(7);
  assert.deepEqual(s.quantiles(t0 + 2000 + SUMMARY_MAX_AGE_MS), [7, 7, 7, 7, 7, 7]);
});
