import type { ModuleEnvironmentContext } from '../../domain/modules/module-environment.js';
import { DEFAULT_RESTART_POLICY_SETTINGS, type RestartPolicySettings } from '../../domain/modules/restart-policy.js';

/** Back-off of a failing plan command (Azure `OrderedRetryPlanRunner`). */
export interface CommandRetrySettings {
  /** Wait after the n-th consecutive failure: `unit * 2^(n-1)`, capped at `maxCoolOffMs`. */
  coolOffUnitMs: number;
  maxCoolOffMs: number;
  /** After this many failures the command is not retried until the deployment changes. */
  maxRuns: number;
}

/**
 * Everything the reconcile loop needs besides its ports. Bound as a constant value by the
 * composition root; every field has Azure's default.
 */
export class AgentSettings {
  /** Azure waits 5 s between reconciles. */
  reconcileIntervalMs = 5000;
  /** Grace time between SIGTERM (docker stop) and the forced kill. */
  stopTimeoutMs = 10_000;
  restartPolicy: RestartPolicySettings = DEFAULT_RESTART_POLICY_SETTINGS;
  commandRetry: CommandRetrySettings = { coolOffUnitMs: 10_000, maxCoolOffMs: 300_000, maxRuns: 20 };
  environment: ModuleEnvironmentContext = {
    iothubHostname: 'localhost',
    deviceId: 'edgeport',
    gatewayHostname: 'localhost',
    apiVersion: '2022-08-03',
  };
  /** `runtime.platform` of the reported properties. */
  platform = { os: 'linux', architecture: 'x86_64', version: '0.1.0' };
  /** Reported `version` of the agent. */
  agentVersion = { version: '0.1.0', build: '', commit: '' };
  /** The edge hub runs in this process (`edgeport run`), so `edgeHub` is reported as running. */
  embeddedHub = true;

  constructor(overrides: Partial<AgentSettings> = {}) {
    Object.assign(this, overrides);
  }
}
