import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { freePort } from '../free-port.js';
import { after, before } from 'node:test';
import { skipUnless } from '../services.js';
import { buildBusyboxImage, cleanupDocker, dockerClient } from './docker-fixtures.js';

/** Whether Debian's `docker-registry` and `htpasswd` (apache2-utils) are installed. */
export function registryToolsPresent(): boolean {
  const onPath = (name: string): boolean => (process.env['PATH'] ?? '').split(':').some((dir) => existsSync(join(dir, name)));
  return onPath('docker-registry') && onPath('htpasswd');
}

export interface LocalRegistry {
  /** `127.0.0.1:<port>`: the Docker engine treats 127.0.0.0/8 registries as insecure, so plain HTTP works. */
  address: string;
  username: string;
  password: string;
  stop(): Promise<void>;
}

async function answers(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/v2/`, { signal: AbortSignal.timeout(500) });
    return response.status === 401;
  } catch {
    return false;
  }
}

/** Starts a password-protected registry (htpasswd, bcrypt) on a free loopback port. */
export async function startLocalRegistry(): Promise<LocalRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeport-registry-'));
  const port = await freePort();
  const username = 'edge';
  const password = `pw-${process.pid}`;
  writeFileSync(join(dir, 'htpasswd'), execFileSync('htpasswd', ['-Bbn', username, password]));
  writeFileSync(
    join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '  secret: edgeport-test',
      'auth:',
      '  htpasswd:',
      '    realm: edgeport-test',
      `    path: ${join(dir, 'htpasswd')}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await answers(port))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error(`docker-registry did not answer on 127.0.0.1:${port}: ${stderr.slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { address: `127.0.0.1:${port}`, username, password, stop };
}

/**
 * Tags `localImage` as `<registry>/edgeport-test/busybox:<tag>`, pushes it with the registry's
 * credentials and removes the local copy of the pushed name: only the registry has it then, so a
 * module's create must pull. Returns the pushed image name.
 */
export async function pushOnlyToRegistry(docker: Docker, registry: LocalRegistry, localImage: string, tag: string): Promise<string> {
  const remoteImage = `${registry.address}/edgeport-test/busybox:${tag}`;
  await docker.getImage(localImage).tag({ repo: remoteImage.slice(0, remoteImage.lastIndexOf(':')), tag });
  const auth = { username: registry.username, password: registry.password, serveraddress: registry.address };
  let pushed = '';
  for await (const chunk of (await docker.getImage(remoteImage).push({ authconfig: auth })) as unknown as Readable) pushed += (chunk as Buffer).toString('utf8');
  if (/"error"/.test(pushed)) throw new Error(`push failed: ${pushed}`);
  await docker.getImage(remoteImage).remove();
  return remoteImage;
}

/** `skip` for registry tests: Docker must answer and docker-registry + htpasswd be installed (required under EDGEPORT_REQUIRE_SERVICES). */
export async function skipUnlessRegistry(): Promise<false | string> {
  const skip = await skipUnless('docker');
  if (skip !== false || registryToolsPresent()) return skip;
  if (process.env['EDGEPORT_REQUIRE_SERVICES']) throw new Error('docker-registry and htpasswd are required (EDGEPORT_REQUIRE_SERVICES is set): apt-get install docker-registry apache2-utils');
  return 'docker-registry or htpasswd not installed';
}

/**
 * For a test file: before its tests, a password-protected registry holding a busybox image that
 * only the registry has (`image()`); after them, everything removed. Registers node:test hooks.
 */
export function registryWithImage(skip: false | string, runId: string): { registry(): LocalRegistry; image(): string } {
  const docker = dockerClient();
  const localImage = `edgeport-test/busybox:${runId}`;
  let registry: LocalRegistry | undefined;
  let remoteImage = '';
  before(async () => {
    if (skip !== false) return;
    registry = await startLocalRegistry();
    await buildBusyboxImage(docker, localImage, runId);
    remoteImage = await pushOnlyToRegistry(docker, registry, localImage, runId);
  });
  after(async () => {
    if (skip === false) await cleanupDocker(docker, runId, [remoteImage, localImage]);
    await registry?.stop();
  });
  return { registry: () => registry as LocalRegistry, image: () => remoteImage };
}
