import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { plan, type Command, type CurrentModule } from '../../../domain/modules/planner.js';
import { specsEqual, type ModuleSpec } from '../../../domain/modules/module-spec.js';
import type { ModuleRuntimeState, ModuleState } from '../../../domain/modules/module-status.js';
import { processSpec } from '../../support/agent/specs.js';

const NOW = Date.UTC(2026, 0, 1, 12);
const NAMES = ['a', 'b', 'c', 'd', 'e'];

const specArb = (name: string): fc.Arbitrary<ModuleSpec> =>
  fc.record({
    version: fc.constantFrom('1', '2'),
    status: fc.constantFrom('running' as const, 'stopped' as const),
    restartPolicy: fc.constantFrom('never' as const, 'on-failure' as const, 'on-unhealthy' as const, 'always' as const),
    startupOrder: fc.integer({ min: 0, max: 2 }),
  }).map((fields) => processSpec(name, fields));

const stateArb: fc.Arbitrary<ModuleRuntimeState> = fc.oneof(
  fc.integer({ min: 0, max: 3_600_000 }).map((ago): ModuleRuntimeState => ({ status: 'running', exitCode: 0, statusDescription: 'running', startedAt: NOW - ago })),
  fc.record({ code: fc.constantFrom(0, 1, 137), ago: fc.integer({ min: 0, max: 400_000 }), started: fc.boolean() }).map(({ code, ago, started }): ModuleRuntimeState => {
    const state: ModuleRuntimeState = { status: code === 0 ? 'stopped' : 'failed', exitCode: code, statusDescription: 'exited' };
    if (started) Object.assign(state, { startedAt: NOW - ago - 1000, exitedAt: NOW - ago });
    return state;
  }),
  fc.integer({ min: 0, max: 400_000 }).map((ago): ModuleRuntimeState => ({ status: 'unhealthy', exitCode: 0, statusDescription: 'unhealthy', startedAt: NOW - ago - 1000, unhealthySince: NOW - ago })),
  fc.constant<ModuleRuntimeState>({ status: 'dead', exitCode: 0, statusDescription: 'dead' }),
);

const worldArb = fc.record({
  desired: fc.subarray(NAMES).chain((names) => fc.tuple(...names.map(specArb))),
  current: fc.subarray(NAMES).chain((names) => fc.tuple(...names.map((n) => fc.record({ spec: specArb(n), state: stateArb }).map(({ spec, state }): CurrentModule => ({ name: n, spec, state }))))),
  states: fc.dictionary(fc.constantFrom(...NAMES), fc.record({ restartCount: fc.integer({ min: 0, max: 25 }) }), { maxKeys: 5 }),
});

const isActive = (s: ModuleRuntimeState): boolean => s.status === 'running' || s.status === 'unhealthy';

/** Executes a plan against an ideal runtime in which every command succeeds at once. */
function apply(commands: readonly Command[], current: Map<string, CurrentModule>, states: Map<string, ModuleState>): void {
  for (const c of commands) {
    const m = current.get(c.module);
    switch (c.kind) {
      case 'create':
        current.set(c.module, { name: c.module, spec: c.spec, state: { status: 'stopped', exitCode: 0, statusDescription: 'created' } });
        break;
      case 'start':
      case 'restart':
        assert.ok(m, `${c.kind} of a missing module ${c.module}`);
        m.spec = { ...m.spec, status: 'running' };
        if (c.kind === 'restart' || !isActive(m.state)) m.state = { status: 'running', exitCode: m.state.exitCode, statusDescription: 'running', startedAt: NOW };
        if (c.kind === 'restart') states.set(c.module, { restartCount: c.restartCount, lastRestartTime: NOW });
        break;
      case 'stop':
        if (m === undefined) break;
        m.spec = { ...m.spec, status: 'stopped' };
        if (isActive(m.state)) m.state = { ...m.state, status: 'stopped', exitedAt: NOW };
        break;
      case 'remove':
        current.delete(c.module);
        break;
      case 'clear-state':
        states.delete(c.module);
        break;
    }
  }
}

test('property: one plan converges; planning again finds nothing to do', () => {
  fc.assert(
    fc.property(worldArb, ({ desired, current, states }) => {
      const currentMap = new Map(current.map((m) => [m.name, { ...m }]));
      const stateMap = new Map(Object.entries(states));
      const commands = plan(desired, current, stateMap, NOW);
      apply(commands, currentMap, stateMap);

      assert.deepEqual([...currentMap.keys()].sort(), desired.map((d) => d.name).sort(), 'exactly the desired modules exist');
      for (const d of desired) {
        const m = currentMap.get(d.name);
        assert.ok(m !== undefined && specsEqual(m.spec, d), `${d.name} has the desired spec`);
        if (d.status === 'stopped') assert.equal(isActive(m.state), false, `${d.name} desired stopped is not running`);
      }
      assert.deepEqual(plan(desired, [...currentMap.values()], stateMap, NOW), [], 'second plan is empty');
    }),
    { numRuns: 3000 },
  );
});

test('property: creates follow startupOrder; removals precede every create', () => {
  fc.assert(
    fc.property(worldArb, ({ desired, current, states }) => {
      const commands = plan(desired, current, new Map(Object.entries(states)), NOW);
      const orderOf = new Map(desired.map((d) => [d.name, d.startupOrder]));
      const creates = commands.filter((c) => c.kind === 'create').map((c) => orderOf.get(c.module) ?? -1);
      assert.deepEqual(creates, [...creates].sort((x, y) => x - y));
      const firstCreate = commands.findIndex((c) => c.kind === 'create');
      const lastRemoval = commands.map((c) => c.reason).lastIndexOf('removed');
      if (firstCreate >= 0 && lastRemoval >= 0) assert.ok(lastRemoval < firstCreate);
    }),
    { numRuns: 300 },
  );
});
