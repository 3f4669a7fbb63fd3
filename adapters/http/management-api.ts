import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { inject, injectable, optional } from 'inversify';
import { ManagementError, ModuleManagement } from '../../application/agent/module-management.js';
import { CloudToDeviceError, CloudToDeviceService, type CloudToDeviceRequest } from '../../application/hub/cloud-to-device-service.js';
import { MethodService } from '../../application/hub/method-service.js';
import { HostedService, type ListenInfo } from '../../application/ports/hosted-service.js';
import { Logger } from '../../application/ports/logger.js';
import { OperatorActions } from '../../application/observe/operator-actions.js';
import { RuntimeReadModel } from '../../application/observe/runtime-read-model.js';
import { METHODS_PATH, methodTarget, parseMethodCall } from './method-calls.js';
import { handleReadModelRoute } from './read-model-routes.js';
import { closeUnix, listenUnix, pathSegments, readJson, sendJson } from './unix-socket-http.js';

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
 * - `GET /modules` -> `{modules: ModuleSummary[], deployment: {version?, status: {code, description}}}`
 *   (the agent's `lastDesiredVersion` and `lastDesiredStatus`, for `edgeport deploy --wait`);
 * - `GET /modules/{m}/logs?tail=&since=&until=&follow=` -> NDJSON lines `{time, stream, text}`,
 *   streamed (with `follow=true` until the module exits or the client goes away);
 * - `POST /modules/{m}/restart` -> `{}` (404 unknown module);
 * - hub (when the hub runs): `POST /devices/{d}/messages/devicebound` `{body, bodyEncoding?,
 *   properties?, messageId?, correlationId?, contentType?, contentEncoding?, ttlSeconds?, ack?}` ->
 *   `{deviceId, messageId, expiresAt, queued}` (C2D, `CloudToDeviceService`);
 *   `POST /twins/{d}[/modules/{m}]/methods` `{methodName, payload, responseTimeoutInSeconds}` ->
 *   `{status, payload}` (`MethodService`; 404 not connected and 504 timeout are in `status`).
 *
 * - the read model (`read-model-routes.ts`): `GET /status|routes|queues|clients|twins...`,
 *   `POST /modules/{m}/stop|start`.
 *
 * Module routes answer 503 when the agent does not run, hub routes when the hub does not.
 * Errors are `{message}` with 400/403/404/405/413/500/503.
 */
@injectable()
export class ManagementApi extends HostedService {
  readonly name = 'management-api';
  private readonly server: Server;
  private readonly logger: Logger;

  constructor(
    @inject(ManagementApiOptions) private readonly options: ManagementApiOptions,
    @inject(Logger) logger: Logger,
    @inject(ModuleManagement) @optional() private readonly management?: ModuleManagement,
    @inject(CloudToDeviceService) @optional() private readonly c2d?: CloudToDeviceService,
    @inject(MethodService) @optional() private readonly methods?: MethodService,
    @inject(RuntimeReadModel) @optional() private readonly readModel?: RuntimeReadModel,
    @inject(OperatorActions) @optional() private readonly actions?: OperatorActions,
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
    if (segments !== undefined && (await handleReadModelRoute(request, response, segments, { readModel: this.readModel, actions: this.actions }))) return;
    if (segments?.[0] === 'devices' || segments?.[0] === 'twins') return this.handleHub(request, response, url, segments);
    if (segments === undefined || segments[0] !== 'modules') return sendJson(response, 404, { message: `no such management API resource: ${url.pathname}` });
    if (this.management === undefined) return sendJson(response, 503, { message: 'the edge agent is not running in this runtime (started with --only hub or agent.enabled = false)' });
    if (segments.length === 1) {
      if (request.method !== 'GET') return sendJson(response, 405, { message: 'use GET' });
      return sendJson(response, 200, { modules: await this.management.list(), deployment: this.management.deployment() });
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

  private async handleHub(request: IncomingMessage, response: ServerResponse, url: URL, segments: string[]): Promise<void> {
    if (this.c2d === undefined || this.methods === undefined) return sendJson(response, 503, { message: 'the edge hub is not running in this runtime (started with --only agent or hub.enabled = false)' });
    if (segments.length === 4 && segments[0] === 'devices' && segments[2] === 'messages' && segments[3]?.toLowerCase() === 'devicebound') {
      if (request.method !== 'POST') return sendJson(response, 405, { message: 'use POST' });
      const c2d = parseC2dBody(segments[1] as string, await readJson(request, 1024 * 1024));
      if (typeof c2d === 'string') return sendJson(response, 400, { message: c2d });
      try {
        return sendJson(response, 200, await this.c2d.send(c2d));
      } catch (error) {
        if (error instanceof CloudToDeviceError) return sendJson(response, error.status, { message: error.message, code: error.code });
        throw error;
      }
    }
    const match = METHODS_PATH.exec(url.pathname);
    if (match !== null) {
      if (request.method !== 'POST') return sendJson(response, 405, { message: 'use POST' });
      const target = methodTarget(match);
      if (typeof target === 'string') return sendJson(response, 400, { message: target });
      const call = parseMethodCall(await readJson(request, 256 * 1024));
      if (typeof call === 'string') return sendJson(response, 400, { message: call });
      const result = await this.methods.invoke(target, call.methodName, call.payload, call.timeoutMs);
      this.logger.info(`direct method ${call.methodName} invoked through the management API: ${result.status}`, { method: call.methodName, status: result.status });
      return sendJson(response, 200, { status: result.status, payload: result.payload });
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
    const lines = await (this.management as ModuleManagement).logs(module, query);
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

const C2D_STRINGS = ['messageId', 'correlationId', 'userId', 'contentType', 'contentEncoding'] as const;

/** The C2D request body: `body` text (`bodyEncoding: "base64"` for bytes), properties as strings. */
export function parseC2dBody(deviceId: string, body: unknown): CloudToDeviceRequest | string {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'the request body must be a JSON object {"body": "...", "properties": {...}}';
  const input = body as Record<string, unknown>;
  const text = input['body'] ?? '';
  if (typeof text !== 'string') return 'body must be a string';
  const encoding = input['bodyEncoding'] ?? 'utf8';
  if (encoding !== 'utf8' && encoding !== 'base64') return 'bodyEncoding must be "utf8" or "base64"';
  const request: { -readonly [K in keyof CloudToDeviceRequest]: CloudToDeviceRequest[K] } = { deviceId, body: Buffer.from(text, encoding) };
  const properties = input['properties'];
  if (properties !== undefined) {
    if (properties === null || typeof properties !== 'object' || Array.isArray(properties) || !Object.values(properties).every((v) => typeof v === 'string')) return 'properties must be an object of string values';
    request.properties = properties as Record<string, string>;
  }
  for (const name of C2D_STRINGS) {
    const value = input[name];
    if (value === undefined) continue;
    if (typeof value !== 'string') return `${name} must be a string`;
    request[name] = value;
  }
  const ttl = input['ttlSeconds'];
  if (ttl !== undefined) {
    if (typeof ttl !== 'number') return 'ttlSeconds must be a number';
    request.ttlSeconds = ttl;
  }
  const ack = input['ack'];
  if (ack !== undefined) {
    if (ack !== 'none' && ack !== 'positive' && ack !== 'negative' && ack !== 'full') return 'ack must be one of none, positive, negative, full';
    request.ack = ack;
  }
  return request;
}
