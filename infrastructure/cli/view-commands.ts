import { type Command, Option } from 'commander';
import type { ClientView, QueueView, RouteView, StatusView, TwinView } from '../../application/observe/read-model-views.js';
import { CliError, EXIT_USAGE, type Output, call, cliRunner, expectOk, loadOrThrow, managementSocket, readBody } from './management-client.js';
import { formatClients, formatQueues, formatRoutes, formatStatus, formatTwin } from './view-format.js';

export interface ViewCommandDeps {
  out?: Output;
  err?: Output;
}

interface ViewOptions {
  config?: string;
  json?: boolean;
  watch?: boolean;
  interval: string;
}

/** Clears a terminal and moves the cursor home, between two `--watch` frames. */
const CLEAR = '\u001b[H\u001b[2J';

function intervalMs(text: string): number {
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds < 0.2 || seconds > 3600) throw new CliError(`--interval must be a number of seconds from 0.2 to 3600 (got ${JSON.stringify(text)})`, EXIT_USAGE);
  return seconds * 1000;
}

/** `http://host:port/`, with a loopback address for a wildcard bind and brackets for IPv6. */
export function dashboardUrl(host: string, port: number, token: string): string {
  const shown = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}/#token=${token}`;
}

/**
 * The read model's views, from the running runtime's management socket: `edgeport status`,
 * `routes`, `queues`, `clients`, `twin show <device>[/<module>]`, each with `--json` (the API's
 * answer) and `--watch` (redraw every `--interval` seconds until Ctrl-C); and `edgeport dashboard`,
 * which prints the dashboard's URL with its access token.
 */
export function registerViewCommands(program: Command, deps: ViewCommandDeps = {}): void {
  const out = deps.out ?? process.stdout;
  const err = deps.err ?? process.stderr;
  const run = cliRunner(err);

  const view = <T>(parent: Command, name: string, description: string, path: (args: string[]) => string, render: (body: T) => string, argument?: [string, string]): void => {
    const command = parent.command(name).description(description);
    if (argument !== undefined) command.argument(argument[0], argument[1]);
    command
      .addOption(new Option('-c, --config <file>', 'configuration file (TOML); default as for run'))
      .option('--json', 'print the management API answer as JSON')
      .option('-w, --watch', 'redraw until Ctrl-C')
      .option('--interval <seconds>', 'seconds between two --watch frames', '2')
      .action((...args: unknown[]) => {
        const positional = argument === undefined ? [] : [args[0] as string];
        const options = args[positional.length] as ViewOptions;
        return run(async () => {
          const every = intervalMs(options.interval);
          const socket = await managementSocket(options.config);
          const frame = async (): Promise<string> => {
            const response = await call(socket, 'GET', path(positional));
            await expectOk(response);
            const body = JSON.parse(await readBody(response)) as T;
            return options.json === true ? `${JSON.stringify(body, null, 2)}\n` : render(body);
          };
          if (options.watch !== true) {
            out.write(await frame());
            return;
          }
          for (;;) {
            out.write(`${CLEAR}${await frame()}`);
            await new Promise((resolve) => setTimeout(resolve, every));
          }
        });
      });
  };

  view<StatusView>(program, 'status', 'one screen of the running runtime: deployment, modules, queues, upstream, clients', () => '/status', formatStatus);
  view<{ routes: RouteView[] }>(program, 'routes', 'routes with the messages each sent to its endpoint, in total and per second', () => '/routes', (b) => formatRoutes(b.routes));
  view<{ queues: QueueView[] }>(program, 'queues', 'endpoint queues: depth, oldest message, rates in and out per priority, last delivery error', () => '/queues', (b) => formatQueues(b.queues, Date.now()));
  view<{ clients: ClientView[] }>(program, 'clients', 'connected clients: identity, protocol, since when, messages in and out', () => '/clients', (b) => formatClients(b.clients, Date.now()));

  const twin = program.command('twin').description('device and module twins');
  view<TwinView>(
    twin,
    'show',
    "print a twin's desired and reported properties",
    ([target]) => {
      const [device, module, extra] = (target ?? '').split('/');
      if (device === undefined || device === '' || module === '' || extra !== undefined) throw new CliError(`<twin> must be <deviceId> or <deviceId>/<moduleId> (got ${JSON.stringify(target)})`, EXIT_USAGE);
      return module === undefined ? `/twins/${encodeURIComponent(device)}` : `/twins/${encodeURIComponent(device)}/modules/${encodeURIComponent(module)}`;
    },
    formatTwin,
    ['<twin>', '<deviceId> or <deviceId>/<moduleId>'],
  );

  program
    .command('dashboard')
    .description("print the web dashboard's URL with its access token (dashboard.enabled must be true)")
    .addOption(new Option('-c, --config <file>', 'configuration file (TOML); default as for run'))
    .action((options: { config?: string }) =>
      run(async () => {
        const config = await loadOrThrow(options.config);
        const { dashboard } = config;
        if (!dashboard.enabled) throw new CliError('the dashboard is off: set dashboard.enabled = true (or EDGEPORT_DASHBOARD_ENABLED=true) and restart the runtime');
        const { dashboardTokenPath, ensureDashboardToken } = await import('../../adapters/dashboard/dashboard-token.js');
        const token = await ensureDashboardToken(dashboardTokenPath(config.dataDir));
        out.write(`${dashboardUrl(dashboard.host, dashboard.port, token)}\n`);
      }),
    );
}
