import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { parseDeploymentManifestText, type ParsedDeployment } from '../../domain/deployment/deployment-manifest.js';
import { DeploymentStatusCode, type DeploymentStatus } from '../../domain/deployment/deployment-status.js';
import { RouteTable } from '../../domain/routing/index.js';
import type { EdgeportConfig } from '../config/load-config.js';

/** Exit codes: 1 the copy failed, 2 invalid manifest, unreadable file or no `agent.manifest` (usage/configuration). */
const EXIT_FAILURE = 1;
const EXIT_INVALID = 2;

type Output = { write(text: string): unknown };

export interface DeployCommandDeps {
  /** Loads the configuration for `--config` (or reports problems, sets the exit code and returns undefined). */
  loadConfig(file: string | undefined): EdgeportConfig | undefined;
  out?: Output;
  err?: Output;
}

/** What `edgeport deploy` found in a manifest: the agent's status and, if present, the hub's. */
export interface ManifestCheck {
  ok: boolean;
  /** `<code> <description>` lines for the failing parts (`$edgeAgent` first, then `$edgeHub`). */
  problems: string[];
  /** Module sections that are not `{"properties.desired": {...}}` (ignored by the runtime). */
  warnings: string[];
  summary: string;
}

function statusLine(part: string, status: DeploymentStatus): string {
  return `${status.code} ${part}: ${status.description}`;
}

/**
 * Validates a manifest as the runtime will: the `$edgeAgent` section with the agent's parser (status
 * 400/412/417 and the description `lastDesiredStatus` would carry), the `$edgeHub` section with the
 * hub's parser, and its routes with the routing engine (an invalid route is a 400 the hub would log).
 */
export function checkManifest(text: string): ManifestCheck {
  const parsed: ParsedDeployment = parseDeploymentManifestText(text);
  const problems: string[] = [];
  if (!parsed.agent.ok) problems.push(statusLine('$edgeAgent', parsed.agent.status));
  let routes = 0;
  if (parsed.hub !== undefined) {
    if (!parsed.hub.ok) problems.push(statusLine('$edgeHub', parsed.hub.status));
    else {
      try {
        routes = RouteTable.compile(parsed.hub.value.routes).size;
      } catch (error) {
        problems.push(statusLine('$edgeHub', { code: DeploymentStatusCode.ConfigFormatError, description: `Error while parsing desired properties - ${error instanceof Error ? error.message : String(error)}` }));
      }
    }
  }
  const warnings = parsed.moduleTwinProblems.map((p) => `${p.path}: ${p.message} (section ignored)`);
  if (!parsed.agent.ok || problems.length > 0) return { ok: false, problems, warnings, summary: '' };
  const modules = parsed.agent.value.modules.map((m) => m.name);
  const twins = Object.keys(parsed.moduleTwins);
  const summary =
    `${modules.length} module${modules.length === 1 ? '' : 's'}${modules.length > 0 ? ` (${modules.join(', ')})` : ''}` +
    (parsed.hub !== undefined ? `, ${routes} route${routes === 1 ? '' : 's'}` : ', no $edgeHub section') +
    (twins.length > 0 ? `, module twins for ${twins.join(', ')}` : '');
  return { ok: true, problems, warnings, summary };
}

/** Writes `text` to `target` atomically: a temp file in the same directory, then rename over it. */
function writeAtomically(target: string, text: string): void {
  mkdirSync(dirname(target), { recursive: true });
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(temp, text, { flush: true });
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
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
    .action((manifest: string, options: { config?: string; dryRun?: boolean }) => {
      const source = resolve(manifest);
      let text: string;
      try {
        text = readFileSync(source, 'utf8');
      } catch (error) {
        err.write(`cannot read ${source}: ${(error as NodeJS.ErrnoException).code ?? String(error)}\n`);
        process.exitCode = EXIT_INVALID;
        return;
      }
      const check = checkManifest(text);
      for (const warning of check.warnings) err.write(`warning: ${warning}\n`);
      if (!check.ok) {
        err.write(`${source} is not a valid deployment manifest; nothing deployed:\n`);
        for (const problem of check.problems) err.write(`${problem}\n`);
        process.exitCode = EXIT_INVALID;
        return;
      }
      out.write(`200 ${source}: valid: ${check.summary}\n`);
      if (options.dryRun === true) return;

      const config = deps.loadConfig(options.config);
      if (config === undefined) return;
      const target = config.agent.manifest;
      if (target === '') {
        err.write('no deployment manifest path is configured: set agent.manifest in the configuration file (or EDGEPORT_AGENT_MANIFEST) to the file the agent should watch\n');
        process.exitCode = EXIT_INVALID;
        return;
      }
      if (sameFile(source, target)) {
        out.write(`${target} is agent.manifest already; nothing copied (a running agent applies it as it is)\n`);
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
    });
}
