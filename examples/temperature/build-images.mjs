#!/usr/bin/env node
// Builds the temperature example's Docker images on this machine, without pulling anything from
// a registry:
//
//   edgeport-example/node:<node version>          docker import of a minimal root filesystem: this
//                                                 machine's node binary, the shared libraries `ldd`
//                                                 lists for it, and /app/node_modules with
//                                                 azure-iot-device, azure-iot-device-mqtt and
//                                                 their dependencies (from the repository's
//                                                 node_modules)
//   edgeport-example/temperature-sensor:1.0       FROM the above + sensor.mjs
//   edgeport-example/temperature-filter:1.0       FROM the above + filter.mjs
//
// Every image carries the label edgeport.content-hash (SHA-256 of what went into it); an image
// whose hash is unchanged is reused, so a second run takes about a second.
//
// Usage (from anywhere): node examples/temperature/build-images.mjs [--docker-socket PATH]
// Linux only (it copies the host's node binary and libraries into the image). The staging and
// `docker import` code is shared with `npm run image` (scripts/lib/host-images.mjs).
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { HASH_LABEL, byImagePath, contentHash, followStream, hostNodeFiles, imageHash, importRootfs, sha256 } from '../../scripts/lib/host-images.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
/** Bump when the recipe changes in a way the inputs do not show. */
const RECIPE = 'edgeport-example-images/1';
const EXAMPLE_LABEL = 'edgeport.example';
export const BASE_IMAGE = `edgeport-example/node:${process.versions.node}`;
export const MODULE_IMAGES = {
  sensor: 'edgeport-example/temperature-sensor:1.0',
  filter: 'edgeport-example/temperature-filter:1.0',
};
/** The SDK packages the modules import; their dependencies come along. */
const PACKAGES = ['azure-iot-device', 'azure-iot-device-mqtt'];

/** Where node would find `name` from `fromDir` (walking up node_modules folders). */
function findPackage(name, fromDir) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`package ${name} (needed from ${fromDir}) is not installed: run npm install in ${REPO}`);
  }
}

/** The package directories `names` need at run time (dependencies and optionalDependencies, transitively). */
function packageClosure(names, root) {
  const seen = new Set();
  const visit = (name, fromDir, optional) => {
    let dir;
    try {
      dir = realpathSync(findPackage(name, fromDir));
    } catch (error) {
      if (optional) return;
      throw error;
    }
    if (seen.has(dir)) return;
    seen.add(dir);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dep, dir, false);
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) visit(dep, dir, true);
  };
  for (const name of names) visit(name, root, false);
  return [...seen].sort();
}

/** Files under `dir` (not its own node_modules: dependencies are collected on their own). */
function filesOf(dir, into = [], top = dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules' && dir === top) continue;
      filesOf(path, into, top);
    } else if (entry.isFile()) {
      into.push(path);
    } else if (entry.isSymbolicLink()) {
      const target = statSync(path, { throwIfNoEntry: false });
      if (target?.isFile()) into.push(path);
    }
  }
  return into;
}

/** What goes into the base image: `[pathInImage, hostFile]`, sorted. */
function baseFiles() {
  const files = hostNodeFiles();
  const modulesRoot = realpathSync(join(REPO, 'node_modules'));
  for (const pkg of packageClosure(PACKAGES, REPO)) {
    if (!pkg.startsWith(`${modulesRoot}/`)) throw new Error(`package ${pkg} is outside ${modulesRoot}`);
    for (const file of filesOf(pkg)) files.push([`app/node_modules/${relative(modulesRoot, file)}`, file]);
  }
  return byImagePath(files);
}

/** The base image's written files: glibc reads /etc/hosts (Docker provides it) before DNS for the gateway host name. */
const BASE_TEXTS = [
  ['etc/nsswitch.conf', 'hosts: files dns\n'],
  ['etc/passwd', 'root:x:0:0:root:/root:/usr/local/bin/node\n'],
];

/** `docker import`s the base image: node, its libraries and the SDK packages. */
async function importBase(docker, files, hash) {
  await importRootfs(docker, {
    tag: BASE_IMAGE,
    files,
    texts: BASE_TEXTS,
    dirs: ['tmp', 'etc', 'app'],
    changes: [`LABEL ${HASH_LABEL}=${hash}`, `LABEL ${EXAMPLE_LABEL}=temperature`, 'ENV PATH=/usr/local/bin', 'WORKDIR /app', 'CMD ["node"]'],
  });
}

/** `docker build` of one module image FROM the base image (classic builder: no pull of a local base). */
async function buildModule(docker, tag, script, hash) {
  const context = mkdtempSync(join(tmpdir(), 'edgeport-example-build-'));
  try {
    copyFileSync(join(HERE, script), join(context, script));
    writeFileSync(join(context, 'Dockerfile'), dockerfile(script, hash));
    const stream = await docker.buildImage({ context, src: ['Dockerfile', script] }, { t: tag, rm: true, forcerm: true, pull: false });
    await followStream(docker, stream);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

function dockerfile(script, hash) {
  return [`FROM ${BASE_IMAGE}`, `COPY ${script} /app/${script}`, `LABEL ${HASH_LABEL}=${hash} ${EXAMPLE_LABEL}=temperature`, `CMD ["node", "/app/${script}"]`, ''].join('\n');
}

/** Builds what changed; returns `{image: 'built' | 'up to date'}`. */
export async function buildImages({ socketPath = '/var/run/docker.sock', log = console.log } = {}) {
  const docker = new Docker({ socketPath });
  const result = {};
  const started = Date.now();
  const files = baseFiles();
  const baseHash = contentHash({ files, texts: BASE_TEXTS, extra: `${RECIPE}\0${BASE_IMAGE}` });
  if ((await imageHash(docker, BASE_IMAGE)) === baseHash) {
    result[BASE_IMAGE] = 'up to date';
  } else {
    log(`building ${BASE_IMAGE} (node ${process.versions.node}, ${files.length} files) ...`);
    await importBase(docker, files, baseHash);
    result[BASE_IMAGE] = 'built';
  }
  for (const [module, tag] of Object.entries(MODULE_IMAGES)) {
    const script = `${module}.mjs`;
    const hash = sha256(`${RECIPE}\0${baseHash}\0${dockerfile(script, '')}\0${sha256(readFileSync(join(HERE, script)))}`);
    if ((await imageHash(docker, tag)) === hash) {
      result[tag] = 'up to date';
      continue;
    }
    log(`building ${tag} ...`);
    await buildModule(docker, tag, script, hash);
    result[tag] = 'built';
  }
  for (const [tag, what] of Object.entries(result)) log(`${tag}: ${what}`);
  log(`images ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const socketIndex = process.argv.indexOf('--docker-socket');
  const socketPath = socketIndex > 0 ? process.argv[socketIndex + 1] : (process.env.EDGEPORT_AGENT_DOCKER_SOCKET ?? '/var/run/docker.sock');
  buildImages({ socketPath }).catch((error) => {
    console.error(`build-images: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
