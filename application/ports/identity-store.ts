import type { Identity } from '../../domain/identity/identity.js';

export type IdentityStatus = 'enabled' | 'disabled';

/** Symmetric keys of one device or module, as in the IoT Hub identity registry. */
export interface IdentityCredentials {
  /** base64 */
  readonly primaryKey: string;
  /** base64 */
  readonly secondaryKey: string;
  /** Absent means enabled. */
  readonly status?: IdentityStatus;
}

export interface IdentityRecord {
  readonly identity: Identity;
  readonly credentials: IdentityCredentials;
}

/**
 * The identities the hub authenticates locally (edgeHub's device scope: the edge device, its
 * modules and its leaf devices), so clients authenticate while the cloud is unreachable.
 */
export abstract class IdentityStore {
  abstract get(identity: Identity): Promise<IdentityCredentials | undefined>;
  abstract put(identity: Identity, credentials: IdentityCredentials): Promise<void>;
  /** Resolves `true` when something was removed. */
  abstract remove(identity: Identity): Promise<boolean>;
  abstract list(): Promise<IdentityRecord[]>;
}
