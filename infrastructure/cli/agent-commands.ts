import { type Command, Option } from 'commander';
import { parseLogTime } from '../../domain/modules/log-time.js';
import type { ModuleRuntimeStatus } from '../../domain/modules/module-status.js';
import { describeModuleStatus } from '../../domain/modules/status-description.js';
import { runtimeSockets } from '../runtime-sockets.js';
import { CliError, EXIT_USAGE, RuntimeNotRunningError, type Output, call, cliRunner, expectOk, loadOrThrow, managementSocket, readBody } from './management-client.js';

export interface AgentCommandDeps {
  out?: Output;
  err?: Output;
  /** "Now" for descriptions and `--since` durations (default Date.now). */
  now?: () => number;
}

/** A `GET /modules` row as the management API sends it. */
interface ModuleRow {
  name: string;
  status: ModuleRuntimeStatus;
  exitCode: number;
  config: string;
  startedAt?: number;
  exitedAt?: number;
  restartAt?: number;
}

/**
 * `--since` / `--until` of `edgeport logs`: a duration back from now (`10m`, `1h30m`, `"1 day"`), an
 * RFC 3339 time (`2026-11-26T08:00:00Z`) or Unix seconds. Returns Unix seconds for the API.
 */
export function parseSinceOption(text: string, now: number, name = '--since'): string {
  const ms = parseLogTime(text, now);
  if (ms === undefined) throw new CliError(`${name} must be a duration such as 10m, 2h or "1 day", an RFC 3339 time such as 2026-11-26T08:00:00Z, or Unix seconds (got ${JSON.stringify(text)})`, EXIT_USAGE);
  return String(ms / 1000);
}

/** `--tail`: a number of lines or `all`. */
export function parseTailOption(text: string): string {
  if (text === 'all' || /^\d+$/.test(text)) return text;
  throw new CliError(`--tail must be a number of lines or "all" (got ${JSON.stringify(text)})`, EXIT_USAGE);
}

/** The `edgeport list` table: NAME STATUS DESCRIPTION CONFIG, columns padded like `iotedge list`. */
export function formatModuleTable(rows: readonly ModuleRow[], now: number): string {
  const table = [['NAME', 'STATUS', 'DESCRIPTION', 'CONFIG'], ...rows.map((r) => [r.name, r.status, describeModuleStatus(r, now), r.config])];
  const widths = [0, 1, 2].map((i) => Math.max(...table.map((line) => (line[i] ?? '').length)));
  return table.map((line) => line.map((cell, i) => (i < 3 ? cell.padEnd((widths[i] ?? 0) + 4) : cell)).join('').trimEnd()).join('\n') + '\n';
}

/** Times of a `GET /modules` row, in epoch milliseconds on the wire. */
const ROW_TIMES = ['startedAt', 'exitedAt', 'restartAt'] as const;

/**
 * `edgeport list --json`: the management API's rows with their times as RFC 3339 strings
 * (`2026-11-26T08:00:00.000Z`), as reported properties carry times, instead of epoch milliseconds.
 */
export function formatModuleJson(rows: readonly ModuleRow[]): string {
  const converted = rows.map((row) => {
    const copy: Record<string, unknown> = { ...row };
    for (const field of ROW_TIMES) {
      const value = row[field];
      if (typeof value === 'number' && Number.isFinite(value)) copy[field] = new Date(value).toISOString();
    }
    return copy;
  });
  return `${JSON.stringify(converted, null, 2)}\n`;
}

/**
 * `edgeport list`, `edgeport logs <module>`, `edgeport restart <module>` (`iotedge list|logs|restart`),
 * talking to the running runtime's management socket `<dataDir>/sockets/management.sock`, found
 * through the same configuration as `edgeport run` (`-c/--config`, `EDGEPORT_*`). Without a running
 * runtime, `logs` reads a process module's rotated log files under `<dataDir>/modules` itself.
 */
export function registerAgentCommands(program: Command, deps: AgentCommandDeps = {}): void {
  const out = deps.out ?? process.stdout;
  const err = deps.err ?? process.stderr;
  const now = deps.now ?? Date.now;
  const configOption = () => new Option('-c, --config <file>', 'configuration file (TOML); default as for run');
  const run = cliRunner(err);

  program
    .command('list')
    .description('list modules with their status (NAME STATUS DESCRIPTION CONFIG)')
    .addOption(configOption())
    .option('--json', 'print the modules as JSON (times in RFC 3339)')
    .action((options: { config?: string; json?: boolean }) =>
      run(async () => {
        const response = await call(await managementSocket(options.config), 'GET', '/modules');
        await expectOk(response);
        const body = JSON.parse(await readBody(response)) as { modules: ModuleRow[] };
        out.write(options.json === true ? formatModuleJson(body.modules) : formatModuleTable(body.modules, now()));
      }),
    );

  program
    .command('logs')
    .description("print a module's logs (stdout lines to stdout, stderr lines to stderr); a process module's log files are read directly while no runtime runs")
    .argument('<module>', 'module name')
    .addOption(configOption())
    .option('--tail <lines>', 'only the last <lines> lines, or "all"', 'all')
    .option('--since <time>', 'only lines since a duration ago (10m, 2h, "1 day"), an RFC 3339 time or Unix seconds')
    .option('--until <time>', 'only lines before this time (same forms as --since)')
    .option('-f, --follow', 'keep printing new lines until the module stops (Ctrl-C to quit)')
    .action((module: string, options: { config?: string; tail: string; since?: string; until?: string; follow?: boolean }) =>
      run(async () => {
        const tail = parseTailOption(options.tail);
        const since = options.since === undefined ? undefined : parseSinceOption(options.since, now());
        const until = options.until === undefined ? undefined : parseSinceOption(options.until, now(), '--until');
        const params = new URLSearchParams({ tail });
        if (since !== undefined) params.set('since', since);
        if (until !== undefined) params.set('until', until);
        if (options.follow === true) params.set('follow', 'true');
        const { dataDir } = await loadOrThrow(options.config);
        let response: Awaited<ReturnType<typeof call>>;
        try {
          response = await call(runtimeSockets(dataDir).management, 'GET', `/modules/${encodeURIComponent(module)}/logs?${params.toString()}`);
        } catch (error) {
          if (!(error instanceof RuntimeNotRunningError)) throw error;
          // No runtime: a process module's log files are still on disk (like `docker logs` on a stopped container).
          const query = { ...(tail === 'all' ? {} : { tail: Number(tail) }), ...(since === undefined ? {} : { since: Number(since) * 1000 }), ...(until === undefined ? {} : { until: Number(until) * 1000 }) };
          const { processLogPath, readStoppedModuleLogs } = await import('./offline-logs.js');
          const lines = readStoppedModuleLogs(dataDir, module, query);
          if (lines === undefined) throw new CliError(`${error.message}, and module ${module} has no log files at ${processLogPath(dataDir, module)}`);
          for (const line of lines) (line.stream === 'stderr' ? err : out).write(`${line.text}\n`);
          return;
        }
        await expectOk(response);
        response.setEncoding('utf8');
        let buffer = '';
        for await (const chunk of response) {
          buffer += chunk as string;
          let newline: number;
          while ((newline = buffer.indexOf('\n')) >= 0) {
            const line = JSON.parse(buffer.slice(0, newline)) as { stream: string; text: string };
            buffer = buffer.slice(newline + 1);
            (line.stream === 'stderr' ? err : out).write(`${line.text}\n`);
          }
        }
      }),
    );

  program
    .command('restart')
    .description('restart a module (stop, then start)')
    .argument('<module>', 'module name')
    .addOption(configOption())
    .action((module: string, options: { config?: string }) =>
      run(async () => {
        const response = await call(await managementSocket(options.config), 'POST', `/modules/${encodeURIComponent(module)}/restart`);
        await expectOk(response);
        await readBody(response);
        out.write(`${module}\n`);
      }),
    );
}
