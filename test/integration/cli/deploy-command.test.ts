import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanEnv, edgeport } from '../../support/cli/edgeport-child.js';
import { ModuleRuntime } from '../../../application/ports/module-runtime.js';
import { SCRIPTS, tempDir, until } from '../../support/agent/process-fixtures.js';
import { startRuntime } from '../../support/management/runtime-harness.js';

const EXAMPLE = fileURLToPath(new URL('../../../../examples/temperature/deployment.json', import.meta.url));

function manifest(modules: Record<string, unknown>, schemaVersion = '1.1'): string {
  return JSON.stringify({ modulesContent: { $edgeAgent: { 'properties.desired': { schemaVersion, modules } } } }, null, 2);
}

const IDLE = { type: 'process', status: 'running', restartPolicy: 'never', version: '1.0', settings: { command: process.execPath, args: ['-e', SCRIPTS.idle] } };

test('deploy: a valid manifest is validated, copied to agent.manifest (created, then replaced) and nothing else is left behind', { timeout: 60_000 }, async () => {
  const { dir, cleanup } = tempDir('deploy');
  try {
    const target = join(dir, 'agent', 'deployment.json');
    writeFileSync(join(dir, 'edgeport.toml'), `[agent]\nmanifest = "agent/deployment.json"\n`);
    const result = await edgeport(['deploy', EXAMPLE], dir);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^200 .*deployment\.json: valid: 2 modules \(filter, sensor\), 2 routes, module twins for sensor, filter$/m);
    assert.match(result.stdout, new RegExp(`deployed to ${target.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(agent\\.manifest\\): created`));
    assert.equal(readFileSync(target, 'utf8'), readFileSync(EXAMPLE, 'utf8'), 'copied byte for byte');

    // -c and a second manifest: replaced; the temp file was renamed, not left.
    const second = join(dir, 'second.json');
    writeFileSync(second, manifest({ idle: IDLE }));
    writeFileSync(join(dir, 'other.toml'), `[agent]\nmanifest = "${target}"\n`);
    const replaced = await edgeport(['deploy', 'second.json', '-c', 'other.toml'], dir);
    assert.equal(replaced.status, 0, replaced.stderr);
    assert.match(replaced.stdout, /valid: 1 module \(idle\), no \$edgeHub section/);
    assert.match(replaced.stdout, /: replaced;/);
    assert.equal(readFileSync(target, 'utf8'), readFileSync(second, 'utf8'));
    assert.deepEqual(readdirSync(join(dir, 'agent')), ['deployment.json']);

    // EDGEPORT_AGENT_MANIFEST works as well; --dry-run copies nothing.
    const dry = await edgeport(['deploy', EXAMPLE, '--dry-run'], dir);
    assert.equal(dry.status, 0, dry.stderr);
    assert.doesNotMatch(dry.stdout, /deployed/);
    assert.equal(readFileSync(target, 'utf8'), readFileSync(second, 'utf8'));
  } finally {
    cleanup();
  }
});

test('deploy: an invalid manifest prints its status code and every problem, exits 2 and leaves agent.manifest unchanged', { timeout: 60_000 }, async () => {
  const { dir, cleanup } = tempDir('deploy');
  try {
    mkdirSync(join(dir, 'agent'));
    const target = join(dir, 'agent', 'deployment.json');
    const current = manifest({ idle: IDLE });
    writeFileSync(target, current);
    const env = cleanEnv({ EDGEPORT_AGENT_MANIFEST: target });
    const cases: Array<{ name: string; text: string; expected: string[] }> = [
      {
        name: 'format.json',
        text: manifest({ a: { type: 'process', status: 'runing', settings: {} } }),
        expected: ['400 $edgeAgent: Agent configuration format is invalid. modules.a.status: expected one of "running", "stopped" (got "runing"); modules.a.settings.command: expected a command (non-empty string) (got nothing)'],
      },
      { name: 'schema.json', text: manifest({}, '2.0'), expected: ['412 $edgeAgent: The desired properties schema version 2.0 is not compatible with the expected version 1.1.0'] },
      { name: 'empty.json', text: '{}', expected: ['417 $edgeAgent: This device has an empty configuration for the edge agent. Please set a deployment manifest.'] },
      { name: 'json.json', text: '{"modulesContent": ', expected: ['400 $edgeAgent: Agent configuration format is invalid. the deployment manifest is not valid JSON ('] },
      {
        name: 'route.json',
        text: JSON.stringify({
          modulesContent: {
            $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', modules: {} } },
            $edgeHub: { 'properties.desired': { schemaVersion: '1.1', routes: { r: 'FROM /messages/* INTO nowhere' }, storeAndForwardConfiguration: { timeToLiveSecs: 10 } } },
          },
        }),
        expected: ['400 $edgeHub: Error while parsing desired properties - Error parsing route r - '],
      },
    ];
    for (const c of cases) {
      writeFileSync(join(dir, c.name), c.text);
      const result = await edgeport(['deploy', c.name], dir, env);
      assert.equal(result.status, 2, `${c.name}: ${result.stdout}${result.stderr}`);
      assert.equal(result.stdout, '', c.name);
      assert.match(result.stderr, /is not a valid deployment manifest; nothing deployed:\n/, c.name);
      for (const line of c.expected) assert.ok(result.stderr.includes(line), `${c.name}: expected ${JSON.stringify(line)} in ${JSON.stringify(result.stderr)}`);
      assert.equal(readFileSync(target, 'utf8'), current, `${c.name}: agent.manifest unchanged`);
    }
    assert.deepEqual(readdirSync(join(dir, 'agent')), ['deployment.json']);

    const missing = await edgeport(['deploy', 'nope.json'], dir, env);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /cannot read .*nope\.json: ENOENT/);
  } finally {
    cleanup();
  }
});

test('deploy: without agent.manifest configured it says which setting to set and exits 2', { timeout: 30_000 }, async () => {
  const { dir, cleanup } = tempDir('deploy');
  try {
    writeFileSync(join(dir, 'm.json'), manifest({ idle: IDLE }));
    const result = await edgeport(['deploy', 'm.json'], dir);
    assert.equal(result.status, 2);
    assert.match(result.stdout, /^200 .*m\.json: valid: 1 module \(idle\)/);
    assert.match(result.stderr, /no deployment manifest path is configured: set agent\.manifest in the configuration file \(or EDGEPORT_AGENT_MANIFEST\)/);
    assert.deepEqual(readdirSync(dir).sort(), ['m.json']);
  } finally {
    cleanup();
  }
});

test('deploy: a running agent watching agent.manifest applies the deployed manifest', { timeout: 60_000 }, async () => {
  const runtime = await startRuntime({ modules: { first: IDLE } });
  const { dir, cleanup } = tempDir('deploy');
  try {
    const modules = async (): Promise<string[]> => (await runtime.get(ModuleRuntime).list()).filter((m) => m.state.status === 'running').map((m) => m.name).sort();
    await until(async () => (await modules()).join() === 'first', 20_000, 'first running');
    writeFileSync(join(dir, 'next.json'), manifest({ second: IDLE }));
    const result = await edgeport(['deploy', 'next.json'], dir, cleanEnv({ EDGEPORT_AGENT_MANIFEST: runtime.manifestPath }));
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /: replaced;/);
    await until(async () => (await modules()).join() === 'second', 20_000, 'second running instead of first');
  } finally {
    await runtime.close();
    cleanup();
  }
});
