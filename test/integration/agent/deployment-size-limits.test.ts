import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAgentDesired } from '../../../domain/deployment/agent-desired.js';
import { CREATE_OPTIONS_MAX_CHARS } from '../../../domain/deployment/create-options.js';
import { MAX_MANIFEST_BYTES } from '../../../domain/deployment/deployment-manifest.js';
import { startFileAgent } from '../../support/agent/file-agent.js';
import { manifestWith, processModule } from '../../support/agent/memory-deployment-source.js';
import { isAlive, SCRIPTS, tempDir, until } from '../../support/agent/process-fixtures.js';

// Issue #12.5: 5 MB createOptions were accepted. Now createOptions over Azure's 100 x 512 characters
// and manifests over 2 MiB get 400 with a clear problem, and the previous deployment keeps running.

const temp = tempDir('size-limits');
after(() => temp.cleanup());

/** Replaces the manifest atomically, as `edgeport deploy` does (the agent never reads half a file). */
function deploy(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

const dockerModule = (createOptions: Record<string, string>) => ({
  type: 'docker',
  status: 'running',
  restartPolicy: 'always',
  version: '1.0',
  settings: { image: 'busybox:latest', ...createOptions },
});

test('oversized createOptions and manifests: 400 naming the limit, the running deployment untouched', { timeout: 30_000 }, async () => {
  const manifestPath = join(temp.dir, 'deployment.json');
  const app = processModule({}, { command: process.execPath, args: ['-e', SCRIPTS.idle] });
  writeFileSync(manifestPath, JSON.stringify(manifestWith({ app })));
  const { runtime, agent, stop } = await startFileAgent(temp.dir, manifestPath);
  try {
    await until(async () => (await runtime.list())[0]?.state.status === 'running', 5000, 'app running');
    const pid = Number((await runtime.list())[0]?.state.id);
    assert.deepEqual(agent.status, { code: 200, description: '' });

    const cases: Array<[string, string, RegExp]> = [
      [
        'one 1 MB createOptions string',
        JSON.stringify(manifestWith({ app, big: dockerModule({ createOptions: JSON.stringify({ Labels: { x: 'y'.repeat(1024 * 1024) } }) }) })),
        new RegExp(`^Agent configuration format is invalid\\. modules\\.big\\.settings\\.createOptions: createOptions is \\d{7} characters long; at most ${CREATE_OPTIONS_MAX_CHARS} are allowed`),
      ],
      [
        '101 chunks',
        JSON.stringify(manifestWith({ app, big: dockerModule(Object.fromEntries(Array.from({ length: 101 }, (_, i) => [i === 0 ? 'createOptions' : `createOptions${String(i).padStart(2, '0')}`, i === 0 ? '{' : ' ']))) })),
        /modules\.big\.settings\.createOptions: createOptions is split into 101 chunks; at most 100 are allowed/,
      ],
      [
        'chunks adding up to more than the limit',
        JSON.stringify(manifestWith({ app, big: dockerModule({ createOptions: `{"Labels":{"x":"${'y'.repeat(30_000)}`, createOptions01: `${'y'.repeat(30_000)}"}}` }) })),
        /createOptions is 60\d{3} characters long; at most 51200 are allowed/,
      ],
      ['a 5 MB createOptions: the manifest limit (checked before parsing)', JSON.stringify(manifestWith({ app, big: dockerModule({ createOptions: JSON.stringify({ Labels: { x: 'y'.repeat(5 * 1024 * 1024) } }) }) })), new RegExp(`^Agent configuration format is invalid\\. the deployment manifest is \\d{7} bytes; at most ${MAX_MANIFEST_BYTES} bytes \\(2 MiB\\) are accepted$`)],
    ];
    for (const [what, text, expected] of cases) {
      deploy(manifestPath, text);
      await until(() => agent.status.code === 400, 5000, `${what}: 400`);
      assert.match(agent.status.description, expected, what);
      await new Promise((r) => setTimeout(r, 300));
      const modules = await runtime.list();
      assert.deepEqual(modules.map((m) => [m.spec.name, m.state.status, Number(m.state.id)]), [['app', 'running', pid]], `${what}: the previous deployment keeps running`);
      assert.ok(isAlive(pid));
      // Back to the good manifest before the next case, so each case is a fresh 200 -> 400 transition.
      deploy(manifestPath, JSON.stringify(manifestWith({ app })));
      await until(() => agent.status.code === 200, 5000, `${what}: good again`);
    }

    // At the limit is fine: exactly 100 x 512 characters of createOptions are read.
    const atLimit = `{"Labels":{"x":"${'y'.repeat(CREATE_OPTIONS_MAX_CHARS - 19)}"}}`;
    assert.equal(atLimit.length, CREATE_OPTIONS_MAX_CHARS);
    const desired = (manifestWith({ big: dockerModule({ createOptions: atLimit }) }) as { modulesContent: { $edgeAgent: Record<string, unknown> } }).modulesContent.$edgeAgent['properties.desired'];
    const parsed = parseAgentDesired(desired);
    assert.equal(parsed.ok, true, parsed.ok ? '' : parsed.status.description);
  } finally {
    await stop();
  }
});
