import type { ModuleSpec } from './module-spec.js';

/** What the agent knows about the device, for the environment of every module (Azure §4.1). */
export interface ModuleEnvironmentContext {
  iothubHostname: string;
  deviceId: string;
  /** Host name modules use to reach the edge hub (`IOTEDGE_GATEWAYHOSTNAME`). */
  gatewayHostname: string;
  /** Workload API address (`IOTEDGE_WORKLOADURI`), once the workload API exists. */
  workloadUri?: string;
  apiVersion: string;
  /** Agent's log level, passed as `RuntimeLogLevel` unless the module sets it. */
  runtimeLogLevel?: string;
  upstreamProtocol?: string;
  /** Generation id per module, when identities carry one. */
  generationIds?: Readonly<Record<string, string>>;
}

/** Module id as IoT Hub names it: system modules carry a `$` prefix. */
export function moduleIdentityName(moduleName: string): string {
  return moduleName === 'edgeAgent' || moduleName === 'edgeHub' ? `$${moduleName}` : moduleName;
}

/**
 * Environment of a module (Azure `CreateOrUpdateCommand.GetEnvVars`): the deployment's `env`
 * first, then the `IOTEDGE_*` variables, which win on a clash because modules rely on them.
 */
export function moduleEnvironment(spec: ModuleSpec, context: ModuleEnvironmentContext): Record<string, string> {
  const env: Record<string, string> = { ...spec.env };
  env['IOTEDGE_IOTHUBHOSTNAME'] = context.iothubHostname;
  env['IOTEDGE_DEVICEID'] = context.deviceId;
  env['IOTEDGE_MODULEID'] = moduleIdentityName(spec.name);
  env['IOTEDGE_AUTHSCHEME'] = 'sasToken';
  env['IOTEDGE_APIVERSION'] = context.apiVersion;
  if (context.workloadUri !== undefined) env['IOTEDGE_WORKLOADURI'] = context.workloadUri;
  const generationId = context.generationIds?.[spec.name];
  if (generationId !== undefined) env['IOTEDGE_MODULEGENERATIONID'] = generationId;
  if (spec.name === 'edgeAgent' || spec.name === 'edgeHub') env['EdgeDeviceHostName'] = context.gatewayHostname;
  else env['IOTEDGE_GATEWAYHOSTNAME'] = context.gatewayHostname;
  if (context.runtimeLogLevel !== undefined && spec.env['RuntimeLogLevel'] === undefined) env['RuntimeLogLevel'] = context.runtimeLogLevel;
  if (context.upstreamProtocol !== undefined && spec.env['UpstreamProtocol'] === undefined) env['UpstreamProtocol'] = context.upstreamProtocol;
  return env;
}
