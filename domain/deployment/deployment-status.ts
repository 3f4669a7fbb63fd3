/**
 * `lastDesiredStatus.code` values of the `$edgeAgent` reported properties (Azure
 * `DeploymentStatusCode`), with the descriptions Azure uses where it has a fixed one.
 */
export const DeploymentStatusCode = {
  Successful: 200,
  ConfigFormatError: 400,
  Unknown: 406,
  InvalidSchemaVersion: 412,
  ConfigEmptyError: 417,
  Failed: 500,
} as const;
export type DeploymentStatusCode = (typeof DeploymentStatusCode)[keyof typeof DeploymentStatusCode];

export interface DeploymentStatus {
  code: DeploymentStatusCode;
  description: string;
}

export const EMPTY_CONFIGURATION_DESCRIPTION = 'This device has an empty configuration for the edge agent. Please set a deployment manifest.';
export const CONFIG_FORMAT_DESCRIPTION = 'Agent configuration format is invalid.';
export const AGENT_NOT_RUNNING_DESCRIPTION = 'Agent is not running';

export const SUCCESSFUL: DeploymentStatus = Object.freeze({ code: DeploymentStatusCode.Successful, description: '' });
export const UNKNOWN_STATUS: DeploymentStatus = Object.freeze({ code: DeploymentStatusCode.Unknown, description: '' });
export const EMPTY_CONFIGURATION: DeploymentStatus = Object.freeze({ code: DeploymentStatusCode.ConfigEmptyError, description: EMPTY_CONFIGURATION_DESCRIPTION });

/** One thing wrong with a manifest: where (a dotted path) and what to fix. */
export interface ManifestProblem {
  path: string;
  message: string;
}

/**
 * 400 with Azure's fixed sentence followed by every problem found, so the user can fix them all
 * at once: `Agent configuration format is invalid. modules.sensor.status: ...; ...`.
 */
export function configFormatError(problems: readonly ManifestProblem[]): DeploymentStatus {
  const details = problems.map((p) => (p.path === '' ? p.message : `${p.path}: ${p.message}`)).join('; ');
  return { code: DeploymentStatusCode.ConfigFormatError, description: details === '' ? CONFIG_FORMAT_DESCRIPTION : `${CONFIG_FORMAT_DESCRIPTION} ${details}` };
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; status: DeploymentStatus };
