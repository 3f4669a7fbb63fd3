import { inject, injectable, optional } from 'inversify';
import { type Identity, IdentityError, parseIdentity } from '../../domain/identity/identity.js';
import type { JsonValue } from '../../domain/twins/json.js';
import { TwinValidationError } from '../../domain/twins/twin-limits.js';
import { ManagementError, ModuleManagement } from '../agent/module-management.js';
import { CloudToDeviceError, CloudToDeviceService, type CloudToDeviceAccepted, type CloudToDeviceRequest } from '../hub/cloud-to-device-service.js';
import { MethodService } from '../hub/method-service.js';
import { TwinService } from '../hub/twin-service.js';
import { Upstream } from '../ports/upstream.js';
import { ObserveError } from './observe-error.js';

export type ModuleAction = 'restart' | 'start' | 'stop';

/**
 * What an operator may do from the dashboard (and the management API): restart, stop and start a
 * module, invoke a direct method, send a cloud-to-device message, and, in standalone mode (no
 * upstream: nobody else owns the desired properties), edit a module twin's desired properties.
 * Errors of the services underneath become `ObserveError` with the status to answer.
 */
@injectable()
export class OperatorActions {
  constructor(
    @inject(ModuleManagement) @optional() private readonly management?: ModuleManagement,
    @inject(MethodService) @optional() private readonly methods?: MethodService,
    @inject(CloudToDeviceService) @optional() private readonly c2d?: CloudToDeviceService,
    @inject(TwinService) @optional() private readonly twins?: TwinService,
    @inject(Upstream) @optional() private readonly upstream?: Upstream,
  ) {}

  async module(name: string, action: ModuleAction): Promise<void> {
    const management = this.management;
    if (management === undefined) throw new ObserveError(503, 'the edge agent is not running in this runtime');
    await translate(() => (action === 'restart' ? management.restart(name) : management.setRunning(name, action === 'start')));
  }

  async invokeMethod(target: string, methodName: string, payload: JsonValue | undefined, timeoutMs?: number): Promise<{ status: number; payload: unknown }> {
    const methods = this.hub(this.methods);
    if (methodName.trim() === '') throw new ObserveError(400, 'methodName must not be empty');
    const result = await methods.invoke(identityOf(target), methodName, payload, timeoutMs);
    return { status: result.status, payload: result.payload };
  }

  async sendCloudToDevice(request: CloudToDeviceRequest): Promise<CloudToDeviceAccepted> {
    const c2d = this.hub(this.c2d);
    return await translate(() => c2d.send(request));
  }

  /** Applies a desired-properties patch to a module twin (standalone mode only). Returns the new `$version`. */
  async patchModuleDesired(target: string, patch: unknown): Promise<number> {
    const twins = this.hub(this.twins);
    if (this.upstream !== undefined) throw new ObserveError(409, `desired properties come from the cloud (upstream ${this.upstream.kind}): edit them there`);
    const identity = identityOf(target);
    if (identity.kind !== 'module') throw new ObserveError(400, 'only module twins are edited here: name the twin <deviceId>/<moduleId>');
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw new ObserveError(400, 'the desired patch must be a JSON object');
    // A `$version` in the patch is not ours to set: the twin service numbers desired versions.
    const { $version: _ignored, ...properties } = patch as Record<string, unknown>;
    const update = await translate(() => twins.updateDesired(identity, properties));
    return update.applied ? update.version : update.twin.desired.$version;
  }

  private hub<T>(service: T | undefined): T {
    if (service === undefined) throw new ObserveError(503, 'the edge hub is not running in this runtime');
    return service;
  }
}

function identityOf(target: string): Identity {
  try {
    return parseIdentity(target);
  } catch (error) {
    if (error instanceof IdentityError) throw new ObserveError(400, `name a device or module as <deviceId> or <deviceId>/<moduleId>: ${error.message}`);
    throw error;
  }
}

async function translate<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ManagementError) throw new ObserveError(error.status, error.message);
    if (error instanceof CloudToDeviceError) throw new ObserveError(error.status, error.message);
    if (error instanceof TwinValidationError) throw new ObserveError(400, error.message);
    throw error;
  }
}
