import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../support/agent/process-fixtures.js';
import { edgeportCli } from '../../support/cli/edgeport-cli.js';

// Issue #12.6/#12.7: the CLI prints the route warnings the runtime would log (deploy, deploy
// --dry-run, config check), and exits 0: such routes are valid (Azure accepts them).

/** Runs `work` in a fresh temp directory holding `m.json` (the manifest below), then removes it. */
async function withManifest(work: (dir: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir('deploy-checks');
  try {
    writeFileSync(join(dir, 'm.json'), MANIFEST);
    await work(dir);
  } finally {
    cleanup();
  }
}

const edgeport = (args: string[], cwd: string) => edgeportCli(args, { cwd });

const MANIFEST = JSON.stringify({
  modulesContent: {
    $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', modules: {} } },
    $edgeHub: {
      'properties.desired': {
        schemaVersion: '1.1',
        routes: { hot: 'FROM /messages/* WHERE temp > 100 INTO BrokeredEndpoint("/modules/f/inputs/in")', up: 'FROM /messages/* INTO $upstream' },
        storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
      },
    },
  },
});

test('deploy --dry-run: 200 valid, and a warning for the route that can never match', () =>
  withManifest(async (dir) => {
    const result = await edgeport(['deploy', 'm.json', '--dry-run'], dir);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^200 .*m\.json: valid: 0 modules, 2 routes\n$/);
    assert.match(result.stderr, /^warning: \$edgeHub route hot: condition can never match: property 'temp' is compared with a number at column 29, .*write as_number\(temp\)/m);
    // Without the configuration, --dry-run cannot know about the upstream: no such warning.
    assert.doesNotMatch(result.stderr, /no upstream/);
  }));

test('deploy with upstream.kind = "none": also warns about the route into $upstream', () =>
  withManifest(async (dir) => {
    writeFileSync(join(dir, 'edgeport.toml'), '[agent]\nmanifest = "deployed.json"\n');
    const result = await edgeport(['deploy', 'm.json'], dir);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /^warning: \$edgeHub route up: sends to \$upstream but no upstream is configured \(upstream\.kind = "none"\)/m);
    assert.match(result.stderr, /^warning: \$edgeHub route hot: condition can never match/m);
    assert.match(result.stdout, /deployed to .*deployed\.json/);
    // A manifest may carry registry passwords: the deployed copy is private.
    assert.equal(statSync(join(dir, 'deployed.json')).mode & 0o777, 0o600);
  }));

test('config check with agent.manifest: configuration OK plus the manifest\'s warnings', () =>
  withManifest(async (dir) => {
    writeFileSync(join(dir, 'edgeport.toml'), '[agent]\nmanifest = "m.json"\n');
    const result = await edgeport(['config', 'check'], dir);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^configuration OK: .*edgeport\.toml\n$/);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 2, result.stderr);
    assert.match(lines[0]!, /^warning: agent\.manifest .*m\.json: \$edgeHub route hot: condition can never match/);
    assert.match(lines[1]!, /^warning: agent\.manifest .*m\.json: \$edgeHub route up: sends to \$upstream but no upstream is configured/);
  }));

test('deploy: a manifest over 2 MiB is refused by its size (exit 2), without being parsed', () =>
  withManifest(async (dir) => {
    writeFileSync(join(dir, 'big.json'), JSON.stringify({ modulesContent: {}, padding: 'x'.repeat(3 * 1024 * 1024) }));
    const result = await edgeport(['deploy', 'big.json', '--dry-run'], dir);
    assert.equal(result.status, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^400 .*big\.json: the deployment manifest is 3145\d{3} bytes; at most 2097152 bytes \(2 MiB\) are accepted\n$/);
  }));

test('deploy as root into a directory the runtime\'s user owns: the private copy belongs to that user, so the runtime can read it', { skip: process.getuid?.() !== 0 ? 'needs root to hand the file over' : false }, () =>
  withManifest(async (dir) => {
    const runtimeDir = join(dir, 'runtime');
    mkdirSync(runtimeDir);
    chownSync(runtimeDir, 10001, 10001);
    writeFileSync(join(dir, 'edgeport.toml'), '[agent]\nmanifest = "runtime/deployed.json"\n');
    const result = await edgeport(['deploy', 'm.json'], dir);
    assert.equal(result.status, 0, result.stderr);
    const deployed = statSync(join(runtimeDir, 'deployed.json'));
    assert.equal(deployed.mode & 0o777, 0o600);
    assert.deepEqual([deployed.uid, deployed.gid], [10001, 10001]);
  }));
