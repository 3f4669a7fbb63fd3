/**
 * The dashboard head over real HTTP on loopback: token and session handling, what a request without
 * the right token gets (401, no data), the change checks, the security headers, the token file's
 * mode, the static front end and the server-sent status events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OperatorActions } from '../../../application/observe/operator-actions.js';
import { RuntimeInfo, RuntimeReadModel } from '../../../application/observe/runtime-read-model.js';
import { DashboardOptions, DashboardServer } from '../../../adapters/dashboard/dashboard-server.js';
import { dashboardTokenPath, ensureDashboardToken } from '../../../adapters/dashboard/dashboard-token.js';
import { SystemClock } from '../../../adapters/clock/system-clock.js';
import { InMemoryMetrics } from '../../support/in-memory-metrics.js';
import { SilentLogger } from '../../support/pipeline-harness.js';

async function startDashboard() {
  const dir = mkdtempSync(join(tmpdir(), 'edgeport-dashboard-'));
  const assets = join(dir, 'ui');
  mkdirSync(join(assets, 'assets'), { recursive: true });
  writeFileSync(join(assets, 'index.html'), '<!doctype html><title>test page</title><script type="module" src="/assets/app-1.js"></script>');
  writeFileSync(join(assets, 'assets', 'app-1.js'), 'console.log(1)');
  const logger = new SilentLogger();
  const model = new RuntimeReadModel(new SystemClock(), new InMemoryMetrics(), new RuntimeInfo('edge-under-test', '1.2.3', { hub: false, agent: false }));
  const server = new DashboardServer(new DashboardOptions('127.0.0.1', 0, assets, dashboardTokenPath(dir), 100), model, new OperatorActions(), logger);
  const [listen] = await server.start();
  const base = `http://127.0.0.1:${listen!.port}`;
  const token = await ensureDashboardToken(dashboardTokenPath(dir));
  return {
    dir,
    base,
    token,
    logger,
    async close() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('without the right token every API answer is 401 with no data; the token file is 0600 and never logged', { timeout: 30_000 }, async () => {
  const d = await startDashboard();
  try {
    assert.equal(statSync(dashboardTokenPath(d.dir)).mode & 0o777, 0o600);
    assert.equal(statSync(join(d.dir, 'dashboard')).mode & 0o777, 0o700);
    const refused: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong' }, { cookie: 'edgeport_session=forged' }, { authorization: `Bearer ${d.token}x` }];
    for (const headers of refused) {
      for (const path of ['/api/status', '/api/events', '/api/twins', '/api/modules/a/logs']) {
        const response = await fetch(`${d.base}${path}`, { headers });
        assert.equal(response.status, 401, `${path} ${JSON.stringify(headers)}`);
        const text = await response.text();
        assert.doesNotMatch(text, /edge-under-test|1\.2\.3|runtime/, 'no data in a refusal');
      }
    }
    const wrong = await fetch(`${d.base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'x'.repeat(43) }) });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('set-cookie'), null);
    assert.ok(!JSON.stringify(d.logger.lines).includes(d.token), 'the token is never logged');
  } finally {
    await d.close();
  }
});

test('the token signs in once and becomes an HttpOnly SameSite=Strict cookie that is not the token; Bearer works for scripts', { timeout: 30_000 }, async () => {
  const d = await startDashboard();
  try {
    const session = await fetch(`${d.base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: d.token }) });
    assert.equal(session.status, 200);
    const cookie = session.headers.get('set-cookie')!;
    assert.match(cookie, /^edgeport_session=[A-Za-z0-9_-]+; HttpOnly; SameSite=Strict; Path=\/$/);
    assert.ok(!cookie.includes(d.token));
    const pair = cookie.split(';')[0]!;
    const status = await fetch(`${d.base}/api/status`, { headers: { cookie: pair } });
    assert.equal(status.status, 200);
    const body = (await status.json()) as { runtime: { deviceId: string; version: string } };
    assert.deepEqual([body.runtime.deviceId, body.runtime.version], ['edge-under-test', '1.2.3']);
    assert.equal((await fetch(`${d.base}/api/status`, { headers: { authorization: `Bearer ${d.token}` } })).status, 200);
    // The agent does not run here: a module action says so.
    const action = await fetch(`${d.base}/api/modules/a/restart`, { method: 'POST', headers: { cookie: pair, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(action.status, 503);
    // Changes need JSON and, when the browser names one, this origin.
    const form = await fetch(`${d.base}/api/modules/a/restart`, { method: 'POST', headers: { cookie: pair, 'content-type': 'application/x-www-form-urlencoded' }, body: 'x=1' });
    assert.equal(form.status, 415);
    const foreign = await fetch(`${d.base}/api/modules/a/restart`, { method: 'POST', headers: { cookie: pair, 'content-type': 'application/json', origin: 'http://evil.example' }, body: '{}' });
    assert.equal(foreign.status, 403);
    const bad = await fetch(`${d.base}/api/methods`, { method: 'POST', headers: { cookie: pair, 'content-type': 'application/json' }, body: JSON.stringify({ target: 'd', methodName: '' }) });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { message: string }).message, /methodName/);
    assert.equal((await fetch(`${d.base}/api/nope`, { headers: { cookie: pair } })).status, 404);
  } finally {
    await d.close();
  }
});

test('the front end is served from memory with a strict Content-Security-Policy; status events arrive every interval', { timeout: 30_000 }, async () => {
  const d = await startDashboard();
  try {
    const page = await fetch(`${d.base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type')!, /^text\/html/);
    assert.match(page.headers.get('content-security-policy')!, /script-src 'self';/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.match(await page.text(), /test page/);
    const script = await fetch(`${d.base}/assets/app-1.js`);
    assert.match(script.headers.get('cache-control')!, /immutable/);
    assert.equal((await fetch(`${d.base}/../../etc/passwd`)).status, 404);
    assert.equal((await fetch(`${d.base}/favicon.ico`)).status, 204);

    const events = await fetch(`${d.base}/api/events`, { headers: { authorization: `Bearer ${d.token}` } });
    assert.equal(events.status, 200);
    assert.match(events.headers.get('content-type')!, /^text\/event-stream/);
    const reader = events.body!.getReader();
    let text = '';
    const deadline = Date.now() + 10_000;
    while ((text.match(/event: status\n/g) ?? []).length < 3 && Date.now() < deadline) text += new TextDecoder().decode((await reader.read()).value);
    assert.ok((text.match(/event: status\n/g) ?? []).length >= 3, text);
    assert.match(text, /data: \{"runtime":\{"deviceId":"edge-under-test"/);
    await reader.cancel();
  } finally {
    await d.close();
  }
});
