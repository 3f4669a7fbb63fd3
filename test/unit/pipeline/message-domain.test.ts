import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_MESSAGE_SIZE_BYTES } from '../../../domain/messages/limits.js';
import { MessageTooLargeError, checkMessageSize, copyProperties, messageSize } from '../../../domain/messages/message.js';
import { NEVER_EXPIRES, expiresAt, queueName, retryDelayMs } from '../../../domain/messages/store-and-forward.js';
import { DEFAULT_ROUTE_PRIORITY, RouteTable, messageSource } from '../../../domain/routing/index.js';

test('message size sums key and value lengths of both property sets plus the body', () => {
  const size = messageSize({ body: new Uint8Array(10), properties: { ab: 'cde', n: null }, systemProperties: { x: 'yz' } });
  assert.equal(size, 2 + 3 + 1 + 0 + 1 + 2 + 10);
});

test('a message over 256 KB is refused with a typed error', () => {
  const ok = { body: new Uint8Array(MAX_MESSAGE_SIZE_BYTES), properties: {}, systemProperties: {} };
  assert.equal(checkMessageSize(ok), MAX_MESSAGE_SIZE_BYTES);
  const big = { body: new Uint8Array(MAX_MESSAGE_SIZE_BYTES), properties: { a: 'b' }, systemProperties: {} };
  assert.throws(() => checkMessageSize(big), (e: unknown) => e instanceof MessageTooLargeError && e.code === 'MESSAGE_TOO_LARGE' && e.size === MAX_MESSAGE_SIZE_BYTES + 2);
});

test('TTL: the route TTL wins when positive, else the global one; non-positive global never expires', () => {
  assert.equal(expiresAt(1000, 5, 7200), 6000);
  assert.equal(expiresAt(1000, 0, 7200), 1000 + 7200_000);
  assert.equal(expiresAt(1000, 0, -1), NEVER_EXPIRES);
  assert.equal(expiresAt(1000, 0, 0), NEVER_EXPIRES);
});

test('retry back-off follows Azure: 1 s first, doubling with jitter, capped at 60 s', () => {
  assert.equal(retryDelayMs(0, 0.5), 1000);
  assert.equal(retryDelayMs(1, 0.5), 2000);
  assert.equal(retryDelayMs(2, 0.5), 4000);
  assert.equal(retryDelayMs(1, 0), 1800);
  assert.equal(retryDelayMs(1, 0.999999), 1000 + 1000 * (0.8 + 0.4 * 0.999999));
  assert.equal(retryDelayMs(6, 0.5), 60000);
  assert.equal(retryDelayMs(1000, 1), 60000);
  for (let n = 0; n < 40; n++) {
    const d = retryDelayMs(n, Math.random());
    assert.ok(d >= 1000 && d <= 60000, `delay ${d} for retry ${n}`);
  }
});

test('queue names follow MessageQueueIdHelper', () => {
  assert.equal(queueName({ endpointId: 'filter/input1', priority: DEFAULT_ROUTE_PRIORITY }, DEFAULT_ROUTE_PRIORITY), 'filter/input1');
  assert.equal(queueName({ endpointId: '$upstream', priority: 3 }, DEFAULT_ROUTE_PRIORITY), '$upstream_Pri3');
});

test('routing API as the pipeline uses it: source prefix, module and upstream sinks, priority and TTL', () => {
  const table = RouteTable.compile({
    up: 'FROM /messages/* INTO $upstream',
    toFilter: { route: 'FROM /messages/modules/sensor/outputs/* WHERE true INTO BrokeredEndpoint("/modules/filter/inputs/input1")', priority: 1, timeToLiveSecs: 5 },
  });
  assert.equal(table.size, 2);
  const source = messageSource({ connectionDeviceId: 'd', connectionModuleId: 'sensor', outputName: 'out' });
  assert.equal(source, '/messages/modules/sensor/outputs/out');
  const matches = table.match({ source, properties: {}, systemProperties: {} });
  const got = matches.map((m) => [m.endpoint.id, m.priority, m.timeToLiveSecs]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  assert.deepEqual(got, [['$upstream', DEFAULT_ROUTE_PRIORITY, 0], ['filter/input1', 1, 5]]);
  assert.equal(table.match({ source: '/twinChangeNotifications', properties: {}, systemProperties: {} }).length, 0);
  assert.throws(() => RouteTable.compile({ bad: 'FROM nowhere' }));
});

test('copyProperties copies own keys only, keeps a __proto__ key as a plain property, and is a new object', () => {
  const source = Object.assign(Object.create({ inherited: 'no' }) as Record<string, string | null>, { a: '1', b: null });
  Object.defineProperty(source, '__proto__', { value: 'x', enumerable: true, writable: true, configurable: true });
  const copy = copyProperties(source);
  assert.deepEqual(Object.keys(copy), ['a', 'b', '__proto__']);
  assert.equal(Object.getOwnPropertyDescriptor(copy, '__proto__')?.value, 'x');
  assert.equal(Object.getPrototypeOf(copy), Object.prototype, 'the prototype is untouched');
  assert.equal(copy['inherited'], undefined);
  copy['a'] = 'changed';
  assert.equal(source['a'], '1');
});
