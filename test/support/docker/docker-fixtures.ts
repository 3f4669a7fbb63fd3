import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Docker from 'dockerode';
import { SERVICES } from '../services.js';

export const TEST_LABEL = 'edgeport.test';

/** A run id shared by everything one test file creates, so cleanup can go by label. */
export function newRunId(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

export function dockerClient(): Docker {
  return new Docker({ socketPath: SERVICES.docker.socketPath });
}

const APPLETS = ['sh', 'sleep', 'echo', 'cat', 'true', 'false', 'ls', 'env', 'printf', 'kill', 'trap', 'date', 'seq'];

/** Where the statically linked busybox is (Debian `busybox-static`). */
export function busyboxPath(): string {
  for (const candidate of ['/bin/busybox', '/usr/bin/busybox']) if (existsSync(candidate)) return candidate;
  throw new Error('busybox not found: install busybox-static (apt-get install busybox-static); .ci/run does');
}

/**
 * Builds a tiny image (a static busybox and applet links, nothing else) and imports it under
 * `tag`, labelled with the run id: no registry and no network needed. `extraFiles` (path in the
 * image -> content) make it bigger, e.g. incompressible random data for a slow pull.
 */
export async function buildBusyboxImage(docker: Docker, tag: string, runId: string, extraFiles: Readonly<Record<string, Buffer>> = {}): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'edgeport-rootfs-'));
  try {
    mkdirSync(join(root, 'bin'));
    mkdirSync(join(root, 'tmp'));
    for (const [path, content] of Object.entries(extraFiles)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    }
    copyFileSync(busyboxPath(), join(root, 'bin', 'busybox'));
    chmodSync(join(root, 'bin', 'busybox'), 0o755);
    for (const applet of APPLETS) symlinkSync('busybox', join(root, 'bin', applet));
    const tar = execFileSync('tar', ['-C', root, '-c', '.'], { maxBuffer: 64 * 1024 * 1024 });
    const [repo, version] = tag.split(':') as [string, string];
    const stream = await docker.importImage(
      // dockerode's importImage accepts a readable stream or a path; a Buffer works through a stream.
      (await import('node:stream')).Readable.from([tar]) as unknown as string,
      { repo, tag: version, changes: [`LABEL ${TEST_LABEL}=${runId}`, 'ENV PATH=/bin', 'CMD ["sh"]'] } as unknown as object,
    );
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Removes every container and image labelled with the run id (and the given image tags). */
export async function cleanupDocker(docker: Docker, runId: string, tags: readonly string[] = []): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${TEST_LABEL}=${runId}`] } });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
  for (const tag of tags) await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
  const images = await docker.listImages({ filters: { label: [`${TEST_LABEL}=${runId}`] } });
  for (const image of images) await docker.getImage(image.Id).remove({ force: true }).catch(() => undefined);
}

/** Polls `check` every 25 ms until it returns true or `timeoutMs` passes. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A `type: "docker"` manifest entry running `sh -c <script>` from the test image. */
export function dockerModule(image: string, script: string, overrides: Record<string, unknown> = {}, createOptions: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'docker',
    status: 'running',
    restartPolicy: 'always',
    imagePullPolicy: 'never',
    version: '1.0',
    settings: { image, createOptions: JSON.stringify({ Cmd: ['sh', '-c', script], HostConfig: { NetworkMode: 'none' }, ...createOptions }) },
    ...overrides,
  };
}
