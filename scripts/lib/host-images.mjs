// Local Docker images made from this machine's files, without pulling anything from a registry:
// the building blocks shared by `examples/temperature/build-images.mjs` (the example's module
// images) and `scripts/build-image.mjs` (`npm run image`: the Edgeport image's local base).
//
// A root filesystem is staged in a temporary directory (hard links where possible) and
// `docker import`ed; every image carries the label edgeport.content-hash (SHA-256 of what went
// into it), so an unchanged image is reused instead of rebuilt. Linux only: it copies the host's
// node binary and the shared libraries `ldd` lists for it.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const HASH_LABEL = 'edgeport.content-hash';

export function sha256(data) {
  return createHash('sha256').update(data).digest('hex');
}

/** Host paths of the shared libraries (and the loader) `ldd` lists for `binary`. */
export function sharedLibraries(binary) {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  const paths = [];
  for (const line of out.split('\n')) {
    const match = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (match !== null) paths.push(match[1]);
  }
  if (paths.length === 0 && !/not a dynamic executable|statically linked/.test(out)) throw new Error(`cannot read the libraries of ${binary} from ldd:\n${out}`);
  return paths;
}

/** This machine's node binary and its shared libraries: `[pathInImage, hostFile]`. */
export function hostNodeFiles() {
  const node = realpathSync(process.execPath);
  const files = [['usr/local/bin/node', node]];
  for (const lib of sharedLibraries(node)) files.push([lib.replace(/^\//, ''), realpathSync(lib)]);
  return files;
}

/** Sorts `[pathInImage, ...]` rows by their path in the image (content hashes depend on the order). */
export function byImagePath(rows) {
  return [...rows].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/**
 * Content hash of a root filesystem: `files` (`[pathInImage, hostFile]`), `texts`
 * (`[pathInImage, content]`), `links` (`[pathInImage, target]`) and `extra` text (recipe, tags).
 */
export function contentHash({ files = [], texts = [], links = [], extra = '' }) {
  const hash = createHash('sha256').update(extra);
  for (const [path, host] of byImagePath(files)) hash.update('\0f').update(path).update('\0').update(sha256(readFileSync(host)));
  for (const [path, text] of byImagePath(texts)) hash.update('\0t').update(path).update('\0').update(sha256(text));
  for (const [path, target] of byImagePath(links)) hash.update('\0l').update(path).update('\0').update(target);
  return hash.digest('hex');
}

/** The edgeport.content-hash label of `tag`, undefined when the image does not exist. */
export async function imageHash(docker, tag) {
  try {
    return (await docker.getImage(tag).inspect()).Config?.Labels?.[HASH_LABEL];
  } catch (error) {
    if (error?.statusCode === 404) return undefined;
    throw error;
  }
}

/**
 * Reads a build/import progress stream to its end; fails on an error event. `onEvent` sees every
 * event (progress output for the user).
 */
export function followStream(docker, stream, onEvent = () => undefined) {
  return new Promise((resolvePromise, reject) => {
    docker.modem.followProgress(
      stream,
      (error, events) => {
        if (error) return reject(error);
        const failed = (events ?? []).find((e) => e.error !== undefined || e.errorDetail !== undefined);
        if (failed !== undefined) return reject(new Error(failed.errorDetail?.message ?? failed.error));
        resolvePromise(events ?? []);
      },
      onEvent,
    );
  });
}

/**
 * Stages a root filesystem and `docker import`s it as `tag`: `files` are hard-linked (or copied)
 * host files, `texts` written files, `links` symbolic links, `dirs` empty directories; `changes`
 * are Dockerfile instructions (`ENV`, `CMD`, `LABEL`, ...) applied to the image.
 */
export async function importRootfs(docker, { tag, files = [], texts = [], links = [], dirs = [], changes = [] }) {
  const root = mkdtempSync(join(tmpdir(), 'edgeport-rootfs-'));
  try {
    for (const dir of dirs) mkdirSync(join(root, dir), { recursive: true });
    for (const [path, host] of files) {
      const target = join(root, path);
      mkdirSync(dirname(target), { recursive: true });
      try {
        linkSync(host, target);
      } catch {
        copyFileSync(host, target);
      }
    }
    for (const [path, text] of texts) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    for (const [path, target] of links) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      symlinkSync(target, join(root, path));
    }
    const [repo, version] = tag.split(':');
    const tar = spawn('tar', ['-C', root, '--numeric-owner', '--owner=0', '--group=0', '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const tarDone = new Promise((resolveTar, reject) => tar.on('exit', (code) => (code === 0 ? resolveTar() : reject(new Error(`tar exited with ${code}`)))));
    const stream = await docker.importImage(tar.stdout, { repo, tag: version, changes });
    await followStream(docker, stream);
    await tarDone;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
