import { inject, injectable } from 'inversify';
import { moduleIdentity, type ModuleIdentity } from '../../domain/identity/identity.js';
import { moduleIdentityName } from '../../domain/modules/module-environment.js';
import { IdentityStore } from '../ports/identity-store.js';
import { Logger } from '../ports/logger.js';
import { ModuleIdentityProvider, type ProvisionedModuleIdentity } from '../ports/module-identity-provider.js';
import { StateStore } from '../ports/state-store.js';
import { WorkloadCrypto } from '../ports/workload-crypto.js';

/** State-store namespace of generation ids (key: module id, value `{generationId}`). */
export const GENERATIONS_NAMESPACE = 'module-generations';

/**
 * Opt-in legacy credentials (Azure 1.0 Docker mode, iotedge-semantics §4.3): the module also gets
 * `EdgeHubConnectionString=HostName=<hub>;DeviceId=<d>;ModuleId=<m>;SharedAccessKey=<primary key>;GatewayHostName=<gw>`
 * and `EdgeModuleCACertificateFile`, for modules built on SDKs that predate the workload API. The
 * SDK prefers the connection string when it is set. The key is then in the module's environment.
 */
export interface LegacyConnectionStringSettings {
  iotHubHostname: string;
  /** `host` or `host:port` of the MQTT head. */
  gatewayHostname: string;
  /** The edge CA certificate file. */
  caCertPath: string;
}

/** Device and workload address the module identities belong to. Bound by the composition root. */
export class WorkloadSettings {
  constructor(
    /** config `deviceId`: modules are `<deviceId>/<module>`. */
    readonly deviceId: string,
    /** `unix:///abs/path/workload.sock`. */
    readonly workloadUri: string,
    /** Also inject `EdgeHubConnectionString` (off unless given). */
    readonly legacyConnectionString?: LegacyConnectionStringSettings,
  ) {}
}

/** A workload API answer that is not a success: HTTP status and a message for the module's log. */
export interface WorkloadFailure {
  ok: false;
  status: 400 | 404;
  message: string;
}

export type SignResult = { ok: true; digest: string } | WorkloadFailure;

export interface SignRequest {
  keyId?: unknown;
  algo?: unknown;
  data?: unknown;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Module identities for the workload API (edgelet's identity service + `POST .../sign`): the agent
 * provisions `<deviceId>/<module>` with random keys in the hub's `IdentityStore` and a generation id
 * when it creates a module; the module's SDK asks the workload API to sign its SAS tokens with the
 * primary key. Keys never leave the runtime.
 */
@injectable()
export class ModuleIdentities extends ModuleIdentityProvider {
  private readonly logger: Logger;

  constructor(
    @inject(IdentityStore) private readonly identities: IdentityStore,
    @inject(StateStore) private readonly state: StateStore,
    @inject(WorkloadCrypto) private readonly crypto: WorkloadCrypto,
    @inject(WorkloadSettings) private readonly settings: WorkloadSettings,
    @inject(Logger) logger: Logger,
  ) {
    super();
    this.logger = logger.child({ component: 'module-identities' });
  }

  private identityOf(module: string): ModuleIdentity {
    return moduleIdentity(this.settings.deviceId, moduleIdentityName(module));
  }

  async provision(module: string): Promise<ProvisionedModuleIdentity> {
    const identity = this.identityOf(module);
    const moduleId = identity.moduleId;
    let credentials = await this.identities.get(identity);
    let generationId = await this.generationOf(moduleId);
    if (credentials === undefined || generationId === undefined) {
      // A new identity (or one re-created after someone removed it) gets a new generation id.
      generationId = this.crypto.newGenerationId();
      const keptKeys = credentials !== undefined;
      if (credentials === undefined) {
        credentials = { primaryKey: this.crypto.newKey(), secondaryKey: this.crypto.newKey() };
        await this.identities.put(identity, credentials);
      }
      await this.state.put(GENERATIONS_NAMESPACE, moduleId, { generationId });
      this.logger.info(`module identity ${this.settings.deviceId}/${moduleId} provisioned`, { module: moduleId, generationId, keptKeys });
    }
    const legacy = this.settings.legacyConnectionString;
    if (legacy === undefined) return { generationId, workloadUri: this.settings.workloadUri };
    const connectionString = `HostName=${legacy.iotHubHostname};DeviceId=${this.settings.deviceId};ModuleId=${moduleId};SharedAccessKey=${credentials.primaryKey};GatewayHostName=${legacy.gatewayHostname}`;
    return { generationId, workloadUri: this.settings.workloadUri, env: { EdgeHubConnectionString: connectionString, EdgeModuleCACertificateFile: legacy.caCertPath } };
  }

  async deprovision(module: string): Promise<void> {
    const identity = this.identityOf(module);
    await this.identities.remove(identity);
    await this.state.delete(GENERATIONS_NAMESPACE, identity.moduleId);
    this.logger.info(`module identity ${this.settings.deviceId}/${identity.moduleId} removed`, { module: identity.moduleId });
  }

  /** The current generation id of a module, if it has an identity. */
  async generationOf(moduleId: string): Promise<string | undefined> {
    const value = await this.state.get(GENERATIONS_NAMESPACE, moduleId);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    const generationId = value['generationId'];
    return typeof generationId === 'string' ? generationId : undefined;
  }

  /**
   * `POST /modules/{moduleId}/genid/{genId}/sign` `{keyId, algo: "HMACSHA256", data: base64}`:
   * HMAC-SHA256 with the module's key over the decoded data. 404 when the module has no identity or
   * the generation id is not the current one (a module from an older deployment).
   */
  async sign(moduleId: string, generationId: string, request: SignRequest): Promise<SignResult> {
    const keyId = request.keyId ?? 'primary';
    if (keyId !== 'primary' && keyId !== 'secondary') return { ok: false, status: 400, message: 'keyId must be "primary" or "secondary"' };
    if (request.algo !== 'HMACSHA256') return { ok: false, status: 400, message: 'algo must be "HMACSHA256"' };
    if (typeof request.data !== 'string' || !BASE64.test(request.data)) return { ok: false, status: 400, message: 'data must be a base64 string' };
    const credentials = await this.credentialsOf(moduleId, generationId);
    if (!credentials.ok) return credentials;
    const key = keyId === 'primary' ? credentials.primaryKey : credentials.secondaryKey;
    return { ok: true, digest: this.crypto.hmacSha256Base64(key, request.data) };
  }

  private async credentialsOf(moduleId: string, generationId: string): Promise<{ ok: true; primaryKey: string; secondaryKey: string } | WorkloadFailure> {
    const notFound: WorkloadFailure = { ok: false, status: 404, message: `module ${moduleId} with generation id ${generationId} not found` };
    let identity: ModuleIdentity;
    try {
      identity = moduleIdentity(this.settings.deviceId, moduleId);
    } catch {
      return notFound;
    }
    const current = await this.generationOf(moduleId);
    if (current === undefined || current !== generationId) return notFound;
    const credentials = await this.identities.get(identity);
    if (credentials === undefined || credentials.status === 'disabled') return notFound;
    return { ok: true, primaryKey: credentials.primaryKey, secondaryKey: credentials.secondaryKey };
  }
}
