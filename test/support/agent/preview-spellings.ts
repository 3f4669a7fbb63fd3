// The 2017 preview's overview (reference/seed-iot-edge-runtime-fr.md) spells restart policies
// `Never`, `onFailure`, `Unhealthy`, `Always`; Azure 1.x spells them `never`, `on-failure`,
// `on-unhealthy`, `always`. Both are accepted; what is reported is 1.x's canonical spelling.

/** Every accepted spelling and the canonical policy it means. */
export const RESTART_POLICY_SPELLINGS: ReadonlyArray<readonly [string, string]> = [
  ['never', 'never'],
  ['Never', 'never'],
  ['NEVER', 'never'],
  ['on-failure', 'on-failure'],
  ['onFailure', 'on-failure'],
  ['OnFailure', 'on-failure'],
  ['On-Failure', 'on-failure'],
  ['ON_FAILURE', 'on-failure'],
  ['on-unhealthy', 'on-unhealthy'],
  ['onUnhealthy', 'on-unhealthy'],
  ['OnUnhealthy', 'on-unhealthy'],
  ['On-Unhealthy', 'on-unhealthy'],
  ['Unhealthy', 'on-unhealthy'],
  ['unhealthy', 'on-unhealthy'],
  ['always', 'always'],
  ['Always', 'always'],
];

/** Desired statuses in any case. */
export const STATUS_SPELLINGS: ReadonlyArray<readonly [string, string]> = [
  ['running', 'running'],
  ['Running', 'running'],
  ['RUNNING', 'running'],
  ['rUnNiNg', 'running'],
  ['stopped', 'stopped'],
  ['Stopped', 'stopped'],
  ['STOPPED', 'stopped'],
];

