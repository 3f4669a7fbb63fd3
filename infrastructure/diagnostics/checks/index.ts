import type { CheckContext } from '../check-context.js';
import type { Check } from '../check-model.js';
import { deploymentCheck, dockerCheck, modulesCheck, routesCheck } from './agent-checks.js';
import { certificatesCheck } from './certificate-check.js';
import { clockCheck } from './clock-check.js';
import { dataDirWritableCheck, diskSpaceCheck } from './data-dir-checks.js';
import { portsCheck } from './ports-check.js';
import { registryCredentialsCheck, runtimeCheck } from './setup-checks.js';
import { storeCheck } from './store-check.js';
import { upstreamCheck } from './upstream-check.js';

/** Every check after `config-valid`, in the order `edgeport check` prints them. */
export const agentChecks: ReadonlyArray<Check<CheckContext>> = [
  runtimeCheck,
  dataDirWritableCheck,
  diskSpaceCheck,
  certificatesCheck,
  portsCheck,
  dockerCheck,
  clockCheck,
  upstreamCheck,
  storeCheck,
  deploymentCheck,
  routesCheck,
  modulesCheck,
  registryCredentialsCheck,
];
