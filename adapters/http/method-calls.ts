import type { IncomingMessage } from 'node:http';
import { inject, injectable } from 'inversify';
import { z } from 'zod';
import { type Identity, IdentityError, deviceIdentity, formatIdentity, moduleIdentity, parseIdentity } from '../../domain/identity/identity.js';
import type { JsonValue } from '../../domain/twins/json.js';
import { AuthenticateClient } from '../../application/hub/authenticate-client.js';
import { AuthenticateCertificate } from '../../application/hub/authenticate-certificate.js';
import { CertificateVerifier } from '../../application/ports/certificate-verifier.js';
import { HubIdentity } from '../../application/hub/hub-identity.js';
import { DEFAULT_METHOD_TIMEOUT_MS, MAX_METHOD_TIMEOUT_MS, MethodService } from '../../application/hub/method-service.js';
import { Logger } from '../../application/ports/logger.js';
import { HttpError, sendJson } from './http-errors.js';
import type { RouteRequest } from './http-router.js';
import type { HttpsListener } from './https-listener.js';
import { readJsonBody } from './json-body.js';

/** The direct-method routes (ids percent-encoded, as the SDK's `encodeUriComponentStrict` sends them). */
export const METHOD_ROUTES = ['/twins/:deviceId/methods', '/twins/:deviceId/modules/:moduleId/methods'] as const;

/** Largest method request body: IoT Hub's 128 KB payload with room for the envelope. */
const METHOD_BODY_LIMIT = 256 * 1024;

/** A method call's target from the route parameters; 400 for ids that are not valid identities. */
export function methodTarget(params: Readonly<Record<string, string>>): Identity {
  try {
    const deviceId = params['deviceId'] ?? '';
    return params['moduleId'] === undefined ? deviceIdentity(deviceId) : moduleIdentity(deviceId, params['moduleId']);
  } catch (error) {
    if (error instanceof IdentityError) throw new HttpError(400, error.message);
    throw error;
  }
}

export interface MethodCall {
  readonly methodName: string;
  readonly payload: JsonValue | undefined;
  readonly timeoutMs: number;
}

const TIMEOUT_MESSAGE = `responseTimeoutInSeconds must be a number of seconds from 1 to ${MAX_METHOD_TIMEOUT_MS / 1000}`;

/**
 * The IoT Hub direct-method request body `{methodName, payload, responseTimeoutInSeconds,
 * connectTimeoutInSeconds}` (service API and the SDK's `invokeMethod`). `responseTimeoutInSeconds`
 * defaults to 30 and must be 1-300 (IoT Hub: 5-300; shorter is allowed here for local use).
 */
export const METHOD_CALL_BODY = z
  .object(
    {
      methodName: z.string({ error: 'methodName must be a non-empty string' }).min(1, { error: 'methodName must be a non-empty string' }),
      payload: z.unknown().optional(),
      responseTimeoutInSeconds: z
        .number({ error: TIMEOUT_MESSAGE })
        .refine((s) => Number.isFinite(s) && s > 0 && s * 1000 <= MAX_METHOD_TIMEOUT_MS, { error: TIMEOUT_MESSAGE })
        .nullish(),
    },
    { error: 'the request body must be a JSON object {"methodName": ..., "payload": ..., "responseTimeoutInSeconds": ...}' },
  )
  .transform(
    (body): MethodCall => ({
      methodName: body.methodName,
      payload: body.payload as JsonValue | undefined,
      timeoutMs: body.responseTimeoutInSeconds == null ? DEFAULT_METHOD_TIMEOUT_MS : body.responseTimeoutInSeconds * 1000,
    }),
  );

/** Reads and checks a direct-method request body (400/413 as `HttpError`). */
export function readMethodCall(request: IncomingMessage): Promise<MethodCall> {
  return readJsonBody(request, METHOD_CALL_BODY, METHOD_BODY_LIMIT);
}

/**
 * Module-to-module (and module-to-device) direct methods over HTTPS, as `ModuleClient.invokeMethod`
 * calls them (iot-sdk-protocol.md §3.4, iotedge-semantics.md §7.3): `POST /twins/<d>[/modules/<m>]/methods`
 * with `x-ms-edge-moduleId: <device>/<module>` and `Authorization: SharedAccessSignature ...`. Only
 * modules of this edge device may call (401 bad or missing token, 403 another identity). The
 * answer is `200 {status, payload}` when the target answered, and `{errorCode, message}` with 404
 * when it is not connected or 504 when it did not answer in time, as edgeHub answers them (the SDK
 * turns those into errors).
 */
@injectable()
export class ModuleMethodsApi {
  private readonly log: Logger;

  constructor(
    @inject(MethodService) private readonly methods: MethodService,
    @inject(AuthenticateClient) private readonly authenticator: AuthenticateClient,
    @inject(HubIdentity) private readonly hub: HubIdentity,
    @inject(Logger) logger: Logger,
    @inject(AuthenticateCertificate) private readonly certificates: AuthenticateCertificate,
    @inject(CertificateVerifier) private readonly verifier: CertificateVerifier,
  ) {
    this.log = logger.child({ component: 'module-methods' });
  }

  /** Adds the method routes to the HTTPS listener. */
  register(listener: Pick<HttpsListener, 'addRoute'>): void {
    for (const path of METHOD_ROUTES) listener.addRoute('POST', path, (route) => this.handle(route));
  }

  private async handle({ request, response, params }: RouteRequest): Promise<void> {
    const caller = await this.authenticate(request);
    if (typeof caller === 'string') {
      // Drain the body so the client reads our answer; never log the Authorization header.
      request.resume();
      if (caller === 'forbidden') throw new HttpError(403, 'only modules of this edge device may invoke methods here');
      throw new HttpError(401, 'unauthorized: a valid SharedAccessSignature for x-ms-edge-moduleId is required');
    }
    const target = methodTarget(params);
    const call = await readMethodCall(request);
    const result = await this.methods.invoke(target, call.methodName, call.payload, call.timeoutMs);
    this.log.info('direct method invoked over HTTPS', { caller: formatIdentity(caller), target: formatIdentity(target), method: call.methodName, status: result.status });
    if (result.fromHub === true) return sendJson(response, result.status, { errorCode: errorCodeOf(result.payload), message: messageOf(result.payload) });
    sendJson(response, 200, { status: result.status, payload: result.payload });
  }

  /** The authenticated calling module, or why not: `unauthorized` (401) or `forbidden` (403). */
  private async authenticate(request: IncomingMessage): Promise<Identity | 'unauthorized' | 'forbidden'> {
    const claimed = request.headers['x-ms-edge-moduleid'];
    const token = request.headers['authorization'];
    const chain = this.verifier.peerChain(request.socket);
    if (typeof claimed === 'string' && token === undefined && chain !== undefined) return await this.authenticateCertificate(claimed, chain);
    if (typeof claimed !== 'string' || typeof token !== 'string') {
      this.log.warn('method call refused', { reason: 'missing-credentials', detail: 'x-ms-edge-moduleId and Authorization headers are required' });
      return 'unauthorized';
    }
    const identity = this.parseClaim(claimed);
    if (identity === undefined) return 'unauthorized';
    const result = await this.authenticator.execute({
      identity,
      token,
      iotHubHostName: this.hub.iotHubHostName,
      ...(this.hub.edgeHostName !== undefined ? { edgeHostName: this.hub.edgeHostName } : {}),
    });
    if (!result.ok) {
      this.log.warn('method call refused', { caller: formatIdentity(identity), reason: result.reason, detail: result.detail });
      return 'unauthorized';
    }
    return this.mayCall(identity);
  }

  /** `x-ms-edge-moduleId` as an identity; undefined (logged) when malformed. */
  private parseClaim(claimed: string): Identity | undefined {
    try {
      return parseIdentity(claimed);
    } catch (error) {
      this.log.warn('method call refused', { reason: 'bad-identity', detail: error instanceof Error ? error.message : String(error) });
      return undefined;
    }
  }

  /** X.509: no Authorization header, the TLS client certificate authenticates `x-ms-edge-moduleId`. */
  private async authenticateCertificate(claimed: string, chain: readonly Uint8Array[]): Promise<Identity | 'unauthorized' | 'forbidden'> {
    const identity = this.parseClaim(claimed);
    if (identity === undefined) return 'unauthorized';
    const result = await this.certificates.execute(identity, chain);
    if (!result.ok) {
      this.log.warn('method call refused', { caller: formatIdentity(identity), via: 'x509', reason: result.reason, detail: result.detail });
      return 'unauthorized';
    }
    return this.mayCall(identity);
  }

  private mayCall(identity: Identity): Identity | 'forbidden' {
    if (identity.kind !== 'module' || identity.deviceId !== this.hub.edgeDeviceId) {
      this.log.warn('method call refused', { caller: formatIdentity(identity), reason: 'forbidden', detail: `only modules of ${this.hub.edgeDeviceId} may invoke methods` });
      return 'forbidden';
    }
    return identity;
  }
}

function field(payload: JsonValue, name: string): JsonValue | undefined {
  return payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? payload[name] : undefined;
}

function errorCodeOf(payload: JsonValue): JsonValue {
  return field(payload, 'errorCode') ?? null;
}

function messageOf(payload: JsonValue): string {
  const message = field(payload, 'message');
  return typeof message === 'string' ? message : 'method call failed';
}
