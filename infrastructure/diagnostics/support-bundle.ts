import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { arch, platform, release, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { create as createTar } from 'tar';
import type { LogLine } from '../../application/ports/module-runtime.js';
import { SystemClock } from '../../adapters/clock/system-clock.js';
import { DockerModuleRuntime } from '../../adapters/docker/docker-module-runtime.js';
import { call, readBody } from '../cli/management-client.js';
import { localAddressOf } from '../config/listeners.js';
import type { EdgeportConfig } from '../config/load-config.js';
import { isSecretFieldName, REDACTED, redactSecrets, scrubValue } from '../logging/redact-secrets.js';
import { packageVersion } from '../package-info.js';
import { runtimeLogFile, runtimeSockets } from '../runtime-sockets.js';
import { formatCheckJson, formatCheckText } from './check-report.js';
import { CollectingLogger } from './collecting-logger.js';
import { probeDockerEngine } from './docker-engine.js';
import { runChecks } from './run-checks.js';
import { inspectStore } from './store-inspection.js';

export interface SupportBundleOptions {
  config: EdgeportConfig;
  /** Only log lines at or after this time (epoch ms); undefined = everything kept. */
  since?: number;
  /** The `.tar.gz` to write. */
  output: string;
  /** Progress lines (one per part collected). */
  progress: (line: string) => void;
}

/**
 * The bundle's own redaction, on top of what logged lines already had: in TOML text, the value of
 * every key whose name is a secret field (`connectionString`, `password`, ...) is replaced whole;
 * then every secret of a known shape (SAS tokens, `SharedAccessKey=`, URL passwords, PEM private
 * keys, ...) is cut from all the text (`redactSecrets`, the logger's own rules).
 */
export function redactToml(text: string): string {
  const structural = text.replace(/^(\s*)([A-Za-z0-9_-]+)(\s*=\s*)("(?:[^"\\]|\\.)*"|'[^']*')/gm, (line, indent: string, key: string, eq: string) =>
    isSecretFieldName(key) ? `${indent}${key}${eq}"${REDACTED}"` : line,
  );
  return redactSecrets(structural);
}

/** JSON with secret fields replaced at any depth and every string scrubbed (`scrubValue`). */
export function redactJson(value: unknown): string {
  return `${JSON.stringify(scrubValue(value), null, 2)}\n`;
}

/** A module name as a file name (`$edgeAgent` stays readable, `/` cannot escape the folder). */
const fileName = (name: string): string => name.replace(/[^A-Za-z0-9$_.-]/g, '_');

function httpGet(host: string, port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, timeout: 5000 }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => ((response.statusCode ?? 0) === 200 ? resolve(text) : reject(new Error(`GET ${path} answered ${response.statusCode ?? '?'}`))));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    req.end();
  });
}

function logLineText(line: { time: number; stream: string; text: string }): string {
  return `${new Date(line.time).toISOString()} ${line.stream} ${line.text}\n`;
}

class Bundle {
  readonly files: string[] = [];
  constructor(
    readonly dir: string,
    private readonly progress: (line: string) => void,
  ) {}

  /** Writes a bundle file; every text goes through `redactSecrets` once more, whatever made it. */
  add(path: string, text: string): void {
    const target = join(this.dir, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, redactSecrets(text), { mode: 0o600 });
    this.files.push(path);
  }

  /** Runs one part; a failure becomes `<name>_err.txt` instead of failing the bundle. */
  async part(what: string, errorFile: string, work: () => Promise<void>): Promise<void> {
    this.progress(`collecting ${what} ...`);
    try {
      await work();
    } catch (error) {
      this.add(errorFile, `${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
}

/** Lines of the runtime's log files (`edgeport.log.1` then `edgeport.log`) at or after `since`. */
function runtimeLog(dataDir: string, since: number | undefined): string | undefined {
  const path = runtimeLogFile(dataDir);
  const texts = [`${path}.1`, path].filter((p) => existsSync(p)).map((p) => readFileSync(p, 'utf8'));
  if (texts.length === 0) return undefined;
  const lines = texts.join('').split('\n').filter((line) => line !== '');
  const kept =
    since === undefined
      ? lines
      : lines.filter((line) => {
          try {
            const time = Date.parse(String((JSON.parse(line) as { time?: unknown }).time));
            return Number.isNaN(time) || time >= since;
          } catch {
            return true;
          }
        });
  return kept.length === 0 ? '' : `${kept.join('\n')}\n`;
}

/**
 * `edgeport support-bundle`: one `.tar.gz` (mode 0600) laid out as Azure's `iotedge
 * support-bundle`: `check.json` (and `check.txt`), `logs/edgeport.log` (the runtime's log),
 * `logs/<module>_log.txt`, `inspect/<module>.json` (`docker inspect`), plus `config/` (the
 * configuration file, the effective configuration and the registry credentials, redacted),
 * `manifest/` (the deployment, redacted), `list.json`, `metrics.txt`, `store.json` (queues) and
 * `versions.json`. A part that cannot be collected leaves `<part>_err.txt` saying why. No key,
 * token or password is written: see `redactToml`, `redactJson` and `Bundle.add`.
 */
export async function writeSupportBundle(options: SupportBundleOptions): Promise<string[]> {
  const { config, since, progress } = options;
  const staging = mkdtempSync(join(tmpdir(), 'edgeport-support-bundle-'));
  const bundle = new Bundle(staging, progress);
  try {
    const management = runtimeSockets(config.dataDir).management;
    const running = await call(management, 'GET', '/modules').then(
      async (response) => ({ status: response.statusCode ?? 0, body: await readBody(response) }),
      () => undefined,
    );
    progress(running === undefined ? 'the runtime is not running: collecting configuration, stored state and container output' : 'the runtime is running');

    await bundle.part('check results', 'check_err.txt', async () => {
      const report = await runChecks({ file: config.source.file ?? undefined });
      bundle.add('check.json', formatCheckJson(report));
      bundle.add('check.txt', formatCheckText(report));
    });

    await bundle.part('versions', 'versions_err.txt', async () => {
      const docker = await probeDockerEngine(config.agent.dockerSocket).catch((error: unknown) => ({ error: (error as Error).message }));
      bundle.add('versions.json', redactJson({ edgeport: packageVersion(), node: process.versions.node, platform: platform(), arch: arch(), osRelease: release(), docker, runtimeRunning: running !== undefined }));
    });

    await bundle.part('configuration', 'config/config_err.txt', async () => {
      if (config.source.file !== null) bundle.add(`config/${fileName(config.source.file.split('/').pop() ?? 'edgeport.toml')}`, redactToml(readFileSync(config.source.file, 'utf8')));
      bundle.add('config/effective-config.json', redactJson(config));
      const credentials = config.agent.registryCredentialsFile;
      if (credentials !== '') bundle.add('config/registry-credentials.json', redactJson(JSON.parse(readFileSync(credentials, 'utf8')) as unknown));
    });

    await bundle.part('deployment', 'manifest/manifest_err.txt', async () => {
      if (config.agent.manifest !== '' && existsSync(config.agent.manifest)) bundle.add('manifest/deployment.json', redactJson(JSON.parse(readFileSync(config.agent.manifest, 'utf8')) as unknown));
      const store = await inspectStore(config);
      if (store !== undefined) {
        const { edgeAgentTwin, ...queues } = store;
        bundle.add('store.json', redactJson(queues));
        if (edgeAgentTwin !== undefined) bundle.add('manifest/edgeAgent-twin.json', redactJson(edgeAgentTwin));
      }
    });

    await bundle.part('the runtime log', 'logs/edgeport_err.txt', async () => {
      const log = runtimeLog(config.dataDir, since);
      bundle.add('logs/edgeport.log', log ?? `no runtime log file at ${runtimeLogFile(config.dataDir)} (log.fileMaxBytes = ${config.log.fileMaxBytes})\n`);
    });

    if (running !== undefined) {
      bundle.add('list.json', running.body);
      await bundle.part('module logs', 'logs/modules_err.txt', async () => {
        const modules = (JSON.parse(running.body) as { modules?: Array<{ name: string }> }).modules ?? [];
        // The system modules' output is the runtime's own log (logs/edgeport.log).
        for (const { name } of modules.filter((m) => m.name !== 'edgeAgent' && m.name !== 'edgeHub')) {
          await bundle.part(`logs of ${name}`, `logs/${fileName(name)}_err.txt`, async () => {
            const query = new URLSearchParams({ tail: 'all', ...(since !== undefined ? { since: String(since / 1000) } : {}) });
            const response = await call(management, 'GET', `/modules/${encodeURIComponent(name)}/logs?${query.toString()}`);
            const body = await readBody(response);
            if (response.statusCode !== 200) throw new Error(`GET logs of ${name} answered ${response.statusCode ?? '?'}: ${body}`);
            const text = body
              .split('\n')
              .filter((line) => line !== '')
              .map((line) => logLineText(JSON.parse(line) as { time: number; stream: string; text: string }))
              .join('');
            bundle.add(`logs/${fileName(name)}_log.txt`, text);
          });
        }
      });
      if (config.metrics.enabled) {
        await bundle.part('metrics', 'metrics_err.txt', async () => bundle.add('metrics.txt', await httpGet(localAddressOf(config.metrics.host), config.metrics.port, '/metrics')));
      }
    }

    if (config.agent.enabled && config.agent.runtime !== 'process') {
      await bundle.part('module containers', 'inspect/docker_err.txt', async () => {
        const instance = config.agent.dockerInstance;
        const docker = new DockerModuleRuntime(new SystemClock(), new CollectingLogger(), {
          socketPath: config.agent.dockerSocket,
          ...(instance === '' ? {} : { labels: { 'edgeport.instance': instance }, namePrefix: `${instance}-` }),
        });
        for (const module of await docker.list()) {
          await bundle.part(`docker inspect ${module.name}`, `inspect/${fileName(module.name)}_err.txt`, async () => {
            bundle.add(`inspect/${fileName(module.name)}.json`, redactJson(await docker.docker.getContainer(docker.containerName(module.name)).inspect()));
          });
          if (running === undefined) {
            // With the runtime down, the containers still have their output.
            await bundle.part(`logs of ${module.name}`, `logs/${fileName(module.name)}_err.txt`, async () => {
              let text = '';
              for await (const line of docker.logs(module.name, since !== undefined ? { since } : {}) as AsyncIterable<LogLine>) text += logLineText(line);
              bundle.add(`logs/${fileName(module.name)}_log.txt`, text);
            });
          }
        }
      });
    }

    progress(`writing ${options.output} ...`);
    mkdirSync(dirname(options.output), { recursive: true });
    const entries = readdirSync(staging, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => relative(staging, join(entry.parentPath, entry.name)))
      .sort();
    await createTar({ gzip: true, portable: true, cwd: staging, file: options.output }, entries);
    chmodSync(options.output, 0o600);
    return entries;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
