import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inject, injectable } from 'inversify';
import { HostedService, ListenError, type ListenInfo } from '../../application/ports/hosted-service.js';
import { Logger } from '../../application/ports/logger.js';
import { ObserveError } from '../../application/observe/observe-error.js';
import { OperatorActions, type ModuleAction } from '../../application/observe/operator-actions.js';
import { RuntimeReadModel } from '../../application/observe/runtime-read-model.js';
import { parseCloudToDeviceForm, parseDesiredForm, parseMethodForm } from './dashboard-requests.js';
import { ensureDashboardToken, sameSecret, sessionValue } from './dashboard-token.js';
import { loadAssets, type Asset } from './static-assets.js';
import { eventText, openEventStream, StatusBroadcast } from './status-broadcast.js';

export class DashboardOptions {
  constructor(
    readonly host: string,
    readonly port: number,
    /** The built front end (`dist/dashboard-ui`). */
    readonly assetsDir: string,
    /** The token file (`<dataDir>/dashboard/token`, created 0600 on first start). */
    readonly tokenFile: string,
    /** How often open pages get a new status (ms). */
    readonly pushIntervalMs = 1000,
  ) {}
}

/** The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site sends it). */
const COOKIE = 'edgeport_session';
const BODY_LIMIT = 256 * 1024;
const LOG_TAIL = 200;

/** Content-Security-Policy: only this origin's scripts, styles and connections (no CDN, no inline script). */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function cookieOf(request: IncomingMessage, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) throw new HttpError(413, `the request body is larger than ${BODY_LIMIT} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'the request body must be JSON');
  }
}

function segmentsOf(url: URL): string[] {
  try {
    return url.pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  } catch {
    throw new HttpError(400, 'malformed URL escape');
  }
}

/** `twins/dev/modules/m/desired` -> `twins/:/modules/:/desired`: the segment after `twins` or `modules` is a name. */
function routeKey(segments: readonly string[]): string {
  const out: string[] = [];
  for (const segment of segments) out.push(out.length > 0 && (out[out.length - 1] === 'twins' || out[out.length - 1] === 'modules') ? ':' : segment);
  return out.join('/');
}

/**
 * The web dashboard, a head like MQTT and AMQP: its own HTTP port (loopback by default), the built
 * front end from memory, and a JSON API over the read model (`RuntimeReadModel`) and the operator
 * actions (`OperatorActions`), with live updates as server-sent events.
 *
 * Access: `edgeport dashboard` prints `http://host:port/#token=<token>`. The fragment never reaches
 * a server or a log; the page posts it to `POST /api/session`, which sets an HttpOnly, SameSite=Strict
 * cookie holding a value derived from the token, and the page drops the fragment from its address
 * and history. Every `/api/*` request needs that cookie (or `Authorization: Bearer <token>` for
 * scripts), compared in constant time; without it the answer is 401 with no data. Changes (POST,
 * PATCH) also need a JSON body and, when the browser sends one, an Origin of this very host.
 */
@injectable()
export class DashboardServer extends HostedService {
  readonly name = 'dashboard';
  private server: Server | undefined;
  private token = '';
  private session = '';
  private assets = new Map<string, Asset>();
  private readonly log: Logger;
  private readonly broadcast: StatusBroadcast;
  private readonly streams = new Set<ServerResponse>();

  constructor(
    @inject(DashboardOptions) private readonly options: DashboardOptions,
    @inject(RuntimeReadModel) private readonly readModel: RuntimeReadModel,
    @inject(OperatorActions) private readonly actions: OperatorActions,
    @inject(Logger) logger: Logger,
  ) {
    super();
    this.log = logger.child({ component: 'dashboard' });
    this.broadcast = new StatusBroadcast('status', () => this.readModel.status(), options.pushIntervalMs, (error) =>
      this.log.warn('dashboard status update failed', { error: error instanceof Error ? error.message : String(error) }),
    );
  }

  async start(): Promise<ListenInfo[]> {
    this.token = await ensureDashboardToken(this.options.tokenFile);
    this.session = sessionValue(this.token);
    this.assets = await loadAssets(this.options.assetsDir);
    if (!this.assets.has('/index.html')) this.log.warn(`dashboard assets not found in ${this.options.assetsDir}: run npm run build`, { dir: this.options.assetsDir });
    const server = createServer((request, response) => {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
      this.handle(request, response).catch((error: unknown) => this.fail(request, response, error));
    });
    const info: ListenInfo = { protocol: 'http', host: this.options.host, port: this.options.port, setting: 'dashboard.port' };
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => reject(new ListenError(info, error.code ?? error.message)));
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    this.server = server;
    const port = (server.address() as AddressInfo).port;
    this.log.info(`dashboard on http://${this.options.host}:${port}/ (edgeport dashboard prints the URL with its token)`, { host: this.options.host, port });
    return [{ ...info, port }];
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    this.broadcast.close();
    for (const stream of this.streams) stream.end();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private fail(request: IncomingMessage, response: ServerResponse, error: unknown): void {
    const status = error instanceof HttpError || error instanceof ObserveError ? error.status : 500;
    const message = error instanceof Error ? error.message : String(error);
    if (status === 500) this.log.error(`dashboard request failed: ${message}`, { method: request.method, path: new URL(request.url ?? '/', 'http://d').pathname });
    if (!response.headersSent) sendJson(response, status, { message });
    else response.end();
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://dashboard');
    const segments = segmentsOf(url);
    if (segments[0] !== 'api') return this.serveAsset(request, response, url.pathname);
    if (segments[1] === 'session' && segments.length === 2) return this.openSession(request, response);
    if (!this.authorized(request)) return sendJson(response, 401, { message: 'not signed in: open the URL that `edgeport dashboard` prints' });
    const method = request.method ?? 'GET';
    if (method !== 'GET') this.checkChange(request);
    const route = `${method} ${routeKey(segments.slice(1))}`;
    switch (route) {
      case 'GET status':
        return sendJson(response, 200, await this.readModel.status());
      case 'GET events':
        openEventStream(response);
        return this.broadcast.subscribe(response);
      case 'GET twins':
        return sendJson(response, 200, { ids: await this.readModel.twinIds() });
      case 'GET twins/:':
        return sendJson(response, 200, await this.readModel.twin(segments[2]!));
      case 'GET twins/:/modules/:':
        return sendJson(response, 200, await this.readModel.twin(`${segments[2]}/${segments[4]}`));
      case 'PATCH twins/:/modules/:/desired': {
        const patch = parseDesiredForm(await readJson(request));
        if (typeof patch === 'string') throw new HttpError(400, patch);
        const target = `${segments[2]}/${segments[4]}`;
        const version = await this.actions.patchModuleDesired(target, patch);
        this.log.info(`desired properties of ${target} changed from the dashboard`, { twin: target, version });
        return sendJson(response, 200, { version });
      }
      case 'GET modules/:/logs':
        return this.streamLogs(segments[2]!, response);
      case 'POST modules/:/restart':
      case 'POST modules/:/start':
      case 'POST modules/:/stop': {
        const action = segments[3] as ModuleAction;
        await this.actions.module(segments[2]!, action);
        this.log.info(`module ${segments[2]}: ${action} from the dashboard`, { module: segments[2], action });
        return sendJson(response, 200, {});
      }
      case 'POST methods': {
        const call = parseMethodForm(await readJson(request));
        if (typeof call === 'string') throw new HttpError(400, call);
        const result = await this.actions.invokeMethod(call.target, call.methodName, call.payload, call.timeoutMs);
        this.log.info(`direct method ${call.methodName} invoked on ${call.target} from the dashboard: ${result.status}`, { target: call.target, method: call.methodName, status: result.status });
        return sendJson(response, 200, result);
      }
      case 'POST c2d': {
        const c2d = parseCloudToDeviceForm(await readJson(request));
        if (typeof c2d === 'string') throw new HttpError(400, c2d);
        const accepted = await this.actions.sendCloudToDevice(c2d);
        this.log.info(`cloud-to-device message queued for ${c2d.deviceId} from the dashboard`, { deviceId: c2d.deviceId });
        return sendJson(response, 200, accepted);
      }
      default:
        throw new HttpError(404, `no such dashboard API resource: ${method} ${url.pathname}`);
    }
  }

  private serveAsset(request: IncomingMessage, response: ServerResponse, path: string): void {
    if (request.method !== 'GET' && request.method !== 'HEAD') throw new HttpError(405, 'use GET');
    const asset = this.assets.get(path === '/' ? '/index.html' : path);
    if (asset === undefined && path === '/favicon.ico') {
      // Browsers ask for it on their own; there is none, and a 404 would only add noise to their console.
      response.writeHead(204, { 'cache-control': 'max-age=86400' }).end();
      return;
    }
    if (asset === undefined) {
      if (path === '/') throw new HttpError(503, 'the dashboard assets are not built: run npm run build');
      throw new HttpError(404, `no such file: ${path}`);
    }
    response.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length, 'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache' });
    response.end(request.method === 'HEAD' ? undefined : asset.body);
  }

  private async openSession(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== 'POST') throw new HttpError(405, 'use POST');
    this.checkChange(request);
    const body = (await readJson(request)) as { token?: unknown } | null;
    const token = typeof body?.token === 'string' ? body.token : '';
    if (!sameSecret(token, this.token)) {
      this.log.warn('dashboard sign-in with a wrong token', { remote: request.socket.remoteAddress ?? '' });
      return sendJson(response, 401, { message: 'wrong token: open the URL that `edgeport dashboard` prints' });
    }
    response.setHeader('set-cookie', `${COOKIE}=${this.session}; HttpOnly; SameSite=Strict; Path=/`);
    sendJson(response, 200, {});
  }

  private authorized(request: IncomingMessage): boolean {
    const cookie = cookieOf(request, COOKIE);
    if (cookie !== undefined && sameSecret(cookie, this.session)) return true;
    const header = request.headers.authorization;
    return header !== undefined && header.startsWith('Bearer ') && sameSecret(header.slice(7), this.token);
  }

  /** A change must come as JSON, and from a page of this origin when the browser names one. */
  private checkChange(request: IncomingMessage): void {
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) throw new HttpError(415, 'send the request body as application/json');
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== `http://${request.headers.host ?? ''}`) throw new HttpError(403, 'requests from another origin are refused');
  }

  private async streamLogs(module: string, response: ServerResponse): Promise<void> {
    const abort = new AbortController();
    response.on('close', () => abort.abort());
    const lines = await this.readModel.moduleLogs(module, LOG_TAIL, true, abort.signal);
    openEventStream(response);
    this.streams.add(response);
    try {
      for await (const line of lines) {
        if (abort.signal.aborted) break;
        if (!response.write(eventText('line', line))) await new Promise<void>((resolve) => response.once('drain', resolve).once('close', resolve));
      }
    } catch (error) {
      if (!abort.signal.aborted) throw error;
    } finally {
      this.streams.delete(response);
    }
    response.end();
  }
}
