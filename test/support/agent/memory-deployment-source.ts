import { DeploymentSource, type DeploymentSnapshot } from '../../../application/ports/deployment-source.js';
import { parseDeploymentManifest } from '../../../domain/deployment/deployment-manifest.js';

/** A deployment source fed by the test: `set(manifest)` publishes a new version. */
export class MemoryDeploymentSource extends DeploymentSource {
  private snapshot: DeploymentSnapshot | undefined;
  private version = 0;
  private readonly listeners = new Set<() => void>();

  set(manifest: unknown): void {
    this.version += 1;
    this.snapshot = { version: this.version, deployment: parseDeploymentManifest(manifest) };
    for (const listener of this.listeners) listener();
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  current(): DeploymentSnapshot | undefined {
    return this.snapshot;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** A manifest with the given `$edgeAgent` modules (process modules by default). */
export function manifestWith(modules: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown {
  return { modulesContent: { $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', modules, ...extra } } } };
}

export function processModule(overrides: Record<string, unknown> = {}, settings: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'process', status: 'running', restartPolicy: 'always', version: '1.0', settings: { command: 'node', args: ['-e', '0'], ...settings }, ...overrides };
}
