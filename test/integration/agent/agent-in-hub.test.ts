import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { MethodService } from '../../../application/hub/method-service.js';
import { TwinService } from '../../../application/hub/twin-service.js';
import { ModuleRuntime } from '../../../application/ports/module-runtime.js';
import { moduleIdentity } from '../../../domain/identity/identity.js';
import { until } from '../../support/agent/process-fixtures.js';
import { EDGE_DEVICE, startRuntime, type TestRuntime } from '../../support/management/runtime-harness.js';

/** Prints a numbered line every 50 ms until stopped. */
const TICKER = "let n = 0; console.log('started'); setInterval(() => console.log('tick ' + (++n)), 50)";
const AGENT = moduleIdentity(EDGE_DEVICE, '$edgeAgent');

let runtime: TestRuntime;

before(async () => {
  runtime = await startRuntime({
    hub: true,
    modules: {
      app: { type: 'process', status: 'running', restartPolicy: 'always', version: '1.0', settings: { command: process.execPath, args: ['-e', TICKER] } },
    },
  });
});

after(async () => {
  await runtime.close();
});

type Reported = { lastDesiredVersion?: number; lastDesiredStatus?: { code: number }; schemaVersion?: string; modules?: Record<string, Record<string, unknown>>; systemModules?: Record<string, Record<string, unknown>> };

async function reported(): Promise<Reported> {
  return (await runtime.get(TwinService).get(AGENT)).reported.properties as Reported;
}

test('$edgeAgent twin: the agent keeps its reported properties in the hub twin (runtimeStatus, lastDesiredVersion, status)', { timeout: 20_000 }, async () => {
  await until(async () => (await reported()).modules?.['app']?.['runtimeStatus'] === 'running', 10_000, 'app running in the $edgeAgent twin');
  const state = await reported();
  assert.equal(state.schemaVersion, '1.0');
  assert.equal(state.lastDesiredVersion, 1);
  assert.deepEqual(state.lastDesiredStatus, { code: 200, description: '' });
  const app = state.modules!['app']!;
  assert.equal(app['restartPolicy'], 'always');
  assert.equal(app['restartCount'], 0);
  assert.match(String(app['lastStartTimeUtc']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?$/);
  assert.equal(state.systemModules?.['edgeAgent']?.['runtimeStatus'], 'running');

  // A new deployment: version 2, the module removed from the twin (null patch), the new one added.
  writeFileSync(
    runtime.manifestPath,
    JSON.stringify({
      modulesContent: {
        $edgeAgent: {
          'properties.desired': {
            schemaVersion: '1.1',
            modules: {
              app: { type: 'process', status: 'running', restartPolicy: 'always', version: '1.0', settings: { command: process.execPath, args: ['-e', TICKER] } },
              other: { type: 'process', status: 'stopped', restartPolicy: 'never', version: '2.0', settings: { command: process.execPath, args: ['-e', '0'] } },
            },
          },
        },
      },
    }),
  );
  await until(async () => (await reported()).lastDesiredVersion === 2 && (await reported()).modules?.['other'] !== undefined, 10_000, 'deployment 2 in the twin');
  const second = await reported();
  assert.equal(second.modules!['other']!['version'], '2.0');
  assert.equal(second.modules!['other']!['runtimeStatus'], 'stopped');
  assert.equal(second.modules!['app']!['runtimeStatus'], 'running');
});

test('$edgeAgent direct methods through the hub MethodService: ping, RestartModule, GetModuleLogs', { timeout: 20_000 }, async () => {
  const methods = runtime.get(MethodService);
  const moduleRuntime = runtime.get(ModuleRuntime);
  await until(async () => (await moduleRuntime.list()).find((m) => m.name === 'app')?.state.status === 'running', 10_000, 'app running');
  assert.deepEqual(await methods.invoke(AGENT, 'ping', undefined), { status: 200, payload: null });

  const pid = (await moduleRuntime.list()).find((m) => m.name === 'app')!.state.id;
  assert.deepEqual(await methods.invoke(AGENT, 'RestartModule', { schemaVersion: '1.0', id: 'app' }), { status: 200, payload: null });
  const after = (await moduleRuntime.list()).find((m) => m.name === 'app')!;
  assert.equal(after.state.status, 'running');
  assert.notEqual(after.state.id, pid, 'a new process');
  assert.equal((await methods.invoke(AGENT, 'RestartModule', { schemaVersion: '1.0', id: 'nope' })).status, 404);

  // The restarted process needs a moment (longer on a loaded machine) to print three lines.
  const getLogs = () => methods.invoke(AGENT, 'GetModuleLogs', { schemaVersion: '1.0', items: [{ id: 'app', filter: { tail: 3 } }], encoding: 'none', contentType: 'text' });
  await until(async () => ((await getLogs()).payload as Array<{ payload: string }>)[0]?.payload.split('\n').length === 3, 10_000, 'three log lines');
  const logs = await getLogs();
  assert.equal(logs.status, 200);
  const items = logs.payload as Array<{ id: string; payload: string }>;
  assert.equal(items.length, 1);
  assert.equal(items[0]!.id, 'app');
  const lines = items[0]!.payload.split('\n');
  assert.equal(lines.length, 3);
  assert.ok(lines.every((l) => /^(tick \d+|started)$/.test(l)), items[0]!.payload);
  assert.equal((await methods.invoke(AGENT, 'GetModuleLogs', { items: [{ id: '(' }] })).status, 400);
});
