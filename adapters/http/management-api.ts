import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { inject, injectable } from 'inversify';
import { ManagementError, ModuleManagement } from '../../application/agent/module-management.js';
import { HostedService, type ListenInfo } from '../../application/ports/hosted-service.js';
import { Logger } from '../../application/ports/logger.js';
import { closeUnix, listenUnix, pathSegments, sendJson } from './unix-socket-http.js';

export class ManagementApiOptions {
  constructor(
    /** Absolute path of the unix socket (`<dataDir>/sockets/management.sock`). */
    readonly socketPath: string,
    readonly mode = 0o660,
  ) {}
}

/**
 * The local management API the CLI talks to (`edgeport list|logs|restart`), on a unix socket only
 * (mode 0660: the runtime's user and group), never on TCP:
 *
 * - `GET /modules` -> `{modules: ModuleSummary[]}`;
 * - `GET /modules/{m}/logs?tail=&since=&until=&follow=` -> NDJSON lines `{time, stream, text}`,
 *   streamed (with `follow=true` until the module exits or the client goes away);
 * - `POST /modules/{m}/restart` -> `{}` (404 unknown module).
 *
 * Errors are `{message}` with 400/404/405/500.
 */
@injectable()
export class ManagementApi extends HostedService {
  readonly name = 'management-api';
  private readonly server: Server;
  private readonly logger: Logger;

  constructor(
    @inject(ModuleManagement) private readonly management: ModuleManagement,
    @inject(ManagementApiOptions) private readonly options: ManagementApiOptions,
    @inject(Logger) logger: Logger,
  ) {
    super();
    this.logger = logger.child({ component: 'management-api' });
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        if (error instanceof ManagementError) {
          if (!response.headersSent) sendJson(response, error.status, { message: error.message });
          else response.end();
          return;
        }
        this.logger.error(`management request failed: ${(error as Error).message}`, { method: request.method, url: request.url });
        if (!response.headersSent) sendJson(response, 500, { message: (error as Error).message });
        else response.destroy();
      });
    });
  }

  async start(): Promise<ListenInfo[]> {
    await listenUnix(this.server, this.options.socketPath, this.options.mode, 'management API');
    this.logger.info(`management API listening on unix://${this.options.socketPath}`, { socket: this.options.socketPath });
    return [];
  }

  async stop(): Promise<void> {
    await closeUnix(this.server, this.options.socketPath);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://management');
    const segments = pathSegments(url);
    if (segments === undefined || segments[0] !== 'modules') return sendJson(response, 404, { message: `no such management API resource: ${url.pathname}` });
    if (segments.length === 1) {
      if (request.method !== 'GET') return sendJson(response, 405, { message: 'use GET' });
      return sendJson(response, 200, { modules: await this.management.list() });
    }
    const module = segments[1] as string;
    if (segments.length === 3 && segments[2] === 'restart') {
      if (request.method !== 'POST') return sendJson(response, 405, { message: 'use POST' });
      await this.management.restart(module);
      this.logger.info(`module ${module} restarted through the management API`, { module });
      return sendJson(response, 200, {});
    }
    if (segments.length === 3 && segments[2] === 'logs') {
      if (request.method !== 'GET') return sendJson(response, 405, { message: 'use GET' });
      return this.streamLogs(module, url.searchParams, response);
    }
    sendJson(response, 404, { message: `no such management API resource: ${url.pathname}` });
  }

  private async streamLogs(module: string, params: URLSearchParams, response: ServerResponse): Promise<void> {
    const abort = new AbortController();
    // The client went away (Ctrl-C on `edgeport logs -f`): stop following.
    response.on('close', () => abort.abort());
    const follow = params.get('follow');
    const query = {
      follow: follow === 'true' || follow === '1',
      signal: abort.signal,
      ...(params.has('tail') ? { tail: params.get('tail') as string } : {}),
      ...(params.has('since') ? { since: params.get('since') as string } : {}),
      ...(params.has('until') ? { until: params.get('until') as string } : {}),
    };
    const lines = await this.management.logs(module, query);
    response.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
    response.flushHeaders();
    try {
      for await (const line of lines) {
        if (abort.signal.aborted) break;
        const ok = response.write(`${JSON.stringify({ time: line.time, stream: line.stream, text: line.text })}\n`);
        if (!ok) await new Promise<void>((resolve) => response.once('drain', resolve).once('close', resolve));
      }
    } catch (error) {
      if (!abort.signal.aborted) throw error;
    }
    response.end();
  }
}
