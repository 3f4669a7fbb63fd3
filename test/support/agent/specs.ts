import type { ModuleSpec } from '../../../domain/modules/module-spec.js';
import type { CurrentModule } from '../../../domain/modules/planner.js';
import type { ModuleRuntimeState } from '../../../domain/modules/module-status.js';

/** A process module spec with overridable fields. */
export function processSpec(name: string, overrides: Partial<ModuleSpec> = {}): ModuleSpec {
  return {
    name,
    version: '1.0',
    type: 'process',
    status: 'running',
    restartPolicy: 'always',
    imagePullPolicy: 'on-create',
    startupOrder: 4294967295,
    env: {},
    settings: { kind: 'process', command: 'node', args: ['-e', '0'] },
    ...overrides,
  };
}

export function running(startedAt: number): ModuleRuntimeState {
  return { status: 'running', exitCode: 0, statusDescription: 'running', startedAt };
}

export function exited(code: number, startedAt: number, exitedAt: number): ModuleRuntimeState {
  return { status: code === 0 ? 'stopped' : 'failed', exitCode: code, statusDescription: `exited (${code})`, startedAt, exitedAt };
}

export function created(): ModuleRuntimeState {
  return { status: 'stopped', exitCode: 0, statusDescription: 'created' };
}

export function current(spec: ModuleSpec, state: ModuleRuntimeState): CurrentModule {
  return { name: spec.name, spec, state };
}
