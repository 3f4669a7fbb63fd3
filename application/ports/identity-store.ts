import type { Identity } from '../../domain/identity/identity.js';
import type { X509Authentication } from '../../domain/identity/x509.js';

export type IdentityStatus = 'enabled' | 'disabled';

/** Symmetric keys of one device or module, as in the IoT Hub identity registry. */
export interface IdentityCredentials {
  /** base64 */
  readonly primaryKey: string;
  /** base64 */
  readonly secondaryKey: string;
  /** Absent means enabled. */
  readonly status?: IdentityStatus;
  /**
   * Present for an identity of kind x509: it authenticates with a client certificate (its keys are
   * then empty and SAS tokens are refused). Absent: SAS keys, as before.
   */
  readonly x509?: X509Authentication;
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
