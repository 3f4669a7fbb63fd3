import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { inject, injectable } from 'inversify';
import { ModuleIdentities } from '../../application/workload/module-identities.js';
import { HostedService, type ListenInfo } from '../../application/ports/hosted-service.js';
import { Logger } from '../../application/ports/logger.js';
import { closeUnix, listenUnix, pathSegments, readJson, sendJson } from './unix-socket-http.js';

/** Where the workload API listens and what it serves as the trust bundle. */
export class WorkloadApiOptions {
  constructor(
    /** Absolute path of the unix socket (`<dataDir>/sockets/workload.sock`). */
    readonly socketPath: string,
    /** The edge CA PEM (read at every request, so a renewed CA is served at once). */
    readonly trustBundle: () => Promise<string>,
    /** Socket file mode; modules must be able to connect. */
    readonly mode = 0o660,
  ) {}
}

/**
 * The workload API modules use through `ModuleClient.fromEnvironment` (edgelet's workload API,
 * iotedge-semantics §4.2, iot-sdk-protocol §2): `POST /modules/{m}/genid/{g}/sign` and
 * `GET /trust-bundle`, any `api-version`, on a unix socket. No caller check: edgelet matches the
 * socket peer's PID to the module's container, which Node cannot read; the socket mode is the
 * protection (see docs/management-and-workload.md).
 */
@injectable()
export class WorkloadApi extends HostedService {
  readonly name = 'workload-api';
  private readonly server: Server;
  private readonly logger: Logger;

  constructor(
    @inject(ModuleIdentities) private readonly identities: ModuleIdentities,
    @inject(WorkloadApiOptions) private readonly options: WorkloadApiOptions,
    @inject(Logger) logger: Logger,
  ) {
    super();
    this.logger = logger.child({ component: 'workload-api' });
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        this.logger.error(`workload request failed: ${(error as Error).message}`, { method: request.method });
        if (!response.headersSent) sendJson(response, 500, { message: 'internal error' });
        else response.destroy();
      });
    });
  }

  async start(): Promise<ListenInfo[]> {
    await listenUnix(this.server, this.options.socketPath, this.options.mode, 'workload API');
    this.logger.info(`workload API listening on unix://${this.options.socketPath}`, { socket: this.options.socketPath });
    return [];
  }

  async stop(): Promise<void> {
    await closeUnix(this.server, this.options.socketPath);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://workload');
    const segments = pathSegments(url);
    if (segments === undefined) return sendJson(response, 400, { message: 'malformed path' });
    if (segments.length === 1 && segments[0] === 'trust-bundle') {
      if (request.method !== 'GET') return sendJson(response, 405, { message: 'use GET' });
      return sendJson(response, 200, { certificate: await this.options.trustBundle() });
    }
    if (segments.length === 5 && segments[0] === 'modules' && segments[2] === 'genid' && segments[4] === 'sign') {
      if (request.method !== 'POST') return sendJson(response, 405, { message: 'use POST' });
      const [, moduleId, , generationId] = segments as [string, string, string, string, string];
      const body = await readJson(request);
      if (body === null || typeof body !== 'object' || Array.isArray(body)) return sendJson(response, 400, { message: 'the body must be {"keyId", "algo", "data"}' });
      const result = await this.identities.sign(moduleId, generationId, body as Record<string, unknown>);
      if (!result.ok) {
        this.logger.warn(`sign refused for module ${moduleId}: ${result.message}`, { module: moduleId, status: result.status });
        return sendJson(response, result.status, { message: result.message });
      }
      return sendJson(response, 200, { digest: result.digest });
    }
    sendJson(response, 404, { message: `no such workload API resource: ${request.method} ${url.pathname}` });
  }
}
