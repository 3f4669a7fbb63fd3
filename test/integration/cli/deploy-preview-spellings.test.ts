import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../../support/agent/process-fixtures.js';
import { cleanEnv } from '../../support/cli/edgeport-child.js';
import { RESTART_POLICY_SPELLINGS, STATUS_SPELLINGS } from '../../support/agent/preview-spellings.js';

const BIN = fileURLToPath(new URL('../../../infrastructure/cli/bin.js', import.meta.url));

test('deploy --dry-run accepts every preview spelling of restartPolicy and status, and still refuses a wrong one', { timeout: 30_000 }, () => {
  const { dir, cleanup } = tempDir('spellings');
  try {
    const modules: Record<string, unknown> = {};
    RESTART_POLICY_SPELLINGS.forEach(([spelling], i) => {
      const [status] = STATUS_SPELLINGS[i % STATUS_SPELLINGS.length] as readonly [string, string];
      modules[`m${i}`] = { type: 'process', status, restartPolicy: spelling, version: '1.0', settings: { command: 'node', args: ['-e', '0'] } };
    });
    const file = join(dir, 'preview.json');
    writeFileSync(file, JSON.stringify({ modulesContent: { $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', modules } } } }));
    const result = spawnSync(process.execPath, [BIN, 'deploy', file, '--dry-run'], { cwd: dir, env: cleanEnv(), encoding: 'utf8', timeout: 20_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^200 .*preview\\.json: valid: ${RESTART_POLICY_SPELLINGS.length} modules`, 'm'));

    writeFileSync(file, JSON.stringify({ modulesContent: { $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', modules: { m: { type: 'process', status: 'Running', restartPolicy: 'sometimes', settings: { command: 'node' } } } } } } }));
    const wrong = spawnSync(process.execPath, [BIN, 'deploy', file, '--dry-run'], { cwd: dir, env: cleanEnv(), encoding: 'utf8', timeout: 20_000 });
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /400 \$edgeAgent: .*modules\.m\.restartPolicy: expected one of "never", "on-failure", "on-unhealthy", "always" \(got "sometimes"\)/);
  } finally {
    cleanup();
  }
});
