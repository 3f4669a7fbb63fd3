import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loopbackListeners } from '../../support/cli/edgeport-cli.js';
import { RuntimeProcess } from '../../support/runtime-process.js';

// Issue #12.6/#12.7 through the composition root: with upstream.kind = "none" (the default), a route
// into $upstream warns once at start, naming the route; a route comparing a property with a number
// is applied (not refused) and warned about too.

test('edgeport run: one structured warn line per suspicious route at start, the routes applied', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgeport-route-warnings-'));
  const manifest = join(dataDir, 'deployment.json');
  writeFileSync(
    manifest,
    JSON.stringify({
      modulesContent: {
        $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', modules: {} } },
        $edgeHub: {
          'properties.desired': {
            schemaVersion: '1.1',
            routes: { toCloud: 'FROM /messages/* INTO $upstream', hot: 'FROM /messages/* WHERE temp > 100 INTO BrokeredEndpoint("/modules/f/inputs/in")' },
            storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
          },
        },
      },
    }),
  );
  const runtime = new RuntimeProcess(dataDir, { ...(await loopbackListeners()), EDGEPORT_AGENT_MANIFEST: manifest, EDGEPORT_AGENT_RUNTIME: 'process' });
  try {
    await runtime.until('edgeport running', 30_000, () => runtime.lines.some((l) => String(l['msg']).startsWith('edgeport running')) || undefined);
    const warnings = runtime.lines.filter((l) => l['level'] === 'warn' && typeof l['route'] === 'string');
    assert.deepEqual(
      warnings.map((l) => [l['route'], l['code']]),
      // Condition warnings in route order, then the routes into a missing upstream.
      [
        ['hot', 'ROUTE_NEVER_MATCHES'],
        ['toCloud', 'ROUTE_NO_UPSTREAM'],
      ],
      JSON.stringify(warnings),
    );
    assert.match(String(warnings.find((l) => l['route'] === 'toCloud')?.['msg']), /^route toCloud: sends to \$upstream but no upstream is configured \(upstream\.kind = "none"\)/);
    assert.ok(runtime.lines.some((l) => l['msg'] === 'routes applied: 2'), 'both routes applied');
  } finally {
    await runtime.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  assert.equal(runtime.exitCode, 0, runtime.context());
});
