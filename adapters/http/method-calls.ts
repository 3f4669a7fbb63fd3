import type { IncomingMessage, ServerResponse } from 'node:http';
import { inject, injectable } from 'inversify';
import { type Identity, IdentityError, deviceIdentity, formatIdentity, moduleIdentity, parseIdentity } from '../../domain/identity/identity.js';
import type { JsonValue } from '../../domain/twins/json.js';
import { AuthenticateClient } from '../../application/hub/authenticate-client.js';
import { HubIdentity } from '../../application/hub/hub-identity.js';
import { DEFAULT_METHOD_TIMEOUT_MS, MAX_METHOD_TIMEOUT_MS, MethodService } from '../../application/hub/method-service.js';
import { Logger } from '../../application/ports/logger.js';
import type { HttpsListener } from './https-listener.js';
import { readJson, sendJson } from './unix-socket-http.js';

/** `/twins/<d>/methods` and `/twins/<d>/modules/<m>/methods`, ids percent-encoded (the SDK's `encodeUriComponentStrict`). */
export const METHODS_PATH = /^\/twins\/([^/]+)(?:\/modules\/([^/]+))?\/methods\/?$/;

/** A method call's target from a `METHODS_PATH` match; an `IdentityError` message for bad ids. */
export function methodTarget(match: RegExpExecArray): Identity | string {
  try {
    const deviceId = decodeURIComponent(match[1] as string);
    return match[2] === undefined ? deviceIdentity(deviceId) : moduleIdentity(deviceId, decodeURIComponent(match[2]));
  } catch (error) {
    if (error instanceof IdentityError || error instanceof URIError) return error.message;
    throw error;
  }
}

export interface MethodCall {
  readonly methodName: string;
  readonly payload: JsonValue | undefined;
  readonly timeoutMs: number;
}

/**
 * The IoT Hub direct-method request body `{methodName, payload, responseTimeoutInSeconds,
 * connectTimeoutInSeconds}` (service API and the SDK's `invokeMethod`). `responseTimeoutInSeconds`
 * defaults to 30 and must be 1-300 (IoT Hub: 5-300; shorter is allowed here for local use).
 */
export function parseMethodCall(body: unknown): MethodCall | string {
  if (body === undefined) return 'the request body must be a JSON object {"methodName": ..., "payload": ..., "responseTimeoutInSeconds": ...}';
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'the request body must be a JSON object';
  const { methodName, payload, responseTimeoutInSeconds } = body as Record<string, unknown>;
  if (typeof methodName !== 'string' || methodName.length === 0) return 'methodName must be a non-empty string';
  let timeoutMs = DEFAULT_METHOD_TIMEOUT_MS;
  if (responseTimeoutInSeconds !== undefined && responseTimeoutInSeconds !== null) {
    if (typeof responseTimeoutInSeconds !== 'number' || !Number.isFinite(responseTimeoutInSeconds) || responseTimeoutInSeconds <= 0 || responseTimeoutInSeconds * 1000 > MAX_METHOD_TIMEOUT_MS) {
      return `responseTimeoutInSeconds must be a number of seconds from 1 to ${MAX_METHOD_TIMEOUT_MS / 1000}`;
    }
    timeoutMs = responseTimeoutInSeconds * 1000;
  }
  return { methodName, payload: payload as JsonValue | undefined, timeoutMs };
}

/**
 * Module-to-module (and module-to-device) direct methods over HTTPS, as `ModuleClient.invokeMethod`
 * calls them (iot-sdk-protocol.md §3.4, iotedge-semantics.md §7.3): `POST /twins/<d>[/modules/<m>]/methods`
 * with `x-ms-edge-moduleId: <device>/<module>` and `Authorization: SharedAccessSignature ...`. Only
 * modules of this edge device may call (401 bad or missing token, 403 another identity). The
 * answer is `200 {status, payload}` when the target answered, 404 when it is not connected and
 * 504 when it did not answer in time (the SDK turns those into errors).
 */
@injectable()
export class ModuleMethodsApi {
  private readonly log: Logger;

  constructor(
    @inject(MethodService) private readonly methods: MethodService,
    @inject(AuthenticateClient) private readonly authenticator: AuthenticateClient,
    @inject(HubIdentity) private readonly hub: HubIdentity,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child({ component: 'module-methods' });
  }

  register(listener: HttpsListener): void {
    listener.addRoute('POST', METHODS_PATH, (request, response, match) => this.handle(request, response, match));
  }

  private async handle(request: IncomingMessage, response: ServerResponse, match: RegExpExecArray): Promise<void> {
    const caller = await this.authenticate(request);
    if (typeof caller === 'string') {
      // Drain the body so the client reads our answer; never log the Authorization header.
      request.resume();
      return sendJson(response, caller === 'forbidden' ? 403 : 401, { message: caller === 'forbidden' ? 'only modules of this edge device may invoke methods here' : 'unauthorized: a valid SharedAccessSignature for x-ms-edge-moduleId is required' });
    }
    const target = methodTarget(match);
    if (typeof target === 'string') return sendJson(response, 400, { message: target });
    const call = parseMethodCall(await readJson(request, 256 * 1024));
    if (typeof call === 'string') return sendJson(response, 400, { message: call });
    const result = await this.methods.invoke(target, call.methodName, call.payload, call.timeoutMs);
    this.log.info('direct method invoked over HTTPS', { caller: formatIdentity(caller), target: formatIdentity(target), method: call.methodName, status: result.status });
    if (result.fromHub === true) return sendJson(response, result.status, { errorCode: errorCodeOf(result.payload), message: messageOf(result.payload) });
    sendJson(response, 200, { status: result.status, payload: result.payload });
  }

  /** The authenticated calling module, or why not: `unauthorized` (401) or `forbidden` (403). */
  private async authenticate(request: IncomingMessage): Promise<Identity | 'unauthorized' | 'forbidden'> {
    const claimed = request.headers['x-ms-edge-moduleid'];
    const token = request.headers['authorization'];
    if (typeof claimed !== 'string' || typeof token !== 'string') {
      this.log.warn('method call refused', { reason: 'missing-credentials', detail: 'x-ms-edge-moduleId and Authorization headers are required' });
      return 'unauthorized';
    }
    let identity: Identity;
    try {
      identity = parseIdentity(claimed);
    } catch (error) {
      this.log.warn('method call refused', { reason: 'bad-identity', detail: error instanceof Error ? error.message : String(error) });
      return 'unauthorized';
    }
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
