import { inject, injectable } from 'inversify';
import { StateStore } from '../ports/state-store.js';

/** State-store namespace of nested-edge parent links: key = a device id, value = its parent edge device's id. */
export const SCOPE_PARENTS_NAMESPACE = 'upstream-scope-parents';

/** How far up a hierarchy the on-behalf-of check walks (Azure nests up to 5 layers). */
const MAX_DEPTH = 8;

/**
 * Nested edge: which child edge device a device below this edge belongs to (its `parentScopes`), as
 * learnt from the child's device scope (`NestedDeviceScope`). A token signed with a child edge
 * device's key authorizes the devices of its scope on their behalf, as Azure's nested edge hub
 * authenticates them (`AuthenticateClient`); persisted, so this also holds while the cloud is away.
 */
@injectable()
export class DeviceScopeParents {
  private opened: Promise<void> | undefined;

  constructor(@inject(StateStore) private readonly state: StateStore) {}

  async parentOf(deviceId: string): Promise<string | undefined> {
    await this.open();
    const value = await this.state.get(SCOPE_PARENTS_NAMESPACE, deviceId);
    return typeof value === 'string' ? value : undefined;
  }

  /** The parent edge devices of `deviceId`, nearest first (empty when it is not below a child edge device). */
  async ancestors(deviceId: string): Promise<string[]> {
    const out: string[] = [];
    let current: string | undefined = deviceId;
    while (out.length < MAX_DEPTH) {
      current = await this.parentOf(current);
      if (current === undefined || out.includes(current) || current === deviceId) break;
      out.push(current);
    }
    return out;
  }

  async set(deviceId: string, parentId: string): Promise<void> {
    await this.open();
    if ((await this.state.get(SCOPE_PARENTS_NAMESPACE, deviceId)) !== parentId) await this.state.put(SCOPE_PARENTS_NAMESPACE, deviceId, parentId);
  }

  async remove(deviceId: string): Promise<void> {
    await this.open();
    await this.state.delete(SCOPE_PARENTS_NAMESPACE, deviceId);
  }

  private open(): Promise<void> {
    this.opened ??= this.state.open();
    return this.opened;
  }
}
