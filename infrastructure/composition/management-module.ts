import { readFile } from 'node:fs/promises';
import { ContainerModule, type ContainerModuleLoadOptions } from 'inversify';
import { ModuleManagement } from '../../application/agent/module-management.js';
import { StateIdentityStore } from '../../application/hub/state-identity-store.js';
import { HostedService } from '../../application/ports/hosted-service.js';
import { IdentityStore } from '../../application/ports/identity-store.js';
import { Logger } from '../../application/ports/logger.js';
import { ModuleIdentityProvider } from '../../application/ports/module-identity-provider.js';
import { SecretCipher } from '../../application/ports/secret-cipher.js';
import { StateStore } from '../../application/ports/state-store.js';
import { WorkloadCrypto } from '../../application/ports/workload-crypto.js';
import { ModuleIdentities, WorkloadSettings } from '../../application/workload/module-identities.js';
import { NodeWorkloadCrypto } from '../../adapters/crypto/node-workload-crypto.js';
import { ManagementApi, ManagementApiOptions } from '../../adapters/http/management-api.js';
import { WorkloadApi, WorkloadApiOptions } from '../../adapters/http/workload-api.js';
import { runtimeSockets } from '../runtime-sockets.js';

export interface ManagementModuleOptions {
  /** config `dataDir`: sockets go to `<dataDir>/sockets/workload/workload.sock` and `<dataDir>/sockets/management.sock`. */
  dataDir: string;
  /** config `deviceId`: module identities are `<deviceId>/<module>`. */
  deviceId: string;
  /** The edge CA certificate file served as the trust bundle (`<certs.dir>/edge-ca.cert.pem`). */
  caCertPath: string;
  /** Serve the management API (default true). */
  management?: boolean;
  /**
   * Opt-in: also give modules `EdgeHubConnectionString` (with their primary key) and
   * `EdgeModuleCACertificateFile`, for SDKs older than the workload API (Azure 1.0 Docker mode).
   */
  legacyConnectionString?: { iotHubHostname: string; gatewayHostname: string };
}

/**
 * Module identities + workload API, and the management API, as hosted services. Needs the agent
 * (`agentModule`: `ModuleRuntime`, `ReconcileDeployment`, `AgentMethods`, `AgentSettings`),
 * `StateStore` (storage) and `Logger`/`Clock` (core). Uses the hub's `IdentityStore` when bound
 * (`hubModule`), else its own `StateIdentityStore` over the same database, so identities are the
 * ones the hub authenticates either way. Binding `ModuleIdentityProvider` makes the agent create a
 * module's identity when it creates the module and put `IOTEDGE_WORKLOADURI` and
 * `IOTEDGE_MODULEGENERATIONID` in its environment.
 */
export function managementModule(options: ManagementModuleOptions): ContainerModule {
  const sockets = runtimeSockets(options.dataDir);
  return new ContainerModule(({ bind }) => {
    const legacy = options.legacyConnectionString === undefined ? undefined : { ...options.legacyConnectionString, caCertPath: options.caCertPath };
    bind(WorkloadSettings).toConstantValue(new WorkloadSettings(options.deviceId, `unix://${sockets.workload}`, legacy));
    bind(WorkloadCrypto).to(NodeWorkloadCrypto).inSingletonScope();
    bind(ModuleIdentities)
      .toDynamicValue((context) => {
        const identities = context.get(IdentityStore, { optional: true }) ?? new StateIdentityStore(context.get(StateStore), context.get(SecretCipher));
        return new ModuleIdentities(identities, context.get(StateStore), context.get(WorkloadCrypto), context.get(WorkloadSettings), context.get(Logger));
      })
      .inSingletonScope();
    bind(ModuleIdentityProvider).toService(ModuleIdentities);
    bind(WorkloadApiOptions).toConstantValue(new WorkloadApiOptions(sockets.workload, () => readFile(options.caCertPath, 'utf8')));
    bind(WorkloadApi).toSelf().inSingletonScope();
    bind(HostedService).toService(WorkloadApi);
    if (options.management !== false) {
      bind(ModuleManagement).toSelf().inSingletonScope();
      bindManagementApi(bind, sockets.management);
    }
  });
}

function bindManagementApi(bind: ContainerModuleLoadOptions['bind'], socketPath: string): void {
  bind(ManagementApiOptions).toConstantValue(new ManagementApiOptions(socketPath));
  bind(ManagementApi).toSelf().inSingletonScope();
  bind(HostedService).toService(ManagementApi);
}

/**
 * The management API alone, for a runtime without the agent (`edgeport run --only hub`): its hub
 * routes (C2D, direct methods) work, its module routes answer 503. Load after `hubModule`.
 */
export function managementApiModule(options: { dataDir: string }): ContainerModule {
  return new ContainerModule(({ bind }) => bindManagementApi(bind, runtimeSockets(options.dataDir).management));
}
