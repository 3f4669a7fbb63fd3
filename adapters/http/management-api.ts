import { createServer, type Server, type ServerResponse } from 'node:http';
import { inject, injectable, optional } from 'inversify';
import { z } from 'zod';
import { ManagementError, ModuleManagement, type ModuleSummary } from '../../application/agent/module-management.js';
import { CloudToDeviceError, CloudToDeviceService, type CloudToDeviceRequest } from '../../application/hub/cloud-to-device-service.js';
import { MethodService } from '../../application/hub/method-service.js';
import { HostedService, type ListenInfo } from '../../application/ports/hosted-service.js';
import { Logger } from '../../application/ports/logger.js';
import { OperatorActions } from '../../application/observe/operator-actions.js';
import { RuntimeReadModel } from '../../application/observe/runtime-read-model.js';
import { HttpError, sendJson } from './http-errors.js';
import { HttpRouter, type RouteRequest } from './http-router.js';
import { readJsonBody } from './json-body.js';
import { METHOD_ROUTES, methodTarget, readMethodCall } from './method-calls.js';
import { registerReadModelRoutes } from './read-model-routes.js';
import { closeUnix, listenUnix } from './unix-socket-http.js';
import { RuntimeUnavailableError } from '../../application/ports/module-runtime.js';

export class ManagementApiOptions {
  constructor(
    /** Absolute path of the unix socket (`<dataDir>/sockets/management.sock`). */
    readonly socketPath: string,
    readonly mode = 0o660,
  ) {}
}

/** Largest C2D request body: IoT Hub's 64 KB message, base64-encoded, with its envelope. */
const C2D_BODY_LIMIT = 1024 * 1024;

const optionalString = (name: string) => z.string({ error: `${name} must be a string` }).optional();

/** The C2D request body: `body` text (`bodyEncoding: "base64"` for bytes), properties as strings. */
export const C2D_BODY = z.object(
  {
    body: z.string({ error: 'body must be a string' }).nullish(),
    bodyEncoding: z.enum(['utf8', 'base64'], { error: 'bodyEncoding must be "utf8" or "base64"' }).nullish(),
    properties: z.record(z.string(), z.string({ error: 'properties must be an object of string values' }), { error: 'properties must be an object of string values' }).optional(),
    messageId: optionalString('messageId'),
    correlationId: optionalString('correlationId'),
    userId: optionalString('userId'),
    contentType: optionalString('contentType'),
    contentEncoding: optionalString('contentEncoding'),
    ttlSeconds: z.number({ error: 'ttlSeconds must be a number' }).optional(),
    ack: z.enum(['none', 'positive', 'negative', 'full'], { error: 'ack must be one of none, positive, negative, full' }).optional(),
  },
  { error: 'the request body must be a JSON object {"body": "...", "properties": {...}}' },
);

/** The C2D request for `deviceId` from a checked body (fields not given stay unset). */
export function c2dRequest(deviceId: string, input: z.output<typeof C2D_BODY>): CloudToDeviceRequest {
  const { body, bodyEncoding, ...fields } = input;
  const request: { -readonly [K in keyof CloudToDeviceRequest]: CloudToDeviceRequest[K] } = { deviceId, body: Buffer.from(body ?? '', bodyEncoding ?? 'utf8') };
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) Object.assign(request, { [name]: value });
  return request;
}

/**
 * The rows with `edgeHub` when the hub runs embedded in this runtime, as `iotedge list` always
 * shows it. The agent reports `edgeHub` only when the deployment names it; an embedded hub runs in
 * the agent's process, so its row is the agent's under the hub's name, right after it.
 */
export function withEmbeddedHubRow(rows: readonly ModuleSummary[]): ModuleSummary[] {
  const agent = rows.find((row) => row.system && row.name === 'edgeAgent');
  if (agent === undefined || rows.some((row) => row.system && row.name === 'edgeHub')) return [...rows];
  const at = rows.indexOf(agent) + 1;
  return [...rows.slice(0, at), { ...agent, name: 'edgeHub', config: 'edgeport (embedded)' }, ...rows.slice(at)];
}

/** Errors of the use cases as answers: their status, and the C2D service's own codes. */
function translate(error: unknown): HttpError | undefined {
  if (error instanceof CloudToDeviceError) return new HttpError(error.status, error.message, error.code);
  if (error instanceof ManagementError) return new HttpError(error.status, error.message);
  if (error instanceof RuntimeUnavailableError) return new HttpError(503, error.message);
  return undefined;
}

/**
 * The local management API the CLI talks to (`edgeport list|logs|restart`, `c2d send`,
 * `method invoke`), on a unix socket only (mode 0660: the runtime's user and group), never on TCP:
 *
 * - `GET /modules` -> `{modules: ModuleSummary[], deployment: {version?, status: {code, description}}}`
 *   (with `edgeHub` when the hub runs in this runtime; the agent's `lastDesiredVersion` and
 *   `lastDesiredStatus`, for `edgeport deploy --wait`);
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
 * Module routes answer 503 when the agent does not run or its module runtime does not answer (the
 * Docker engine is down), hub routes when the hub does not. Errors
 * are `{code, message}` with 400/403/404/405/413/500/503. Other files add routes through `router`.
 */
@injectable()
export class ManagementApi extends HostedService {
  readonly name = 'management-api';
  /** The API's routes; more can be registered on it before `start` (e.g. read-model views). */
  readonly router: HttpRouter;
  private readonly server: Server;
  private readonly logger: Logger;

  constructor(
    @inject(ManagementApiOptions) private readonly options: ManagementApiOptions,
    @inject(Logger) logger: Logger,
    @inject(ModuleManagement) @optional() private readonly management?: ModuleManagement,
    @inject(CloudToDeviceService) @optional() private readonly c2d?: CloudToDeviceService,
    @inject(MethodService) @optional() private readonly methods?: MethodService,
    @inject(RuntimeReadModel) @optional() readModel?: RuntimeReadModel,
    @inject(OperatorActions) @optional() actions?: OperatorActions,
  ) {
    super();
    this.logger = logger.child({ component: 'management-api' });
    this.router = new HttpRouter({ name: 'management API', log: this.logger, translate, exposeInternalErrors: true });
    this.registerModuleRoutes();
    this.registerHubRoutes();
    registerReadModelRoutes(this.router, { readModel, actions });
    this.server = createServer((request, response) => void this.router.handle(request, response));
  }

  async start(): Promise<ListenInfo[]> {
    await listenUnix(this.server, this.options.socketPath, this.options.mode, 'management API');
    this.logger.info(`management API listening on unix://${this.options.socketPath}`, { socket: this.options.socketPath });
    return [];
  }

  async stop(): Promise<void> {
    await closeUnix(this.server, this.options.socketPath);
  }

  private registerModuleRoutes(): void {
    this.router.on('GET', '/modules', async ({ response }) => {
      const agent = this.agent();
      const modules = await agent.list();
      sendJson(response, 200, { modules: this.c2d === undefined ? modules : withEmbeddedHubRow(modules), deployment: agent.deployment() });
    });
    this.router.on('POST', '/modules/:module/restart', async ({ response, params }) => {
      const module = params['module']!;
      await this.agent().restart(module);
      this.logger.info(`module ${module} restarted through the management API`, { module });
      sendJson(response, 200, {});
    });
    this.router.on('GET', '/modules/:module/logs', (route) => this.streamLogs(route));
  }

  private registerHubRoutes(): void {
    // IoT Hub's service API spells it `deviceBound`; the CLI sends `devicebound`.
    for (const bound of ['devicebound', 'deviceBound']) this.router.on('POST', `/devices/:deviceId/messages/${bound}`, (route) => this.sendC2d(route));
    for (const path of METHOD_ROUTES) this.router.on('POST', path, (route) => this.invokeMethod(route));
  }

  private agent(): ModuleManagement {
    if (this.management === undefined) throw new HttpError(503, 'the edge agent is not running in this runtime (started with --only hub or agent.enabled = false)');
    return this.management;
  }

  private hub(): { c2d: CloudToDeviceService; methods: MethodService } {
    if (this.c2d === undefined || this.methods === undefined) throw new HttpError(503, 'the edge hub is not running in this runtime (started with --only agent or hub.enabled = false)');
    return { c2d: this.c2d, methods: this.methods };
  }

  private async sendC2d({ request, response, params }: RouteRequest): Promise<void> {
    const { c2d } = this.hub();
    const body = await readJsonBody(request, C2D_BODY, C2D_BODY_LIMIT);
    sendJson(response, 200, await c2d.send(c2dRequest(params['deviceId']!, body)));
  }

  private async invokeMethod({ request, response, params }: RouteRequest): Promise<void> {
    const { methods } = this.hub();
    const target = methodTarget(params);
    const call = await readMethodCall(request);
    const result = await methods.invoke(target, call.methodName, call.payload, call.timeoutMs);
    this.logger.info(`direct method ${call.methodName} invoked through the management API: ${result.status}`, { method: call.methodName, status: result.status });
    sendJson(response, 200, { status: result.status, payload: result.payload });
  }

  private async streamLogs({ response, params, query }: RouteRequest): Promise<void> {
    const management = this.agent();
    const abort = new AbortController();
    // The client went away (Ctrl-C on `edgeport logs -f`): stop following.
    response.on('close', () => abort.abort());
    const follow = query.get('follow');
    const options = {
      follow: follow === 'true' || follow === '1',
      signal: abort.signal,
      ...(query.has('tail') ? { tail: query.get('tail') as string } : {}),
      ...(query.has('since') ? { since: query.get('since') as string } : {}),
      ...(query.has('until') ? { until: query.get('until') as string } : {}),
    };
    const lines = await management.logs(params['module']!, options);
    response.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
    response.flushHeaders();
    try {
      for await (const line of lines) {
        if (abort.signal.aborted) break;
        const ok = response.write(`${JSON.stringify({ time: line.time, stream: line.stream, text: line.text })}\n`);
        if (!ok) await drained(response);
      }
    } catch (error) {
      if (!abort.signal.aborted) throw error;
    }
    response.end();
  }
}

function drained(response: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => response.once('drain', resolve).once('close', resolve));
}
