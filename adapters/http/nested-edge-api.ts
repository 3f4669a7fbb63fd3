import { inject, injectable } from 'inversify';
import { z } from 'zod';
import type { IdentityRecord } from '../../application/ports/identity-store.js';
import { Logger } from '../../application/ports/logger.js';
import { NestedDeviceScope, NestedScopeError } from '../../application/upstream/nested-device-scope.js';
import { HttpError, sendJson } from './http-errors.js';
import type { RouteRequest } from './http-router.js';
import type { HttpsListener } from './https-listener.js';
import { readJsonBody } from './json-body.js';

/** The registry calls a child edge device makes on its upstream's HTTPS port (IoT Hub's paths). */
export const NESTED_ROUTES = {
  scope: '/devices/:deviceId/modules/:moduleId/devicesAndModulesInDeviceScope',
  /** A child that is itself a parent asks for the scope of an edge device below it. */
  targetScope: '/devices/:deviceId/modules/:moduleId/devicesAndModulesInTargetDeviceScope',
  module: '/devices/:deviceId/modules/:moduleId',
} as const;

/** A scope request body (`pageSize`, `continuationLink`): this hub answers the whole scope in one page. */
const SCOPE_BODY = z.object({ pageSize: z.number().optional(), continuationLink: z.string().nullish() }, { error: 'the request body must be a JSON object {"pageSize": ...}' }).loose();
const TARGET_SCOPE_BODY = z
  .object({ targetDeviceId: z.string({ error: 'targetDeviceId must be a device id' }).min(1, { error: 'targetDeviceId must be a device id' }) }, { error: 'the request body must be a JSON object {"targetDeviceId": ...}' })
  .loose();
const MODULE_BODY = z.object({}, { error: 'the request body must be a module identity object' }).loose();

/** A scope entry as IoT Hub's `devicesAndModulesInDeviceScope` lists it (the shape `DeviceScopeClient` reads). */
function scopeItem(record: IdentityRecord): Record<string, unknown> {
  const identity = record.identity;
  return {
    deviceId: identity.deviceId,
    ...(identity.kind === 'module' ? { moduleId: identity.moduleId } : {}),
    status: record.credentials.status ?? 'enabled',
    authentication: { type: 'sas', symmetricKey: { primaryKey: record.credentials.primaryKey, secondaryKey: record.credentials.secondaryKey } },
  };
}

/**
 * Nested edge, parent side, over HTTPS: a child edge device's upstream (`DeviceScopeClient` pointed
 * at this hub) asks for its device scope and creates its module identities on the same paths it
 * would use with IoT Hub; `NestedDeviceScope` answers them. The caller authenticates with the
 * child device's SAS token (never logged).
 */
@injectable()
export class NestedEdgeApi {
  private readonly log: Logger;

  constructor(
    @inject(NestedDeviceScope) private readonly scope: NestedDeviceScope,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child({ component: 'nested-scope' });
  }

  register(listener: Pick<HttpsListener, 'addRoute'>): void {
    listener.addRoute('POST', NESTED_ROUTES.scope, (route) => this.deviceScope(route));
    listener.addRoute('POST', NESTED_ROUTES.targetScope, (route) => this.targetScope(route));
    listener.addRoute('PUT', NESTED_ROUTES.module, (route) => this.createModule(route));
  }

  private async targetScope({ request, response, params }: RouteRequest): Promise<void> {
    const deviceId = params['deviceId'] ?? '';
    if (params['moduleId'] !== '$edgeHub') {
      request.resume();
      throw new HttpError(404, 'the device scope is served for the $edgeHub module only');
    }
    await this.guard(() => this.scope.authorize(deviceId, request.headers.authorization), request);
    const { targetDeviceId } = await readJsonBody(request, TARGET_SCOPE_BODY);
    const records = await this.guard(() => this.scope.targetScopeOf(deviceId, targetDeviceId));
    sendJson(response, 200, { items: records.map(scopeItem), continuationLink: null });
  }

  private async deviceScope({ request, response, params }: RouteRequest): Promise<void> {
    const deviceId = params['deviceId'] ?? '';
    if (params['moduleId'] !== '$edgeHub') {
      request.resume();
      throw new HttpError(404, 'the device scope is served for the $edgeHub module only');
    }
    await this.guard(() => this.scope.authorize(deviceId, request.headers.authorization), request);
    await readJsonBody(request, SCOPE_BODY);
    const records = await this.guard(() => this.scope.scopeOf(deviceId));
    sendJson(response, 200, { items: records.map(scopeItem), continuationLink: null });
  }

  private async createModule({ request, response, params }: RouteRequest): Promise<void> {
    const deviceId = params['deviceId'] ?? '';
    const moduleId = params['moduleId'] ?? '';
    await this.guard(() => this.scope.authorize(deviceId, request.headers.authorization), request);
    await readJsonBody(request, MODULE_BODY);
    await this.guard(() => this.scope.createModule(deviceId, moduleId));
    this.log.debug('child module identity request served', { device: deviceId, module: moduleId });
    sendJson(response, 200, { deviceId, moduleId });
  }

  /** Runs `step`, turning a `NestedScopeError` into its HTTP answer (the unread body drained first). */
  private async guard<T>(step: () => Promise<T>, request?: RouteRequest['request']): Promise<T> {
    try {
      return await step();
    } catch (error) {
      if (error instanceof NestedScopeError) {
        request?.resume();
        throw new HttpError(error.status, error.message);
      }
      throw error;
    }
  }
}
