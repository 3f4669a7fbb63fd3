import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, type Stats, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import type { EdgeportConfig } from '../config/load-config.js';

/** Exit codes: 1 the copy failed, 2 invalid manifest, unreadable file or no `agent.manifest` (usage/configuration). */
const EXIT_FAILURE = 1;
const EXIT_INVALID = 2;

type Output = { write(text: string): unknown };

export interface DeployCommandDeps {
  /** Loads the configuration for `--config` (or reports problems, sets the exit code and returns undefined). */
  loadConfig(file: string | undefined): EdgeportConfig | undefined | Promise<EdgeportConfig | undefined>;
  out?: Output;
  err?: Output;
}

/**
 * Writes `text` to `target` atomically: a temp file in the same directory, then rename over it.
 * Mode 0600: a manifest may hold registry credentials (`registryCredentials.*.password`). Run as
 * root (`docker exec` into the container, `sudo edgeport deploy`), the file is given to the owner
 * of the file it replaces, else of its directory: the runtime, which may run as another user (the
 * container's `edgeport`), must still read it.
 */
function writeAtomically(target: string, text: string): void {
  mkdirSync(dirname(target), { recursive: true });
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(temp, text, { flush: true, mode: 0o600 });
    if (process.getuid?.() === 0) {
      const owner = statOrUndefined(target) ?? statSync(dirname(target));
      if (owner.uid !== 0 || owner.gid !== 0) chownSync(temp, owner.uid, owner.gid);
    }
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/**
 * `edgeport deploy <manifest.json>`: validates a deployment manifest and, when valid, copies it
 * atomically to the configured `agent.manifest` path, which a running agent watches and applies.
 */
export function registerDeployCommands(program: Command, deps: DeployCommandDeps): void {
  const out = deps.out ?? process.stdout;
  const err = deps.err ?? process.stderr;
  program
    .command('deploy')
    .description('validate a deployment manifest and copy it to agent.manifest, where the running agent picks it up')
    .argument('<manifest>', 'deployment manifest ({"modulesContent": ...} JSON)')
    .addOption(new Option('-c, --config <file>', 'configuration file (TOML); default as for run'))
    .option('--dry-run', 'only validate; copy nothing')
    .option('--wait', 'then follow the running agent until every module has converged (exit 0) or failed (exit 1), a line per module change')
    .option('--timeout <seconds>', 'with --wait: give up after this long (exit 1)', '300')
    .action(async (manifest: string, options: { config?: string; dryRun?: boolean; wait?: boolean; timeout: string }) => {
      const timeoutSeconds = Number(options.timeout);
      if (!Number.isInteger(timeoutSeconds) || timeoutSeconds <= 0) {
        err.write(`--timeout must be a whole number of seconds above 0 (got ${JSON.stringify(options.timeout)})\n`);
        process.exitCode = EXIT_INVALID;
        return;
      }
      if (options.wait === true && options.dryRun === true) {
        err.write('--wait follows a deployment the agent applies; --dry-run deploys nothing: use one of them\n');
        process.exitCode = EXIT_INVALID;
        return;
      }
      const source = resolve(manifest);
      const { checkManifest, readManifestFile } = await import('./manifest-check.js');
      const read = readManifestFile(source);
      if (!read.ok) {
        err.write(`${read.problem}\n`);
        process.exitCode = EXIT_INVALID;
        return;
      }
      const text = read.text;
      // A real deploy knows the configuration, so it also warns about routes into a missing upstream.
      const config = options.dryRun === true ? undefined : await deps.loadConfig(options.config);
      if (options.dryRun !== true && config === undefined) return;
      const check = checkManifest(text, config === undefined ? {} : { upstream: config.upstream.kind !== 'none' });
      for (const warning of check.warnings) err.write(`warning: ${warning}\n`);
      if (!check.ok) {
        err.write(`${source} is not a valid deployment manifest; nothing deployed:\n`);
        for (const problem of check.problems) err.write(`${problem}\n`);
        process.exitCode = EXIT_INVALID;
        return;
      }
      out.write(`200 ${source}: valid: ${check.summary}\n`);
      if (config === undefined) return;
      const target = config.agent.manifest;
      if (target === '') {
        err.write('no deployment manifest path is configured: set agent.manifest in the configuration file (or EDGEPORT_AGENT_MANIFEST) to the file the agent should watch\n');
        process.exitCode = EXIT_INVALID;
        return;
      }
      // --wait: what the agent had before, so the wait recognises this deployment's version.
      let socketPath: string | undefined;
      let versionBefore: number | undefined;
      if (options.wait === true) {
        const { runtimeSockets } = await import('../runtime-sockets.js');
        const { deployedVersion } = await import('./deploy-wait.js');
        socketPath = runtimeSockets(config.dataDir).management;
        try {
          versionBefore = await deployedVersion(socketPath);
        } catch (error) {
          err.write(`${error instanceof Error ? error.message : String(error)}; deploying without waiting\n`);
          socketPath = undefined;
          process.exitCode = EXIT_FAILURE;
        }
      }
      const wait = async (changed: boolean): Promise<void> => {
        if (socketPath === undefined) return;
        const { waitForConvergence } = await import('./deploy-wait.js');
        const { CliError } = await import('./management-client.js');
        const parsed = check.deployment?.agent;
        try {
          await waitForConvergence(parsed?.ok === true ? parsed.value.modules : [], { socketPath, versionBefore, changed, timeoutMs: timeoutSeconds * 1000, out });
        } catch (error) {
          if (!(error instanceof CliError)) throw error;
          err.write(`${error.message}\n`);
          process.exitCode = error.exitCode;
        }
      };
      if (sameFile(source, target)) {
        out.write(`${target} is agent.manifest already; nothing copied (a running agent applies it as it is)\n`);
        await wait(false);
        return;
      }
      let previous: string | undefined;
      try {
        previous = readFileSync(target, 'utf8');
      } catch {
        previous = undefined;
      }
      try {
        writeAtomically(target, text);
      } catch (error) {
        err.write(`cannot write ${target} (agent.manifest): ${error instanceof Error ? error.message : String(error)}\n`);
        process.exitCode = EXIT_FAILURE;
        return;
      }
      const what = previous === undefined ? 'created' : previous === text ? 'unchanged (same content)' : 'replaced';
      out.write(`deployed to ${target} (agent.manifest): ${what}; a running agent applies it within seconds (see edgeport list)\n`);
      await wait(previous !== text);
    });
}
