import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextRestartDue, plan, planShutdown, type Command } from '../../../domain/modules/planner.js';
import type { ModuleState } from '../../../domain/modules/module-status.js';
import { created, current, exited, processSpec, running } from '../../support/agent/specs.js';
import { FakeClock } from '../../support/fake-clock.js';

const NO_STATES = new Map<string, ModuleState>();
const T0 = Date.UTC(2026, 0, 1);

/** Commands as short strings, e.g. `create a`, `restart a #3`. */
function brief(commands: readonly Command[]): string[] {
  return commands.map((c) => (c.kind === 'restart' ? `restart ${c.module} #${c.restartCount}` : `${c.kind} ${c.module}`));
}

test('added module: prepare, create, start; desired stopped: prepare, create', () => {
  assert.deepEqual(brief(plan([processSpec('a')], [], NO_STATES, T0)), ['prepare a', 'create a', 'start a']);
  assert.deepEqual(brief(plan([processSpec('a', { status: 'stopped' })], [], NO_STATES, T0)), ['prepare a', 'create a']);
  const [prepare, create] = plan([processSpec('a')], [], NO_STATES, T0);
  assert.equal(prepare?.kind === 'prepare' && prepare.spec.name, 'a', 'prepare carries the spec to get ready');
  assert.equal(create?.kind === 'create' && create.spec.name, 'a');
  assert.equal(create?.reason, 'added');
});

test('removed module: stop, remove, clear restart state', () => {
  const a = processSpec('a');
  assert.deepEqual(brief(plan([], [current(a, running(T0))], NO_STATES, T0)), ['stop a', 'remove a']);
  const states = new Map([['a', { restartCount: 2 }]]);
  assert.deepEqual(brief(plan([], [current(a, running(T0))], states, T0)), ['stop a', 'remove a', 'clear-state a']);
});

test('updated module (any field but status): prepare (while the old one runs), stop, remove, create, start; restart state cleared', () => {
  const before = processSpec('a');
  const cases = [
    processSpec('a', { version: '2.0' }),
    processSpec('a', { env: { X: '1' } }),
    processSpec('a', { restartPolicy: 'never' }),
    processSpec('a', { startupOrder: 3 }),
    processSpec('a', { settings: { kind: 'process', command: 'node', args: ['-e', '1'] } }),
    processSpec('a', { imagePullPolicy: 'never' }),
  ];
  for (const after of cases) {
    assert.deepEqual(brief(plan([after], [current(before, running(T0))], NO_STATES, T0)), ['prepare a', 'stop a', 'remove a', 'create a', 'start a']);
  }
  const states = new Map([['a', { restartCount: 4 }]]);
  assert.deepEqual(brief(plan([cases[0]!], [current(before, exited(1, T0, T0))], states, T0)), ['clear-state a', 'prepare a', 'stop a', 'remove a', 'create a', 'start a']);
  // Updated to a stopped module with a different version: re-created, not started.
  assert.deepEqual(brief(plan([processSpec('a', { version: '3', status: 'stopped' })], [current(before, running(T0))], NO_STATES, T0)), ['prepare a', 'stop a', 'remove a', 'create a']);
});

test('key order in the spec does not count as a change', () => {
  const a = processSpec('a', { env: { A: '1', B: '2' } });
  const b = processSpec('a', { env: { B: '2', A: '1' } });
  assert.deepEqual(plan([b], [current(a, running(T0))], NO_STATES, T0), []);
});

test('only the desired status changed: start or stop, no re-creation', () => {
  const runningSpec = processSpec('a');
  const stoppedSpec = processSpec('a', { status: 'stopped' });
  assert.deepEqual(brief(plan([stoppedSpec], [current(runningSpec, running(T0))], NO_STATES, T0)), ['stop a']);
  assert.deepEqual(brief(plan([runningSpec], [current(stoppedSpec, exited(143, T0, T0))], NO_STATES, T0)), ['start a']);
  // Already in the wanted state: the stop is still issued so the runtime records the status.
  const states = new Map([['a', { restartCount: 1 }]]);
  assert.deepEqual(brief(plan([stoppedSpec], [current(runningSpec, exited(0, T0, T0))], states, T0)), ['clear-state a', 'stop a']);
});

test('unchanged and running: nothing to do; restart stats reset after 10 minutes running', () => {
  const a = processSpec('a');
  assert.deepEqual(plan([a], [current(a, running(T0))], NO_STATES, T0 + 3_600_000), []);
  const states = new Map([['a', { restartCount: 3 }]]);
  assert.deepEqual(plan([a], [current(a, running(T0))], states, T0 + 600_000), []);
  assert.deepEqual(brief(plan([a], [current(a, running(T0))], states, T0 + 600_001)), ['clear-state a']);
});

test('desired stopped but running (changed outside the agent): stop', () => {
  const a = processSpec('a', { status: 'stopped' });
  assert.deepEqual(brief(plan([a], [current(a, running(T0))], NO_STATES, T0)), ['stop a']);
});

test('created but never started: start, whatever the policy', () => {
  for (const restartPolicy of ['never', 'on-failure', 'on-unhealthy', 'always'] as const) {
    const a = processSpec('a', { restartPolicy });
    assert.deepEqual(brief(plan([a], [current(a, created())], NO_STATES, T0)), ['start a'], restartPolicy);
  }
});

test('clean exit: always -> back-off restart; on-failure/on-unhealthy -> plain start; never -> left stopped', () => {
  const exit = exited(0, T0, T0 + 1000);
  const later = T0 + 1000 + 10_000;
  assert.deepEqual(brief(plan([processSpec('a', { restartPolicy: 'always' })], [current(processSpec('a', { restartPolicy: 'always' }), exit)], NO_STATES, later)), ['restart a #1']);
  for (const restartPolicy of ['on-failure', 'on-unhealthy'] as const) {
    const a = processSpec('a', { restartPolicy });
    assert.deepEqual(brief(plan([a], [current(a, exit)], NO_STATES, T0 + 1000)), ['start a'], restartPolicy);
  }
  const never = processSpec('a', { restartPolicy: 'never' });
  assert.deepEqual(plan([never], [current(never, exit)], NO_STATES, later), []);
});

test('failure exit: restarted after cool-off unless policy is never', () => {
  for (const restartPolicy of ['on-failure', 'on-unhealthy', 'always'] as const) {
    const a = processSpec('a', { restartPolicy });
    const state = exited(2, T0, T0 + 1000);
    assert.deepEqual(plan([a], [current(a, state)], NO_STATES, T0 + 1000 + 9_999), [], restartPolicy);
    assert.deepEqual(brief(plan([a], [current(a, state)], NO_STATES, T0 + 1000 + 10_000)), ['restart a #1'], restartPolicy);
  }
  const never = processSpec('a', { restartPolicy: 'never' });
  assert.deepEqual(plan([never], [current(never, exited(2, T0, T0 + 1000))], NO_STATES, T0 + 3_600_000), []);
});

test('unhealthy module: restarted under on-unhealthy and always, not under on-failure', () => {
  const unhealthy = { status: 'unhealthy' as const, exitCode: 0, statusDescription: 'unhealthy', startedAt: T0, unhealthySince: T0 + 5000 };
  for (const restartPolicy of ['on-unhealthy', 'always'] as const) {
    const a = processSpec('a', { restartPolicy });
    assert.deepEqual(plan([a], [current(a, unhealthy)], NO_STATES, T0 + 5000 + 9_000), []);
    const commands = plan([a], [current(a, unhealthy)], NO_STATES, T0 + 5000 + 10_000);
    assert.deepEqual(brief(commands), ['restart a #1'], restartPolicy);
    assert.equal(commands[0]?.reason, 'restart-policy');
  }
  const onFailure = processSpec('a', { restartPolicy: 'on-failure' });
  assert.deepEqual(plan([onFailure], [current(onFailure, unhealthy)], NO_STATES, T0 + 3_600_000), []);
});

test('back-off table through the planner with a fake clock: 10, 20, 40, 80, 160, 300, 300 s; failed after 20 restarts', () => {
  const clock = new FakeClock(T0);
  const spec = processSpec('crashy', { restartPolicy: 'always' });
  const states = new Map<string, ModuleState>();
  let state = exited(1, clock.now(), clock.now());
  const waits: number[] = [];
  for (let restart = 0; restart < 25; restart++) {
    const exitAt = clock.now();
    state = exited(1, exitAt - 100, exitAt);
    // Poll every second, like a fast reconcile loop, until the planner restarts the module.
    let commands: Command[] = [];
    for (let polls = 0; polls < 400; polls++) {
      commands = plan([spec], [current(spec, state)], states, clock.now());
      if (commands.length > 0) break;
      clock.advance(1000);
    }
    if (commands.length === 0) break;
    const [command] = commands;
    assert.equal(command?.kind, 'restart');
    if (command?.kind !== 'restart') return;
    waits.push((clock.now() - exitAt) / 1000);
    states.set('crashy', { restartCount: command.restartCount, lastRestartTime: clock.now() });
    clock.advance(100); // crashes again 100 ms after the restart
  }
  assert.deepEqual(waits.slice(0, 7), [10, 20, 40, 80, 160, 300, 300]);
  assert.equal(waits.length, 20, 'exactly 20 restarts, then failed');
  assert.equal(states.get('crashy')?.restartCount, 20);
  assert.deepEqual(plan([spec], [current(spec, state)], states, clock.now() + 3_600_000), [], 'failed: left alone');
  // A deployment change clears the count and re-creates the module.
  const updated = processSpec('crashy', { restartPolicy: 'always', version: '2' });
  assert.deepEqual(brief(plan([updated], [current(spec, state)], states, clock.now())), ['clear-state crashy', 'prepare crashy', 'stop crashy', 'remove crashy', 'create crashy', 'start crashy']);
});

test('nextRestartDue tells when the earliest back-off ends', () => {
  const a = processSpec('a');
  const b = processSpec('b');
  const states = new Map([['b', { restartCount: 1 }]]);
  const cur = [current(a, exited(1, T0, T0 + 1000)), current(b, exited(1, T0, T0 + 2000))];
  assert.equal(nextRestartDue([a, b], cur, states, T0 + 2000), T0 + 11_000);
  assert.equal(nextRestartDue([a, b], cur, states, T0 + 11_000), T0 + 22_000);
  assert.equal(nextRestartDue([a], [current(a, running(T0))], NO_STATES, T0), undefined);
});

test('startupOrder groups run in ascending order; removals come first; names order within a group', () => {
  const desired = [
    processSpec('late', { startupOrder: 10 }),
    processSpec('b', { startupOrder: 1 }),
    processSpec('a', { startupOrder: 1 }),
    processSpec('default'),
    processSpec('first', { startupOrder: 0 }),
  ];
  const old = processSpec('old', { startupOrder: 0 });
  assert.deepEqual(brief(plan(desired, [current(old, running(T0))], NO_STATES, T0)), [
    'stop old', 'remove old',
    'prepare first', 'create first', 'start first',
    'prepare a', 'create a', 'start a', 'prepare b', 'create b', 'start b',
    'prepare late', 'create late', 'start late',
    'prepare default', 'create default', 'start default',
  ]);
});

test('within a group: dead, cleared state, added, updated, state changes, desired-status changes, reset', () => {
  const dead = processSpec('dead');
  const added = processSpec('added');
  const updatedBefore = processSpec('updated');
  const updatedAfter = processSpec('updated', { version: '2' });
  const crashed = processSpec('crashed');
  const toStop = processSpec('tostop', { status: 'stopped' });
  const commands = plan(
    [dead, added, updatedAfter, crashed, toStop],
    [
      current(dead, { status: 'dead', exitCode: 0, statusDescription: 'dead' }),
      current(updatedBefore, running(T0)),
      current(crashed, exited(1, T0, T0)),
      current(processSpec('tostop'), running(T0)),
    ],
    NO_STATES,
    T0 + 60_000,
  );
  assert.deepEqual(brief(commands), [
    'remove dead',
    'prepare added', 'create added', 'start added',
    'prepare dead', 'create dead', 'start dead',
    'prepare updated', 'stop updated', 'remove updated', 'create updated', 'start updated',
    'restart crashed #1',
    'stop tostop',
  ]);
});

test('planShutdown stops what runs', () => {
  const a = processSpec('a');
  const b = processSpec('b');
  assert.deepEqual(brief(planShutdown([current(b, running(T0)), current(a, exited(1, T0, T0))])), ['stop b']);
});

test('a changed registry credential alone re-creates nothing (Azure leaves credentials out of module equality)', () => {
  const deployed = processSpec('app', { registryCredential: { address: 'registry.local:5000', username: 'edge', password: 'old' } });
  const rotated = processSpec('app', { registryCredential: { address: 'registry.local:5000', username: 'edge', password: 'new' } });
  // As a runtime reads the module back: the credential is not stored with it.
  const readBack = processSpec('app');
  for (const existing of [deployed, readBack]) {
    assert.deepEqual(brief(plan([rotated], [current(existing, running(T0))], NO_STATES, T0 + 1000)), []);
  }
  // A real change next to it still re-creates.
  const changed = processSpec('app', { version: '2.0', registryCredential: rotated.registryCredential! });
  assert.notDeepEqual(brief(plan([changed], [current(deployed, running(T0))], NO_STATES, T0 + 1000)), []);
});
