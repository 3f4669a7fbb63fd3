/**
 * Agent overhead: 50 process modules started from one manifest through the reconcile loop, against
 * the same 50 started by a plain loop over the same runtime adapter. Last line:
 * `agent: reconcile/direct = R (reconcile T1 s, direct T2 s)`; target R <= 1.5.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentSettings } from '../application/agent/agent-settings.js';
import { ReconcileDeployment } from '../application/agent/reconcile-deployment.js';
import { Logger, type LogFields } from '../application/ports/logger.js';
import { SystemClock } from '../adapters/clock/system-clock.js';
import { FileDeploymentSource } from '../adapters/deployment/file-deployment-source.js';
import { ProcessModuleRuntime } from '../adapters/process/process-module-runtime.js';
import { InMemoryModuleStateStore } from '../adapters/state/in-memory-module-state-store.js';
import { parseAgentDesired } from '../domain/deployment/agent-desired.js';
import { moduleEnvironment } from '../domain/modules/module-environment.js';

const MODULES = Number(process.env['BENCH_AGENT_MODULES'] ?? 50);
const SCRIPT = 'setInterval(() => {}, 1000)';

class QuietLogger extends Logger {
  debug(_m: string, _f?: LogFields): void {}
  info(_m: string, _f?: LogFields): void {}
  warn(m: string, _f?: LogFields): void {
    process.stderr.write(`warn: ${m}\n`);
  }
  error(m: string, _f?: LogFields): void {
    process.stderr.write(`error: ${m}\n`);
  }
  child(): Logger {
    return this;
  }
}

function desired(): Record<string, unknown> {
  const modules: Record<string, unknown> = {};
  for (let i = 0; i < MODULES; i++) {
    modules[`m${String(i).padStart(3, '0')}`] = {
      type: 'process',
      status: 'running',
      restartPolicy: 'always',
      version: '1.0',
      settings: { command: process.execPath, args: ['-e', SCRIPT] },
    };
  }
  return { schemaVersion: '1.1', modules };
}

async function running(runtime: ProcessModuleRuntime): Promise<number> {
  return (await runtime.list()).filter((m) => m.state.status === 'running').length;
}

async function viaReconcile(dir: string): Promise<number> {
  const clock = new SystemClock();
  const logger = new QuietLogger();
  const runtime = new ProcessModuleRuntime(clock, logger, { logsDir: join(dir, 'reconcile-logs'), stopTimeoutMs: 2000 });
  const manifest = join(dir, 'deployment.json');
  writeFileSync(manifest, JSON.stringify({ modulesContent: { $edgeAgent: { 'properties.desired': desired() } } }));
  const source = new FileDeploymentSource(clock, logger, { path: manifest });
  const settings = new AgentSettings({ stopTimeoutMs: 2000 });
  const loop = new ReconcileDeployment(source, runtime, new InMemoryModuleStateStore(), clock, logger, settings);
  const began = process.hrtime.bigint();
  await loop.start();
  const elapsed = Number(process.hrtime.bigint() - began) / 1e9;
  const up = await running(runtime);
  await loop.stop();
  await runtime.shutdown(2000);
  if (up !== MODULES) throw new Error(`reconcile started ${up} of ${MODULES} modules (status ${JSON.stringify(loop.status)})`);
  return elapsed;
}

async function direct(dir: string): Promise<number> {
  const runtime = new ProcessModuleRuntime(new SystemClock(), new QuietLogger(), { logsDir: join(dir, 'direct-logs'), stopTimeoutMs: 2000 });
  const parsed = parseAgentDesired(desired());
  if (!parsed.ok) throw new Error(parsed.status.description);
  const settings = new AgentSettings();
  const began = process.hrtime.bigint();
  for (const spec of parsed.value.modules) {
    await runtime.create(spec, moduleEnvironment(spec, settings.environment));
    await runtime.start(spec.name);
  }
  const elapsed = Number(process.hrtime.bigint() - began) / 1e9;
  const up = await running(runtime);
  await runtime.shutdown(2000);
  if (up !== MODULES) throw new Error(`direct loop started ${up} of ${MODULES} modules`);
  return elapsed;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeport-bench-agent-'));
  try {
    // Warm-up: first spawns pay for loading the node binary into the page cache.
    const warm = new ProcessModuleRuntime(new SystemClock(), new QuietLogger(), { logsDir: join(dir, 'warm') });
    const spec = parseAgentDesired({ schemaVersion: '1.1', modules: { w: { type: 'process', status: 'running', settings: { command: process.execPath, args: ['-e', '0'] } } } });
    if (spec.ok && spec.value.modules[0] !== undefined) {
      await warm.create(spec.value.modules[0], {});
      await warm.start('w');
      await warm.shutdown(1000);
    }
    const reconcile = await viaReconcile(dir);
    const plain = await direct(dir);
    console.log(`modules: ${MODULES}`);
    console.log(`reconcile: ${reconcile.toFixed(3)} s (${((reconcile / MODULES) * 1000).toFixed(1)} ms/module)`);
    console.log(`direct: ${plain.toFixed(3)} s (${((plain / MODULES) * 1000).toFixed(1)} ms/module)`);
    console.log(`agent: reconcile/direct = ${(reconcile / plain).toFixed(2)} (reconcile ${reconcile.toFixed(3)} s, direct ${plain.toFixed(3)} s)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
