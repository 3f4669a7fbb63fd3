import { DeploymentSource } from '../../../application/ports/deployment-source.js';
import { parseDeploymentManifest } from '../../../domain/deployment/deployment-manifest.js';

/** A deployment source fed by the test: `set(manifest)` publishes a new version. */
export class MemoryDeploymentSource extends DeploymentSource {
  private version = 0;

  set(manifest: unknown): void {
    this.version += 1;
    this.publish({ version: this.version, deployment: parseDeploymentManifest(manifest) });
  }

  protected async open(): Promise<void> {}
  protected async close(): Promise<void> {}
}

/** A manifest with the given `$edgeAgent` modules (process modules by default). */
export function manifestWith(modules: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown {
  return { modulesContent: { $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', modules, ...extra } } } };
}

export function processModule(overrides: Record<string, unknown> = {}, settings: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'process', status: 'running', restartPolicy: 'always', version: '1.0', settings: { command: 'node', args: ['-e', '0'], ...settings }, ...overrides };
}
