/** What the agent puts in a module's environment for its identity (Azure §4.1). */
export interface ProvisionedModuleIdentity {
  /** `IOTEDGE_MODULEGENERATIONID`: changes whenever the identity is re-created. */
  generationId: string;
  /** `IOTEDGE_WORKLOADURI`: where the module signs its tokens and fetches the trust bundle. */
  workloadUri: string;
  /**
   * Extra variables for the module's environment, after the `IOTEDGE_*` ones: the opt-in legacy
   * `EdgeHubConnectionString` + `EdgeModuleCACertificateFile` (Azure 1.0 Docker mode, §4.3).
   */
  env?: Readonly<Record<string, string>>;
}

/**
 * Module identities in the local registry, created by the agent when it creates a module (Azure's
 * agent creates them in IoT Hub; edgelet hands out the generation id). Optional: without a binding
 * modules get no credentials.
 */
export abstract class ModuleIdentityProvider {
  /** Ensures the module has an identity (keeps existing keys and generation id). */
  abstract provision(module: string): Promise<ProvisionedModuleIdentity>;
  /** Removes the module's identity (the module left the deployment). */
  abstract deprovision(module: string): Promise<void>;
}
