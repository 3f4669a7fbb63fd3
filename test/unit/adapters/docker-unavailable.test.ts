import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuntimeUnavailableError } from '../../../application/ports/module-runtime.js';
import { SystemClock } from '../../../adapters/clock/system-clock.js';
import { DockerModuleRuntime } from '../../../adapters/docker/docker-module-runtime.js';
import { asUnavailable } from '../../../adapters/docker/docker-errors.js';
import { SilentLogger } from '../../support/pipeline-harness.js';

// Found by the dockerd chaos scenario: with the daemon down, `edgeport list` answered
// `500 InternalError: connect ECONNREFUSED ...`. Now the runtime says the engine does not answer,
// naming its socket, and the management API answers 503 with that.
test('docker runtime: list() with no daemon on the socket rejects with RuntimeUnavailableError naming the socket', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeport-no-dockerd-'));
  const socketPath = join(dir, 'docker.sock');
  try {
    const runtime = new DockerModuleRuntime(new SystemClock(), new SilentLogger(), { socketPath });
    await assert.rejects(runtime.list(), (error: unknown) => {
      assert.ok(error instanceof RuntimeUnavailableError, String(error));
      assert.match(error.message, /the Docker engine does not answer on .*docker\.sock \(ENOENT\)/);
      assert.ok(error.message.includes(socketPath));
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('asUnavailable: only socket errors without an HTTP answer become RuntimeUnavailableError', () => {
  assert.ok(asUnavailable(Object.assign(new Error('connect ECONNREFUSED /x'), { code: 'ECONNREFUSED' }), '/x') instanceof RuntimeUnavailableError);
  const answered = Object.assign(new Error('(HTTP code 500) server error'), { statusCode: 500, code: 'ECONNRESET' });
  assert.equal(asUnavailable(answered, '/x'), answered);
  const other = new Error('boom');
  assert.equal(asUnavailable(other, '/x'), other);
});
