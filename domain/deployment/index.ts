export * from './deployment-status.js';
export * from './agent-desired.js';
export * from './hub-desired.js';
export * from './deployment-manifest.js';
export * from './create-options.js';
export * from './image-name.js';
export * from './reported-diff.js';
export * from './convergence.js';
