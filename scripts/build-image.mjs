#!/usr/bin/env node
// `npm run image`: builds the Edgeport container image from the repository's Dockerfile.
//
//   node scripts/build-image.mjs                      FROM a base made on this machine (below)
//   node scripts/build-image.mjs --base node:20-slim  FROM the official image (needs Docker Hub)
//   options: --tag <name:tag> (default edgeport:<version>, also tagged edgeport:latest),
//            --docker-socket <path> (default $EDGEPORT_AGENT_DOCKER_SOCKET or /var/run/docker.sock)
//
// Nothing can be pulled from a public registry on the machines Edgeport is developed and tested
// on, so by default the base is `docker import`ed from this machine's files
// (edgeport/node-base:<node version>): its node binary and libraries, its npm, a static busybox
// for /bin/sh and the usual tools, and its CA bundle. The build stages run `npm ci` against the
// npm registry (build network: host). The native better-sqlite3 addon is not compiled in the
// image: the one this machine already built for this very node binary is handed to
// prebuild-install as a local prebuild (docker/prebuilds/), so no C++ toolchain is needed.
//
// The image carries the label edgeport.content-hash (SHA-256 of the build context, base and
// arguments); when it is unchanged the build is skipped, so a second run takes about a second.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { create as createTar } from 'tar';
import { HASH_LABEL, contentHash, followStream, hostNodeFiles, imageHash, importRootfs, sharedLibraries } from './lib/host-images.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Bump when the recipe changes in a way the inputs do not show. */
const RECIPE = 'edgeport-image/1';
export const LOCAL_BASE = `edgeport/node-base:${process.versions.node}`;
const VERSION = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version;
export const DEFAULT_TAG = `edgeport:${VERSION}`;
/** What the Dockerfile copies (and .dockerignore lets through). */
const CONTEXT = ['Dockerfile', '.dockerignore', 'package.json', 'package-lock.json', 'tsconfig.json', 'domain', 'application', 'adapters', 'infrastructure', 'dashboard-ui', 'docker'];
const PREBUILDS = join(REPO, 'docker', 'prebuilds');

function filesUnder(path, into = []) {
  const stat = statSync(path);
  if (stat.isFile()) into.push(path);
  else if (stat.isDirectory()) for (const entry of readdirSync(path).sort()) filesUnder(join(path, entry), into);
  return into;
}

/** The host's global npm package directory (npm is plain JavaScript: copied as it is). */
function hostNpmDir() {
  const root = execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim();
  const dir = join(root, 'npm');
  if (!existsSync(join(dir, 'bin', 'npm-cli.js'))) throw new Error(`npm not found under ${root}`);
  return realpathSync(dir);
}

function busyboxPath() {
  for (const candidate of ['/bin/busybox', '/usr/bin/busybox']) {
    if (!existsSync(candidate)) continue;
    // A dynamically linked busybox would need its libraries in the image too.
    try {
      execFileSync('ldd', [candidate], { stdio: 'ignore' });
    } catch {
      return candidate;
    }
  }
  throw new Error('a static busybox is needed for the local base image (/bin/sh): apt-get install busybox-static (.ci/run does)');
}

/**
 * Native addons of the build stage's tools (Vite's rolldown and lightningcss bindings), whose shared
 * libraries (librt, libm, ...) node itself does not link: the local base carries them too, as the
 * official node image does.
 */
const BUILD_TOOL_ADDONS = [
  'node_modules/@rolldown/binding-linux-x64-gnu/rolldown-binding.linux-x64-gnu.node',
  'node_modules/lightningcss-linux-x64-gnu/lightningcss.linux-x64-gnu.node',
];

/** The shared libraries of the build tools' addons that are not already in `files`. */
function buildToolLibraries(files) {
  const have = new Set(files.map(([path]) => path));
  const extra = [];
  for (const addon of BUILD_TOOL_ADDONS.map((path) => join(REPO, path)).filter((path) => existsSync(path))) {
    for (const lib of sharedLibraries(addon)) {
      const path = lib.replace(/^\//, '');
      if (have.has(path)) continue;
      have.add(path);
      extra.push([path, realpathSync(lib)]);
    }
  }
  return extra;
}

/** The local base: node + libraries (and the build tools'), npm, busybox (sh, env, coreutils), CA bundle, /etc files. */
function localBaseRootfs() {
  const files = hostNodeFiles();
  files.push(...buildToolLibraries(files));
  const npm = hostNpmDir();
  for (const file of filesUnder(npm)) files.push([`usr/local/lib/node_modules/npm/${relative(npm, file)}`, file]);
  const busybox = busyboxPath();
  files.push(['bin/busybox', busybox]);
  const ca = '/etc/ssl/certs/ca-certificates.crt';
  if (existsSync(ca)) files.push([ca.slice(1), realpathSync(ca)]);
  const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => /^[a-z0-9_.[-]+$/.test(a) && a !== 'busybox');
  const links = applets.map((applet) => [`bin/${applet}`, 'busybox']);
  links.push(['usr/bin/env', '/bin/busybox'], ['usr/local/bin/npm', '../lib/node_modules/npm/bin/npm-cli.js'], ['usr/local/bin/npx', '../lib/node_modules/npm/bin/npx-cli.js']);
  const texts = [
    ['etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n'],
    ['etc/group', 'root:x:0:\nnogroup:x:65534:\n'],
    // glibc reads /etc/hosts (Docker provides it) before DNS.
    ['etc/nsswitch.conf', 'hosts: files dns\npasswd: files\ngroup: files\n'],
  ];
  const changes = [
    'ENV PATH=/usr/local/bin:/usr/bin:/bin',
    ...(existsSync(ca) ? [`ENV NODE_EXTRA_CA_CERTS=/${ca.slice(1)}`] : []),
    'CMD ["node"]',
  ];
  return { files, texts, links, dirs: ['tmp', 'root', 'usr/local/include'], changes };
}

/** Makes (or reuses) the local base image; returns its content hash. */
async function ensureLocalBase(docker, log) {
  const rootfs = localBaseRootfs();
  const hash = contentHash({ ...rootfs, extra: `${RECIPE}\0${LOCAL_BASE}\0${rootfs.changes.join('\n')}` });
  if ((await imageHash(docker, LOCAL_BASE)) === hash) {
    log(`${LOCAL_BASE}: up to date`);
    return hash;
  }
  log(`building ${LOCAL_BASE} from this machine's node ${process.versions.node}, npm and busybox (${rootfs.files.length} files) ...`);
  await importRootfs(docker, { tag: LOCAL_BASE, ...rootfs, changes: [...rootfs.changes, `LABEL ${HASH_LABEL}=${hash}`] });
  log(`${LOCAL_BASE}: built`);
  return hash;
}

/**
 * The host's better-sqlite3 addon packed as prebuild-install names and unpacks it, for the local
 * base (same node binary, so the same ABI). Deterministic bytes, so the context hash is stable.
 */
async function writeLocalPrebuild(log) {
  const pkgDir = join(REPO, 'node_modules', 'better-sqlite3');
  const addon = join(pkgDir, 'build', 'Release', 'better_sqlite3.node');
  if (!existsSync(addon)) throw new Error(`${addon} is missing: run npm install (or npm rebuild better-sqlite3) first`);
  const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  for (const old of readdirSync(PREBUILDS)) if (old.endsWith('.tar.gz') && old !== name) rmSync(join(PREBUILDS, old));
  await createTar({ gzip: true, portable: true, mtime: new Date(0), cwd: pkgDir, file: join(PREBUILDS, name) }, ['build/Release/better_sqlite3.node']);
  log(`local prebuild of better-sqlite3 ${version} for node ABI ${process.versions.modules}: docker/prebuilds/${name}`);
}

function removeLocalPrebuilds() {
  for (const old of readdirSync(PREBUILDS)) if (old.endsWith('.tar.gz')) rmSync(join(PREBUILDS, old));
}

/**
 * Builds the image unless an image with the same content hash exists. Returns
 * `{ tag, status: 'built' | 'up to date', seconds }`.
 */
export async function buildImage({ socketPath = '/var/run/docker.sock', base, tag = DEFAULT_TAG, log = console.log } = {}) {
  const started = Date.now();
  const docker = new Docker({ socketPath });
  mkdirSync(PREBUILDS, { recursive: true });
  let baseImage = base;
  let baseId;
  if (baseImage === undefined) {
    baseImage = LOCAL_BASE;
    baseId = await ensureLocalBase(docker, log);
    await writeLocalPrebuild(log);
  } else {
    // The official image brings apt: the build stage installs the toolchain itself.
    removeLocalPrebuilds();
    baseId = (await docker.getImage(baseImage).inspect().catch(() => undefined))?.Id ?? baseImage;
  }
  const buildargs = { BASE_IMAGE: baseImage, BUILD_TOOLCHAIN: base === undefined ? 'none' : 'apt' };
  const src = CONTEXT.flatMap((path) => filesUnder(join(REPO, path))).map((file) => relative(REPO, file));
  const hash = contentHash({ files: src.map((file) => [file, join(REPO, file)]), extra: `${RECIPE}\0${baseId}\0${JSON.stringify(buildargs)}\0${tag}` });
  if ((await imageHash(docker, tag)) === hash) {
    log(`${tag}: up to date (${src.length} files, content hash ${hash.slice(0, 12)})`);
    return { tag, status: 'up to date', seconds: (Date.now() - started) / 1000 };
  }
  log(`building ${tag} FROM ${baseImage} (${src.length} files; npm ci needs the npm registry) ...`);
  const latest = `${tag.slice(0, tag.lastIndexOf(':'))}:latest`;
  const stream = await docker.buildImage(
    { context: REPO, src },
    {
      t: tag === latest ? [tag] : [tag, latest],
      buildargs,
      labels: { [HASH_LABEL]: hash, 'org.opencontainers.image.title': 'edgeport', 'org.opencontainers.image.version': VERSION },
      // npm ci reaches the registry; the daemon here has no bridge network.
      networkmode: 'host',
      pull: false,
      rm: true,
      forcerm: true,
    },
  );
  // Progress: each Dockerfile step and npm's output, as the daemon streams them.
  await followStream(docker, stream, (event) => {
    const text = typeof event.stream === 'string' ? event.stream.trimEnd() : '';
    if (text !== '') log(text);
  });
  const seconds = (Date.now() - started) / 1000;
  log(`${tag}: built in ${seconds.toFixed(1)} s`);
  return { tag, status: 'built', seconds };
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const option = (name) => {
    const index = process.argv.indexOf(name);
    return index > 0 ? process.argv[index + 1] : undefined;
  };
  const socketPath = option('--docker-socket') ?? process.env.EDGEPORT_AGENT_DOCKER_SOCKET ?? '/var/run/docker.sock';
  buildImage({ socketPath, base: option('--base'), tag: option('--tag') ?? DEFAULT_TAG }).catch((error) => {
    console.error(`build-image: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}

