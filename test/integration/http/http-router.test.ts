import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { HttpError, sendJson } from '../../../adapters/http/http-errors.js';
import { HttpRouter } from '../../../adapters/http/http-router.js';
import { readJsonBody } from '../../../adapters/http/json-body.js';
import { SilentLogger } from '../../support/pipeline-harness.js';

class DomainError extends Error {
  constructor(readonly status: 404 | 409, message: string) {
    super(message);
  }
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

function call(port: number, method: string, path: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

describe('HttpRouter (find-my-way) on a real HTTP server', () => {
  const log = new SilentLogger();
  const router = new HttpRouter({ name: 'test API', log, translate: (e) => (e instanceof DomainError ? new HttpError(e.status, e.message, 'Domain') : undefined) });
  const internal = new HttpRouter({ name: 'private API', log, exposeInternalErrors: true });
  let server: Server;
  let internalServer: Server;
  let port = 0;
  let internalPort = 0;

  before(async () => {
    router.on('GET', '/modules/:module/logs', ({ response, params, query }) => sendJson(response, 200, { module: params['module'], tail: query.get('tail') }));
    router.on(['POST', 'PUT'], '/twins/:deviceId/modules/:moduleId/methods', ({ response, params }) => sendJson(response, 200, params));
    router.on('POST', '/echo', async ({ request, response }) => sendJson(response, 200, await readJsonBody(request, z.object({ n: z.number({ error: 'n must be a number' }), s: z.string({ error: 's must be a string' }) }, { error: 'the body must be an object {n, s}' }), 64)));
    router.on('GET', '/fails/:kind', ({ params }) => {
      if (params['kind'] === 'http') throw new HttpError(403, 'not yours');
      if (params['kind'] === 'domain') throw new DomainError(409, 'in use');
      throw new Error('disk on fire');
    });
    internal.on('GET', '/fails', () => {
      throw new Error('disk on fire');
    });
    server = createServer((req, res) => void router.handle(req, res));
    internalServer = createServer((req, res) => void internal.handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => internalServer.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
    internalPort = (internalServer.address() as { port: number }).port;
  });

  after(async () => {
    await new Promise((r) => server.close(r));
    await new Promise((r) => internalServer.close(r));
  });

  test('path parameters are percent-decoded (an encoded slash stays in its parameter); query and trailing slash', async () => {
    assert.deepEqual((await call(port, 'GET', '/modules/my%2Fmod/logs?tail=5')).body, { module: 'my/mod', tail: '5' });
    assert.deepEqual((await call(port, 'POST', '/twins/d%C3%A9v/modules/%24edgeAgent/methods/')).body, { deviceId: 'dév', moduleId: '$edgeAgent' });
    assert.equal((await call(port, 'PUT', '/twins/d/modules/m/methods')).status, 200, 'a route for several methods');
  });

  test('unknown path: 404; known path with another method: 405 with Allow; a malformed escape: 400; all as {code, message}', async () => {
    const missing = await call(port, 'GET', '/nothing/here');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { code: 'NotFound', message: 'no such test API resource: GET /nothing/here' });
    const wrongMethod = await call(port, 'DELETE', '/twins/d/modules/m/methods');
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers['allow'], 'POST, PUT');
    assert.deepEqual(wrongMethod.body, { code: 'MethodNotAllowed', message: 'DELETE is not allowed on /twins/d/modules/m/methods; use POST or PUT' });
    const malformed = await call(port, 'GET', '/modules/%zz/logs');
    assert.equal(malformed.status, 400);
    assert.deepEqual(malformed.body, { code: 'BadRequest', message: 'malformed path: /modules/%zz/logs' });
  });

  test('bodies: checked by the zod schema (every problem listed), 400 when not JSON, 413 over the limit', async () => {
    assert.deepEqual((await call(port, 'POST', '/echo', '{"n":1,"s":"x"}')).body, { n: 1, s: 'x' });
    const bad = await call(port, 'POST', '/echo', '{"n":"1","s":2}');
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body, { code: 'BadRequest', message: 'n must be a number; s must be a string' });
    assert.deepEqual((await call(port, 'POST', '/echo', 'not json')).body, { code: 'BadRequest', message: 'the body must be an object {n, s}' });
    const large = await call(port, 'POST', '/echo', JSON.stringify({ n: 1, s: 'x'.repeat(100) }));
    assert.equal(large.status, 413);
    assert.deepEqual(large.body, { code: 'PayloadTooLarge', message: 'the request body is larger than 64 bytes' });
  });

  test('errors: HttpError as thrown, use-case errors translated, others 500 (message only where exposed) and logged', async () => {
    assert.deepEqual((await call(port, 'GET', '/fails/http')).body, { code: 'Forbidden', message: 'not yours' });
    const domain = await call(port, 'GET', '/fails/domain');
    assert.equal(domain.status, 409);
    assert.deepEqual(domain.body, { code: 'Domain', message: 'in use' });
    const hidden = await call(port, 'GET', '/fails/other');
    assert.equal(hidden.status, 500);
    assert.deepEqual(hidden.body, { code: 'InternalError', message: 'internal error' });
    assert.ok(log.lines.some((l) => l.level === 'error' && l.message === 'test API request failed: disk on fire' && l.fields?.['path'] === '/fails/other'));
    assert.deepEqual((await call(internalPort, 'GET', '/fails')).body, { code: 'InternalError', message: 'disk on fire' });
  });

  test('routes added later (from another file) are served', async () => {
    router.on('GET', '/views/:name', ({ response, params }) => sendJson(response, 200, { view: params['name'] }));
    assert.deepEqual((await call(port, 'GET', '/views/status')).body, { view: 'status' });
  });
});
