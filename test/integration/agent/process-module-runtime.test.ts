import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProcessModuleRuntime, logFileName } from '../../../adapters/process/process-module-runtime.js';
import { SystemClock } from '../../../adapters/clock/system-clock.js';
import { ModuleNotFoundError, UnsupportedModuleError, type LogLine, type ModuleRuntimeEvent } from '../../../application/ports/module-runtime.js';
import { MemoryLogger } from '../../support/agent/memory-logger.js';
import { isAlive, nodeModule, SCRIPTS, tempDir, until } from '../../support/agent/process-fixtures.js';
import { processSpec } from '../../support/agent/specs.js';

const temp = tempDir('process-runtime');
const runtimes: ProcessModuleRuntime[] = [];
after(async () => {
  await Promise.all(runtimes.map((r) => r.shutdown(1000)));
  temp.cleanup();
});

function runtime(options: Partial<ConstructorParameters<typeof ProcessModuleRuntime>[2]> = {}): ProcessModuleRuntime {
  const r = new ProcessModuleRuntime(new SystemClock(), new MemoryLogger(), { logsDir: join(temp.dir, `logs-${runtimes.length}`), stopTimeoutMs: 2000, ...options });
  runtimes.push(r);
  return r;
}

async function collect(iterable: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const line of iterable) out.push(line);
  return out;
}

async function stateOf(r: ProcessModuleRuntime, name: string) {
  return (await r.list()).find((m) => m.name === name)?.state;
}

test('a crashing module: running, then failed with its exit code, an exited event and its output captured', { timeout: 10_000 }, async () => {
  const r = runtime();
  const events: ModuleRuntimeEvent[] = [];
  r.onEvent((e) => events.push(e));
  await r.create(nodeModule('crashy', SCRIPTS.crash(3)), {});
  assert.equal((await stateOf(r, 'crashy'))?.statusDescription, 'created');
  await r.start('crashy');
  await until(async () => (await stateOf(r, 'crashy'))?.status === 'failed', 5000, 'crash');
  const state = await stateOf(r, 'crashy');
  assert.equal(state?.exitCode, 3);
  assert.equal(state?.statusDescription, 'exited (3)');
  assert.ok(state?.startedAt !== undefined && state.exitedAt !== undefined && state.exitedAt >= state.startedAt);
  assert.deepEqual(events.map((e) => e.kind), ['started', 'exited']);
  assert.equal(events[1]?.exitCode, 3);
  await until(async () => (await collect(r.logs('crashy'))).length === 2, 2000, 'log lines');
  const lines = await collect(r.logs('crashy'));
  assert.deepEqual(lines.map((l) => [l.stream, l.text]).sort(), [['stderr', 'boom'], ['stdout', 'starting']]);
});

test('env: module env plus inherited basics, not the rest of the agent environment', { timeout: 10_000 }, async () => {
  process.env['EDGEPORT_TEST_SECRET'] = 'hidden';
  const r = runtime();
  delete process.env['EDGEPORT_TEST_SECRET'];
  await r.create(nodeModule('env', 'console.log(JSON.stringify({ m: process.env.IOTEDGE_MODULEID, s: process.env.EDGEPORT_TEST_SECRET ?? null, p: Boolean(process.env.PATH) }))'), { IOTEDGE_MODULEID: 'env' });
  await r.start('env');
  await until(async () => (await collect(r.logs('env'))).length === 1, 5000, 'output');
  const [line] = await collect(r.logs('env'));
  assert.deepEqual(JSON.parse(line?.text ?? '{}'), { m: 'env', s: null, p: true });
});

test('stop: SIGTERM stops a module (status stopped); a module ignoring it is killed after the timeout', { timeout: 15_000 }, async () => {
  const r = runtime();
  await r.create(nodeModule('idle', SCRIPTS.idle), {});
  await r.start('idle');
  const pid = Number((await stateOf(r, 'idle'))?.id);
  assert.ok(isAlive(pid));
  await r.stop('idle', 2000);
  const stopped = await stateOf(r, 'idle');
  assert.equal(stopped?.status, 'stopped', 'stopped by the agent, whatever the exit code');
  assert.equal(stopped?.exitCode, 143);
  assert.equal((await r.list())[0]?.spec.status, 'stopped');
  assert.equal(isAlive(pid), false);
  await r.stop('idle'); // idempotent

  await r.create(nodeModule('stubborn', SCRIPTS.stubborn), {});
  await r.start('stubborn');
  await until(async () => (await collect(r.logs('stubborn'))).length === 1, 5000, 'ready');
  const began = Date.now();
  await r.stop('stubborn', 300);
  assert.ok(Date.now() - began >= 290);
  assert.equal((await stateOf(r, 'stubborn'))?.exitCode, 137);
});

test('stop reaches the whole process group', { timeout: 10_000, skip: process.platform === 'win32' && 'POSIX process groups' }, async () => {
  const r = runtime();
  const script = `const c = require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000)`;
  await r.create(nodeModule('parent', script), {});
  await r.start('parent');
  await until(async () => (await collect(r.logs('parent'))).length === 1, 5000, 'grandchild pid');
  const [line] = await collect(r.logs('parent'));
  const grandchild = Number(line?.text);
  assert.ok(isAlive(grandchild));
  await r.stop('parent', 2000);
  await until(() => !isAlive(grandchild), 3000, 'grandchild gone');
});

test('logs: tail, since, and follow until the module exits', { timeout: 10_000 }, async () => {
  const r = runtime();
  const script = "let i = 0; const t = setInterval(() => { console.log('line ' + i++); if (i === 5) { clearInterval(t); } }, 30)";
  await r.create(nodeModule('ticker', script), {});
  await r.start('ticker');
  const followed = await collect(r.logs('ticker', { follow: true }));
  assert.deepEqual(followed.map((l) => l.text), ['line 0', 'line 1', 'line 2', 'line 3', 'line 4']);
  assert.deepEqual((await collect(r.logs('ticker', { tail: 2 }))).map((l) => l.text), ['line 3', 'line 4']);
  assert.deepEqual(await collect(r.logs('ticker', { tail: 0 })), []);
  const since = followed[3]?.time ?? 0;
  assert.deepEqual((await collect(r.logs('ticker', { since }))).map((l) => l.text).at(0), followed.find((l) => l.time >= since)?.text);
  // follow on a stopped module returns what exists and ends.
  assert.equal((await collect(r.logs('ticker', { follow: true }))).length, 5);
});

test('logs follow ends on abort', { timeout: 10_000 }, async () => {
  const r = runtime();
  await r.create(nodeModule('idle2', "console.log('hello'); setInterval(() => {}, 1000)"), {});
  await r.start('idle2');
  const controller = new AbortController();
  const seen: string[] = [];
  for await (const line of r.logs('idle2', { follow: true, signal: controller.signal })) {
    seen.push(line.text);
    controller.abort();
  }
  assert.deepEqual(seen, ['hello']);
});

test('log files rotate by size, keeping at most maxLogFiles files', { timeout: 10_000 }, async () => {
  const r = runtime({ maxLogBytes: 4096, maxLogFiles: 3 });
  await r.create(nodeModule('chatty', "for (let i = 0; i < 500; i++) console.log('message number ' + i)"), {});
  await r.start('chatty');
  await until(async () => (await collect(r.logs('chatty', { tail: 1 })))[0]?.text === 'message number 499', 5000, 'last line');
  const dir = join(temp.dir, `logs-${runtimes.length - 1}`);
  const files = readdirSync(dir).filter((f) => f.startsWith('chatty.log'));
  assert.deepEqual(files.sort(), ['chatty.log', 'chatty.log.1', 'chatty.log.2']);
  for (const f of files) assert.ok(statSync(join(dir, f)).size <= 4096, `${f} within the size limit`);
  const kept = await collect(r.logs('chatty'));
  assert.ok(kept.length < 500 && kept.length > 50);
  assert.equal(kept.at(-1)?.text, 'message number 499');
  const numbers = kept.map((l) => Number(l.text.split(' ').at(-1)));
  assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b), 'oldest first, in order');
  await r.remove('chatty');
  assert.equal(readdirSync(dir).filter((f) => f.startsWith('chatty.log')).length, 0, 'remove deletes the logs');
});

test('errors: docker modules, unknown modules, missing commands and directories', { timeout: 10_000 }, async () => {
  const r = runtime();
  await assert.rejects(
    r.create(processSpec('img', { type: 'docker', settings: { kind: 'docker', image: 'alpine:latest', createOptions: {} } }), {}),
    (e: unknown) => e instanceof UnsupportedModuleError && /type "docker"/.test(e.message),
  );
  await assert.rejects(r.start('nope'), ModuleNotFoundError);
  await r.stop('nope');
  await r.remove('nope');
  await r.create(processSpec('missing', { settings: { kind: 'process', command: join(temp.dir, 'no-such-binary'), args: [] } }), {});
  await assert.rejects(r.start('missing'), /cannot start module "missing": spawn .*ENOENT/);
  assert.equal((await stateOf(r, 'missing'))?.status, 'stopped');
  assert.equal((await stateOf(r, 'missing'))?.startedAt, undefined);
  const file = join(temp.dir, 'a-file');
  writeFileSync(file, '');
  await r.create(processSpec('badcwd', { settings: { kind: 'process', command: process.execPath, args: ['-e', '0'], cwd: file } }), {});
  await assert.rejects(r.start('badcwd'), /working directory .* is not a directory/);
  assert.equal(existsSync(file), true);
});

test('log file names escape unusual module names', () => {
  assert.equal(logFileName('sensor-1.a_b'), 'sensor-1.a_b.log');
  assert.equal(logFileName('a*b?c'), 'a%2Ab%3Fc.log');
});

test('logs until: only lines before the given time', { timeout: 10_000 }, async () => {
  const r = runtime();
  await r.create(nodeModule('u', "console.log('one'); setTimeout(() => console.log('two'), 150)"), {});
  await r.start('u');
  await until(async () => (await collect(r.logs('u'))).length === 2, 5000, 'two lines');
  const [first, second] = await collect(r.logs('u'));
  assert.ok(first !== undefined && second !== undefined && second.time > first.time);
  assert.deepEqual((await collect(r.logs('u', { until: second.time }))).map((l) => l.text), ['one']);
});

test('processes left by a dead agent are stopped by the next one; unrelated PIDs are left alone', { timeout: 15_000, skip: process.platform !== 'linux' && 'needs /proc to verify command lines' }, async () => {
  const logsDir = join(temp.dir, 'orphans');
  const first = runtime({ logsDir });
  await first.create(nodeModule('orphan', SCRIPTS.idle), {});
  await first.start('orphan');
  const pid = Number((await stateOf(first, 'orphan'))?.id);
  assert.ok(existsSync(join(logsDir, 'orphan.pid')));
  // A pid file naming this test process with another command line must not kill it.
  writeFileSync(join(logsDir, 'impostor.pid'), JSON.stringify({ module: 'impostor', pid: process.pid, command: '/bin/sleep', args: ['100'] }));
  writeFileSync(join(logsDir, 'garbage.pid'), 'not json');

  // The first agent "dies" without stopping its modules; a second one starts on the same directory.
  const second = runtime({ logsDir });
  assert.deepEqual(await second.reapOrphans(2000), ['orphan']);
  assert.equal(isAlive(pid), false);
  assert.equal(isAlive(process.pid), true);
  assert.deepEqual(readdirSync(logsDir).filter((f) => f.endsWith('.pid')), []);
  assert.deepEqual(await second.reapOrphans(2000), [], 'nothing left');
});

test('concurrent starts spawn one process', { timeout: 10_000 }, async () => {
  const r = runtime();
  const events: ModuleRuntimeEvent[] = [];
  r.onEvent((e) => events.push(e));
  await r.create(nodeModule('once', SCRIPTS.idle), {});
  await Promise.all([r.start('once'), r.start('once'), r.start('once')]);
  assert.equal(events.filter((e) => e.kind === 'started').length, 1);
  await r.stop('once', 2000);
});
