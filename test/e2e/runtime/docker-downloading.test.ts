import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { pushImage } from '../../support/docker/cosign-fixtures.js';
import { buildBusyboxImage, cleanupDocker, dockerClient, newRunId } from '../../support/docker/docker-fixtures.js';
import { registryToolsPresent, startLocalRegistry, type LocalRegistry } from '../../support/docker/local-registry.js';
import { eventually, exampleSetup, runExample, type ExampleRun } from '../../support/example/run-example.js';
import { skipUnless, SERVICES } from '../../support/services.js';
import { TcpProxy } from '../../support/tcp-proxy.js';

// Acceptance (#14): a deployment whose image takes more than a second to pull shows
// `downloading` in `edgeport list --json` and in the `$edgeAgent` reported properties, then
// `running`. The image (busybox + 3 MB of random, incompressible bytes) comes from the local
// password-protected registry through a proxy slowed to 400 kB/s, so the pull takes about 8 s.

/** better-sqlite3 (the runtime's SQLite driver; it ships no types): just what reading a row needs. */
const Database = createRequire(import.meta.url)('better-sqlite3') as new (path: string, options: { readonly: boolean; fileMustExist: boolean }) => {
  prepare(sql: string): { get(...params: unknown[]): unknown };
  close(): void;
};

let skip = await skipUnless('docker');
if (skip === false && !registryToolsPresent()) {
  if (process.env['EDGEPORT_REQUIRE_SERVICES']) throw new Error('docker-registry and htpasswd are required (EDGEPORT_REQUIRE_SERVICES is set): apt-get install docker-registry apache2-utils');
  skip = 'docker-registry or htpasswd not installed';
}
const runId = newRunId();
const instance = `ep-dl-${runId}`;
const docker = dockerClient();
const local = `edgeport-test/big:${runId}`;
let registry: LocalRegistry | undefined;
let proxy: TcpProxy | undefined;
let pulled = '';
const dirs: string[] = [];

after(async () => {
  if (skip === false) {
    const containers = await docker.listContainers({ all: true, filters: { label: [`edgeport.instance=${instance}`] } });
    await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
    await cleanupDocker(docker, runId, [pulled, local]);
  }
  await proxy?.stop();
  await registry?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface ListedRow {
  name: string;
  status: string;
  description: string;
  download?: { doneBytes: number; totalBytes: number };
}

function listed(run: ExampleRun): ListedRow | undefined {
  const result = run.cli(['list', '--json']);
  if (result.status !== 0) return undefined;
  return (JSON.parse(result.stdout) as ListedRow[]).find((row) => row.name === 'big');
}

/** The `$edgeAgent` reported properties as the hub keeps them (the twin store in SQLite). */
function reportedBig(dataDir: string): { runtimeStatus?: string; statusDescription?: string } | undefined {
  const db = new Database(join(dataDir, 'edgeport.db'), { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT value FROM state_entries WHERE namespace = ? AND key = ?').get('twins', 'edgeport-device/$edgeAgent') as { value: string } | undefined;
    if (row === undefined) return undefined;
    const twin = JSON.parse(row.value) as { reported?: { modules?: Record<string, { runtimeStatus?: string; statusDescription?: string }> } };
    return twin.reported?.modules?.['big'];
  } finally {
    db.close();
  }
}

test('e2e: a slow pull is downloading (with bytes done / total) in edgeport list --json and in the $edgeAgent twin, then running', { skip, timeout: 180_000 }, async () => {
  registry = await startLocalRegistry();
  await buildBusyboxImage(docker, local, runId, { 'data/random.bin': randomBytes(3_000_000) });
  await pushImage(docker, local, registry, 'edgeport-test/big', runId);
  // Nothing of the image may stay on the machine, or Docker would not download its layer again.
  await docker.getImage(local).remove({ force: true });
  proxy = new TcpProxy({ host: '127.0.0.1', port: Number(registry.address.split(':')[1]) }, { bytesPerSecond: 400_000 });
  const slow = `127.0.0.1:${await proxy.start()}`;
  pulled = `${slow}/edgeport-test/big:${runId}`;

  const { dataDir, env } = await exampleSetup('edgeport-downloading-', { EDGEPORT_AGENT_DOCKER_SOCKET: SERVICES.docker.socketPath, EDGEPORT_AGENT_DOCKER_INSTANCE: instance });
  dirs.push(dataDir);
  const config = join(dataDir, 'edgeport.toml');
  writeFileSync(config, `[agent]\nruntime = "docker"\nmanifest = "${join(dataDir, 'deployment.json')}"\n`);
  const manifest = {
    modulesContent: {
      $edgeAgent: {
        'properties.desired': {
          schemaVersion: '1.1',
          runtime: { type: 'docker', settings: { registryCredentials: { slow: { address: slow, username: registry.username, password: registry.password } } } },
          modules: {
            big: {
              type: 'docker',
              status: 'running',
              restartPolicy: 'always',
              version: '1.0',
              settings: { image: pulled, createOptions: JSON.stringify({ Cmd: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.1; done'], HostConfig: { NetworkMode: 'none' }, Labels: { 'edgeport.test': runId } }) },
            },
          },
        },
      },
    },
  };
  writeFileSync(join(dataDir, 'big.json'), JSON.stringify(manifest));
  const run = runExample(config, env);
  try {
    await run.running();
    const started = Date.now();
    const deployed = run.cli(['deploy', join(dataDir, 'big.json')]);
    assert.equal(deployed.status, 0, deployed.stderr);

    const downloading = await eventually('big downloading with progress in edgeport list --json', 30_000, () => {
      const row = listed(run);
      return row?.status === 'downloading' && row.download !== undefined && row.download.totalBytes > 0 ? row : undefined;
    }, run.context);
    assert.match(downloading.description, /^Downloading \d+(\.\d)? [kM]?B \/ \d+(\.\d)? [kM]?B \(\d+%\)$/);
    assert.ok(downloading.download!.doneBytes <= downloading.download!.totalBytes);

    const twin = await eventually('big downloading in the $edgeAgent reported properties', 30_000, () => {
      const entry = reportedBig(dataDir);
      return entry?.runtimeStatus === 'downloading' ? entry : undefined;
    }, run.context);
    assert.match(twin.statusDescription ?? '', new RegExp(`^downloading ${pulled.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: \\d`));

    await eventually('big running in edgeport list', 90_000, () => (listed(run)?.status === 'running' ? true : undefined), run.context);
    await eventually('big running in the twin', 30_000, () => (reportedBig(dataDir)?.runtimeStatus === 'running' ? true : undefined), run.context);
    assert.ok(Date.now() - started > 1000, 'the pull took more than a second');
    // Logs are written asynchronously: wait for the line rather than expect it already there.
    await eventually('the pull logged with its digest', 10_000, () => (run.lines.some((l) => new RegExp(`^pulled ${pulled.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(sha256:[0-9a-f]{64}\\)$`).test(String(l['msg']))) ? true : undefined), run.context);
  } finally {
    await run.stop();
  }
});
