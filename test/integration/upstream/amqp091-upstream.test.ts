import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { connect, type ConsumeMessage } from 'amqplib';
import type { Message } from '../../../domain/messages/message.js';
import { Amqp091Upstream, publishOptions, redactAmqpUrl } from '../../../adapters/amqp091/amqp091-upstream.js';
import { SystemClock } from '../../../adapters/clock/system-clock.js';
import { parseIdentity } from '../../../domain/identity/identity.js';
import { SERVICES, skipUnless } from '../../support/services.js';
import { SilentLogger, eventually } from '../../support/pipeline-harness.js';
import { TcpProxy } from '../../support/tcp-proxy.js';
import { buildUpstreamHub } from '../../support/upstream/upstream-harness.js';

const skip = await skipUnless('rabbitmq');
const URL = `amqp://guest:guest@${SERVICES.rabbitmq.host}:${SERVICES.rabbitmq.port}`;
const run = promisify(execFile);
const RABBITMQCTL = ['/usr/sbin/rabbitmqctl', '/usr/bin/rabbitmqctl', '/usr/local/sbin/rabbitmqctl'].find((p) => existsSync(p));

/** A queue bound to `exchange` that records every message (`n` header) in arrival order. */
async function recorder(exchange: string) {
  const model = await connect(URL);
  const channel = await model.createChannel();
  await channel.assertExchange(exchange, 'topic', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, exchange, '#');
  const received: ConsumeMessage[] = [];
  await channel.consume(queue, (m) => {
    if (m !== null) received.push(m);
  }, { noAck: true });
  return {
    received,
    close: async () => {
      await channel.deleteExchange(exchange).catch(() => undefined);
      await model.close();
    },
  };
}

/** Closes the upstream's connection from the broker's side (rabbitmqctl), else cuts it in the proxy. */
async function killConnection(connectionName: string, proxy: TcpProxy): Promise<string> {
  if (RABBITMQCTL !== undefined) {
    const { stdout } = await run(RABBITMQCTL, ['-q', 'list_connections', 'pid', 'client_properties'], { timeout: 30_000 });
    const line = stdout.split('\n').find((l) => l.includes(connectionName));
    if (line !== undefined) {
      const pid = line.split('\t')[0]!;
      await run(RABBITMQCTL, ['close_connection', pid, 'edgeport test: broker-side kill'], { timeout: 30_000 });
      return 'rabbitmqctl close_connection';
    }
  }
  proxy.cut();
  return 'proxy cut';
}

test('amqp091 upstream: routed $upstream messages are published with confirms; a broker-side connection kill loses nothing and keeps the order', { skip, timeout: 120_000 }, async () => {
  const exchange = `edgeport.test.${process.pid}.${Date.now()}`;
  const rec = await recorder(exchange);
  const proxy = new TcpProxy(SERVICES.rabbitmq);
  await proxy.start();
  const connectionName = `edgeport-test-${process.pid}-${Date.now()}`;
  const upstream = new Amqp091Upstream({ url: `amqp://guest:guest@127.0.0.1:${proxy.port}`, exchange, connectionName, reconnectDelayMs: 100, maxReconnectDelayMs: 500 }, new SilentLogger());
  const h = buildUpstreamHub({ upstream, clock: new SystemClock() });
  try {
    await h.pumps.start();
    await h.sync.start();
    await eventually(() => upstream.isConnected(), 10_000, 'connected');
    const N = 600;
    const send = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const message: Message = { body: new TextEncoder().encode(`{"n":${i}}`), properties: { n: String(i) }, systemProperties: { messageId: `m-${i}`, contentType: 'application/json' } };
        await h.ingest.ingest(message, { deviceId: 'edge1', moduleId: 'sensor' });
      }
    };
    await send(0, 200);
    await eventually(() => rec.received.length >= 100, 10_000, 'first messages');
    const how = await killConnection(connectionName, proxy);
    if (RABBITMQCTL !== undefined) assert.equal(how, 'rabbitmqctl close_connection', 'the broker closed our connection');
    await send(200, 400);
    await eventually(() => upstream.isConnected() && proxy.connections >= 2, 20_000, `reconnected after ${how}`);
    await send(400, N);
    await eventually(() => new Set(rec.received.map((m) => m.properties.headers?.['n'])).size === N, 30_000, 'every message at the broker');

    // At least once, in order: the first occurrences are 0..N-1 ascending; re-sends only repeat a suffix of what was in flight.
    const seen = new Set<string>();
    const firsts: number[] = [];
    for (const m of rec.received) {
      const n = String(m.properties.headers?.['n']);
      if (!seen.has(n)) {
        seen.add(n);
        firsts.push(Number(n));
      }
    }
    assert.deepEqual(firsts, Array.from({ length: N }, (_, i) => i), `order kept across the ${how}`);
    const first = rec.received[0]!;
    assert.equal(first.fields.routingKey, 'edge1/sensor');
    assert.equal(first.properties.messageId, 'm-0');
    assert.equal(first.properties.contentType, 'application/json');
    assert.equal(first.properties.deliveryMode, 2, 'persistent');
    assert.equal(first.properties.headers?.['iothub-connection-module-id'], 'sensor');
    assert.equal(first.content.toString(), '{"n":0}');
    await eventually(() => (h.store.queues().find((q) => q.endpointId === '$upstream')?.length ?? 0) === 0, 5000, 'checkpointed after the confirms');
    assert.ok(rec.received.length - N <= 200, `re-sent at most what was in flight (${rec.received.length - N} duplicates)`);
  } finally {
    await h.sync.stop();
    await h.pumps.stop();
    await proxy.stop();
    await rec.close();
  }
});

test('amqp091 upstream: nothing is checkpointed while the broker is unreachable; messages wait and go on reconnect', { skip, timeout: 60_000 }, async () => {
  const exchange = `edgeport.test.wait.${process.pid}.${Date.now()}`;
  const rec = await recorder(exchange);
  const proxy = new TcpProxy(SERVICES.rabbitmq);
  await proxy.start();
  proxy.pause();
  const log = new SilentLogger();
  const upstream = new Amqp091Upstream({ url: `amqp://guest:guest@127.0.0.1:${proxy.port}`, exchange, reconnectDelayMs: 100, maxReconnectDelayMs: 300 }, log);
  const h = buildUpstreamHub({ upstream, clock: new SystemClock() });
  try {
    await h.pumps.start();
    await h.sync.start();
    for (let i = 0; i < 50; i++) await h.ingest.ingest({ body: new Uint8Array([i]), properties: { n: String(i) }, systemProperties: {} }, { deviceId: 'leaf1' });
    // The broker stays unreachable while the messages wait: the upstream's connection attempts are refused.
    await eventually(() => log.lines.some((l) => /not reachable; retrying/.test(l.message)), 10_000, 'a refused connection attempt');
    assert.equal(upstream.isConnected(), false);
    assert.equal(h.store.queues().find((q) => q.endpointId === '$upstream')?.length, 50, 'all 50 stored');
    proxy.resume();
    await eventually(() => rec.received.length === 50, 20_000, '50 at the broker after the outage');
    assert.deepEqual(rec.received.map((m) => m.properties.headers?.['n']), Array.from({ length: 50 }, (_, i) => String(i)));
    assert.equal(rec.received[0]!.fields.routingKey, 'leaf1');
  } finally {
    await h.sync.stop();
    await h.pumps.stop();
    await proxy.stop();
    await rec.close();
  }
});

test('amqp091 mapping and URL redaction', () => {
  const options = publishOptions(parseIdentity('edge1/filter'), { body: new Uint8Array(), properties: { alert: 'high', gone: null }, systemProperties: { correlationId: 'c', outputName: 'out1', contentEncoding: 'utf-8' } });
  assert.deepEqual(options.headers, { alert: 'high', 'iothub-outputname': 'out1', 'iothub-connection-device-id': 'edge1', 'iothub-connection-module-id': 'filter' });
  assert.equal(options.correlationId, 'c');
  assert.equal(options.contentEncoding, 'utf-8');
  assert.equal(redactAmqpUrl('amqp://user:s3cret@broker:5672/vh'), 'amqp://broker:5672/vh');
});
