import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentMethods, logLevelOf } from '../../../application/agent/agent-methods.js';
import { AgentSettings } from '../../../application/agent/agent-settings.js';
import { parseDuration, parseLogTime } from '../../../domain/modules/log-time.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeModuleRuntime } from '../../support/agent/fake-module-runtime.js';
import { processSpec } from '../../support/agent/specs.js';

const T0 = Date.UTC(2026, 0, 1, 12);

async function setup() {
  const clock = new FakeClock(T0);
  const runtime = new FakeModuleRuntime(clock);
  for (const name of ['sensor', 'filter', 'other']) {
    await runtime.create(processSpec(name), {});
    await runtime.start(name);
  }
  runtime.output.set('sensor', [
    { time: T0 - 3_600_000, stream: 'stdout', text: '<6> old line' },
    { time: T0 - 60_000, stream: 'stdout', text: '<6> temperature 21' },
    { time: T0 - 30_000, stream: 'stderr', text: '<3> sensor error' },
    { time: T0 - 1000, stream: 'stdout', text: 'no level' },
  ]);
  runtime.output.set('filter', [{ time: T0 - 10, stream: 'stdout', text: 'filtered' }]);
  runtime.calls.length = 0;
  return { clock, runtime, methods: new AgentMethods(runtime, clock, new AgentSettings()) };
}

test('ping answers 200; unknown methods 501', async () => {
  const { methods } = await setup();
  assert.deepEqual(await methods.invoke('ping', null), { status: 200, payload: null });
  assert.equal((await methods.invoke('UploadModuleLogs', {})).status, 501);
});

test('RestartModule stops and starts the module; errors are 400/404', async () => {
  const { methods, runtime } = await setup();
  assert.deepEqual(await methods.invoke('RestartModule', { schemaVersion: '1.0', id: 'sensor' }), { status: 200, payload: null });
  assert.deepEqual(runtime.calls, ['stop sensor', 'start sensor']);
  assert.equal((await methods.invoke('RestartModule', { schemaVersion: '1.0', id: 'ghost' })).status, 404);
  assert.equal((await methods.invoke('RestartModule', { schemaVersion: '1.0' })).status, 400);
  assert.equal((await methods.invoke('RestartModule', { schemaVersion: '1.0', id: 'edgeAgent' })).status, 400);
  runtime.fail('start sensor', new Error('spawn failed'));
  assert.deepEqual(await methods.invoke('RestartModule', { id: 'sensor' }), { status: 500, payload: { message: 'spawn failed' } });
});

test('GetModuleLogs: id regex, tail, since as a duration, loglevel, regex, text and json', async () => {
  const { methods } = await setup();
  const text = await methods.invoke('GetModuleLogs', { schemaVersion: '1.0', items: [{ id: 'sensor|filter', filter: { since: '10 minutes' } }], encoding: 'none', contentType: 'text' });
  assert.deepEqual(text, {
    status: 200,
    payload: [
      { id: 'sensor', payload: '<6> temperature 21\n<3> sensor error\nno level' },
      { id: 'filter', payload: 'filtered' },
    ],
  });
  const errors = await methods.invoke('GetModuleLogs', { items: [{ id: 'sens.*', filter: { loglevel: 3 } }], contentType: 'json' });
  assert.deepEqual(errors.payload, [{ id: 'sensor', payload: [{ id: 'sensor', stream: 'stderr', loglevel: 3, timestamp: new Date(T0 - 30_000).toISOString(), text: '<3> sensor error' }] }]);
  const tail = await methods.invoke('GetModuleLogs', { items: [{ id: 'sensor', filter: { tail: 1, regex: 'level' } }] });
  assert.deepEqual(tail.payload, [{ id: 'sensor', payload: 'no level' }]);
  const until = await methods.invoke('GetModuleLogs', { items: [{ id: 'sensor', filter: { until: String((T0 - 3_000_000) / 1000) } }] });
  assert.deepEqual(until.payload, [{ id: 'sensor', payload: '<6> old line' }]);
});

test('GetModuleLogs rejects what it cannot do with 400', async () => {
  const { methods } = await setup();
  for (const payload of [
    {},
    { items: [{ id: 'x' }], encoding: 'gzip' },
    { items: [{ id: 'x' }], contentType: 'xml' },
    { items: [{ id: '(' }] },
    { items: [{ id: 'sensor', filter: { since: 'yesterday-ish' } }] },
    { items: [{ id: 'sensor', filter: { tail: -1 } }] },
    { items: [{ id: 'sensor', filter: { regex: '[' } }] },
  ]) {
    assert.equal((await methods.invoke('GetModuleLogs', payload)).status, 400, JSON.stringify(payload));
  }
});

test('log times: Unix seconds, RFC 3339, durations', () => {
  assert.equal(parseLogTime('1700000000', T0), 1_700_000_000_000);
  assert.equal(parseLogTime(1700000000, T0), 1_700_000_000_000);
  assert.equal(parseLogTime('2026-01-01T10:00:00Z', T0), Date.UTC(2026, 0, 1, 10));
  assert.equal(parseLogTime('1 day', T0), T0 - 86_400_000);
  assert.equal(parseLogTime('2h 30m', T0), T0 - 9_000_000);
  assert.equal(parseLogTime('90s', T0), T0 - 90_000);
  assert.equal(parseLogTime('soon', T0), undefined);
  assert.equal(parseDuration('5 fortnights'), undefined);
  assert.equal(logLevelOf('<4> warn'), 4);
  assert.equal(logLevelOf('plain'), 6);
});
