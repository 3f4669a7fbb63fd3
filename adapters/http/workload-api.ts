import { createServer, type Server } from 'node:http';
import { inject, injectable } from 'inversify';
import { z } from 'zod';
import { ModuleIdentities } from '../../application/workload/module-identities.js';
import { HostedService, type ListenInfo } from '../../application/ports/hosted-service.js';
import { Logger } from '../../application/ports/logger.js';
import { HttpError, sendJson } from './http-errors.js';
import { HttpRouter, type RouteRequest } from './http-router.js';
import { readJsonBody } from './json-body.js';
import { closeUnix, listenUnix } from './unix-socket-http.js';

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

/** The sign request body (edgelet's `SignRequest`); the values are checked by `ModuleIdentities.sign`. */
export const SIGN_BODY = z.object(
  {
    keyId: z.string({ error: 'keyId must be "primary" or "secondary"' }),
    algo: z.string({ error: 'algo must be "HMACSHA256"' }),
    data: z.string({ error: 'data must be a base64 string' }),
  },
  { error: 'the body must be {"keyId", "algo", "data"}' },
);

/**
 * The workload API modules use through `ModuleClient.fromEnvironment` (edgelet's workload API,
 * iotedge-semantics §4.2, iot-sdk-protocol §2): `POST /modules/{m}/genid/{g}/sign` and
 * `GET /trust-bundle`, any `api-version`, on a unix socket. No caller check: edgelet matches the
 * socket peer's PID to the module's container, which Node cannot read; the socket mode is the
 * protection (see docs/management-and-workload.md). Errors are `{code, message}`.
 */
@injectable()
export class WorkloadApi extends HostedService {
  readonly name = 'workload-api';
  private readonly server: Server;
  private readonly logger: Logger;
  private readonly router: HttpRouter;

  constructor(
    @inject(ModuleIdentities) private readonly identities: ModuleIdentities,
    @inject(WorkloadApiOptions) private readonly options: WorkloadApiOptions,
    @inject(Logger) logger: Logger,
  ) {
    super();
    this.logger = logger.child({ component: 'workload-api' });
    this.router = new HttpRouter({ name: 'workload API', log: this.logger });
    this.router.on('GET', '/trust-bundle', async ({ response }) => sendJson(response, 200, { certificate: await this.options.trustBundle() }));
    this.router.on('POST', '/modules/:moduleId/genid/:generationId/sign', (route) => this.sign(route));
    this.server = createServer((request, response) => void this.router.handle(request, response));
  }

  async start(): Promise<ListenInfo[]> {
    await listenUnix(this.server, this.options.socketPath, this.options.mode, 'workload API');
    this.logger.info(`workload API listening on unix://${this.options.socketPath}`, { socket: this.options.socketPath });
    return [];
  }

  async stop(): Promise<void> {
    await closeUnix(this.server, this.options.socketPath);
  }

  private async sign({ request, response, params }: RouteRequest): Promise<void> {
    const moduleId = params['moduleId']!;
    const body = await readJsonBody(request, SIGN_BODY);
    const result = await this.identities.sign(moduleId, params['generationId']!, body);
    if (!result.ok) {
      this.logger.warn(`sign refused for module ${moduleId}: ${result.message}`, { module: moduleId, status: result.status });
      throw new HttpError(result.status, result.message);
    }
    sendJson(response, 200, { digest: result.digest });
  }
}
