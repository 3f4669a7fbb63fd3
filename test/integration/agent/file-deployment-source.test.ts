import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileDeploymentSource } from '../../../adapters/deployment/file-deployment-source.js';
import { SystemClock } from '../../../adapters/clock/system-clock.js';
import { MemoryLogger } from '../../support/agent/memory-logger.js';
import { manifestWith, processModule } from '../../support/agent/memory-deployment-source.js';
import { tempDir, until } from '../../support/agent/process-fixtures.js';

const temp = tempDir('file-source');
after(() => temp.cleanup());

function descriptionOf(source: FileDeploymentSource): string {
  const agent = source.current()?.deployment.agent;
  return agent === undefined || agent.ok ? '' : agent.status.description;
}

function codeOf(source: FileDeploymentSource): number | undefined {
  const agent = source.current()?.deployment.agent;
  return agent === undefined ? undefined : agent.ok ? 200 : agent.status.code;
}

test('file source: versions per content change, invalid JSON 400, missing file 417, atomic replace seen', { timeout: 15_000 }, async () => {
  const path = join(temp.dir, 'deployment.json');
  const source = new FileDeploymentSource(new SystemClock(), new MemoryLogger(), { path, pollIntervalMs: 200, debounceMs: 20 });
  let changes = 0;
  source.onChange(() => changes++);
  await source.start();
  try {
    assert.equal(codeOf(source), 417);
    assert.match(descriptionOf(source), /no manifest file at/);

    writeFileSync(path, JSON.stringify(manifestWith({ a: processModule() })));
    await until(() => codeOf(source) === 200, 3000, 'good manifest');
    assert.equal(source.current()?.version, 2);

    writeFileSync(path, '{"modulesContent": {');
    await until(() => codeOf(source) === 400, 3000, 'invalid JSON');
    assert.match(descriptionOf(source), /^Agent configuration format is invalid\. the deployment manifest is not valid JSON/);

    // Editors and deploy tools replace the file atomically.
    const next = join(temp.dir, 'next.json');
    writeFileSync(next, JSON.stringify(manifestWith({ a: processModule(), b: processModule() })));
    renameSync(next, path);
    await until(() => codeOf(source) === 200, 3000, 'replaced manifest');
    const good = source.current()?.deployment.agent;
    assert.deepEqual(good?.ok === true ? good.value.modules.map((m) => m.name) : [], ['a', 'b']);

    const version = source.current()?.version ?? 0;
    writeFileSync(path, JSON.stringify(manifestWith({ a: processModule(), b: processModule() })));
    // Read it now (as a watch event or the poll would) and wait for that read to finish.
    await source.read();
    assert.equal(source.current()?.version, version, 'same content: no new version');

    rmSync(path);
    await until(() => codeOf(source) === 417, 3000, 'file removed');
    assert.ok(changes >= 4);
  } finally {
    await source.stop();
  }
});

test('file source polls when no watch event arrives', { timeout: 10_000 }, async () => {
  const path = join(temp.dir, 'polled.json');
  writeFileSync(path, JSON.stringify(manifestWith({ a: processModule() })));
  const source = new FileDeploymentSource(new SystemClock(), new MemoryLogger(), { path, pollIntervalMs: 100, debounceMs: 10_000 });
  await source.start();
  try {
    assert.equal(codeOf(source), 200);
    writeFileSync(path, JSON.stringify(manifestWith({ a: processModule({ status: 'bogus' }) })));
    // The long debounce keeps watch events from reading; only polling can see the change.
    await until(() => codeOf(source) === 400, 3000, 'polled change');
  } finally {
    await source.stop();
  }
});

test('file source without a configured path reports 417 and watches nothing', async () => {
  const source = new FileDeploymentSource(new SystemClock(), new MemoryLogger(), { path: '' });
  await source.start();
  assert.equal(codeOf(source), 417);
  assert.match(descriptionOf(source), /no manifest file configured: set agent\.manifest/);
  await source.stop();
});
