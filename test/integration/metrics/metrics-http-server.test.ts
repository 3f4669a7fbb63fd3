import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { ListenError } from '../../../application/ports/hosted-service.js';
import { MetricsHttpServer } from '../../../adapters/metrics/metrics-http-server.js';
import { PrometheusMetrics } from '../../../adapters/metrics/prometheus-metrics.js';
import { freePort } from '../../support/free-port.js';

test('counters and gauges are readable through snapshot() and scraped from /metrics', async () => {
  const metrics = new PrometheusMetrics();
  const received = metrics.counter('edgeport_messages_received_total', 'Messages received');
  const queue = metrics.gauge('edgeport_queue_length', 'Messages waiting per endpoint and priority');
  received.inc({ protocol: 'mqtt' });
  received.inc({ protocol: 'mqtt' }, 2);
  queue.set({ endpoint: '$upstream', priority: '0' }, 7);
  queue.dec({ endpoint: '$upstream', priority: '0' });
  metrics.counter('edgeport_messages_received_total', 'registered twice').inc({ protocol: 'mqtt' }, 0);
  assert.deepEqual(
    metrics.snapshot().filter((s) => s.name.startsWith('edgeport_messages') || s.name === 'edgeport_queue_length'),
    [
      { name: 'edgeport_messages_received_total', type: 'counter', labels: { protocol: 'mqtt' }, value: 3 },
      { name: 'edgeport_queue_length', type: 'gauge', labels: { endpoint: '$upstream', priority: '0' }, value: 6 },
    ],
  );
  assert.throws(() => metrics.gauge('edgeport_messages_received_total', 'x'), /already registered as a counter/);

  const port = await freePort();
  const server = new MetricsHttpServer(metrics, { host: '127.0.0.1', port, setting: 'metrics.port' });
  const listens = await server.start();
  try {
    assert.deepEqual(listens, [{ protocol: 'http', host: '127.0.0.1', port, setting: 'metrics.port' }]);
    const scrape = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(scrape, /# TYPE edgeport_messages_received_total counter/);
    assert.match(scrape, /edgeport_messages_received_total\{protocol="mqtt"\} 3/);
    assert.match(scrape, /edgeport_queue_length\{endpoint="\$upstream",priority="0"\} 6/);
    assert.match(scrape, /edgeport_process_resident_memory_bytes \d+/);
    // A second scrape reports the same totals (collect copies, it does not accumulate).
    assert.match(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), /edgeport_messages_received_total\{protocol="mqtt"\} 3/);
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    assert.equal((await fetch(`http://127.0.0.1:${port}/nope`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status, 405);
  } finally {
    await server.stop();
  }
  await assert.rejects(fetch(`http://127.0.0.1:${port}/health`));
});

test('a port already in use fails with a ListenError naming the port and the reason', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
  const port = (blocker.address() as { port: number }).port;
  try {
    const server = new MetricsHttpServer(new PrometheusMetrics(), { host: '127.0.0.1', port, setting: 'metrics.port' });
    await assert.rejects(server.start(), (error: unknown) => {
      assert.ok(error instanceof ListenError);
      assert.equal(error.reason, 'EADDRINUSE');
      assert.equal(error.listen.setting, 'metrics.port');
      assert.match(error.message, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(http\\): the port is already in use`));
      return true;
    });
  } finally {
    blocker.close();
  }
});
