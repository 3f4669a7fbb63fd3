export * from './module-spec.js';
export * from './module-status.js';
export * from './restart-policy.js';
export * from './planner.js';
export * from './module-environment.js';
export * from './log-time.js';
export * from './status-description.js';
export * from './module-preparation.js';
