import assert from 'node:assert/strict';
import { test } from 'node:test';
import { C2D_BODY, c2dRequest } from '../../../adapters/http/management-api.js';
import { METHOD_CALL_BODY, methodTarget } from '../../../adapters/http/method-calls.js';
import { HttpError } from '../../../adapters/http/http-errors.js';
import { SIGN_BODY } from '../../../adapters/http/workload-api.js';

function problems(result: { success: boolean; error?: { issues: Array<{ message: string }> } }): string[] {
  return result.success ? [] : [...new Set(result.error!.issues.map((i) => i.message))];
}

test('C2D body: defaults, every field kept, each problem named', () => {
  const minimal = C2D_BODY.parse({});
  assert.deepEqual(c2dRequest('d1', minimal), { deviceId: 'd1', body: Buffer.from('') });
  const full = c2dRequest('d1', C2D_BODY.parse({ body: 'aGk=', bodyEncoding: 'base64', properties: { a: '1' }, messageId: 'm', correlationId: 'c', userId: 'u', contentType: 'application/json', contentEncoding: 'utf-8', ttlSeconds: 60, ack: 'full', extra: 1 }));
  assert.deepEqual(full, { deviceId: 'd1', body: Buffer.from('hi'), properties: { a: '1' }, messageId: 'm', correlationId: 'c', userId: 'u', contentType: 'application/json', contentEncoding: 'utf-8', ttlSeconds: 60, ack: 'full' });
  assert.deepEqual(problems(C2D_BODY.safeParse([])), ['the request body must be a JSON object {"body": "...", "properties": {...}}']);
  assert.deepEqual(problems(C2D_BODY.safeParse({ body: 1, bodyEncoding: 'hex', properties: { a: 1 }, messageId: 2, ttlSeconds: '60', ack: 'some' })), [
    'body must be a string',
    'bodyEncoding must be "utf8" or "base64"',
    'properties must be an object of string values',
    'messageId must be a string',
    'ttlSeconds must be a number',
    'ack must be one of none, positive, negative, full',
  ]);
});

test('method call body: default and bounded timeout, non-empty name, payload of any JSON type', () => {
  assert.deepEqual(METHOD_CALL_BODY.parse({ methodName: 'reboot' }), { methodName: 'reboot', payload: undefined, timeoutMs: 30_000 });
  assert.deepEqual(METHOD_CALL_BODY.parse({ methodName: 'm', payload: [1, 'x'], responseTimeoutInSeconds: 2.5 }), { methodName: 'm', payload: [1, 'x'], timeoutMs: 2500 });
  assert.deepEqual(METHOD_CALL_BODY.parse({ methodName: 'm', responseTimeoutInSeconds: null }).timeoutMs, 30_000);
  assert.deepEqual(problems(METHOD_CALL_BODY.safeParse({ methodName: '' })), ['methodName must be a non-empty string']);
  for (const bad of [0, -1, 301, '5']) assert.deepEqual(problems(METHOD_CALL_BODY.safeParse({ methodName: 'm', responseTimeoutInSeconds: bad })), ['responseTimeoutInSeconds must be a number of seconds from 1 to 300'], String(bad));
  assert.deepEqual(problems(METHOD_CALL_BODY.safeParse(undefined)), ['the request body must be a JSON object {"methodName": ..., "payload": ..., "responseTimeoutInSeconds": ...}']);
});

test('method target: device or module identity from the route; invalid ids are a 400', () => {
  assert.deepEqual(methodTarget({ deviceId: 'd' }), { kind: 'device', deviceId: 'd' });
  assert.deepEqual(methodTarget({ deviceId: 'd', moduleId: '$edgeAgent' }), { kind: 'module', deviceId: 'd', moduleId: '$edgeAgent' });
  assert.throws(() => methodTarget({ deviceId: '' }), (e: unknown) => e instanceof HttpError && e.status === 400 && e.code === 'BadRequest');
});

test('workload sign body: the three strings, with the messages edgelet clients expect', () => {
  assert.deepEqual(SIGN_BODY.parse({ keyId: 'primary', algo: 'HMACSHA256', data: 'aGk=' }), { keyId: 'primary', algo: 'HMACSHA256', data: 'aGk=' });
  assert.deepEqual(problems(SIGN_BODY.safeParse('nope')), ['the body must be {"keyId", "algo", "data"}']);
  assert.deepEqual(problems(SIGN_BODY.safeParse({ keyId: 1, algo: 'HMACSHA256' })), ['keyId must be "primary" or "secondary"', 'data must be a base64 string']);
});
