/** A JSON value as the state store keeps it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Key-value documents by namespace (`twins`, `identities`, `module-state`, ...). Lives in the same
 * database as the message store, so one storage setting moves everything.
 */
export abstract class StateStore {
  abstract open(): Promise<void>;
  abstract get(namespace: string, key: string): Promise<JsonValue | undefined>;
  /** Inserts or replaces the document. */
  abstract put(namespace: string, key: string, value: JsonValue): Promise<void>;
  /** Resolves true if a document was removed. */
  abstract delete(namespace: string, key: string): Promise<boolean>;
  /** Every document of the namespace, ordered by key. */
  abstract list(namespace: string): Promise<Array<{ key: string; value: JsonValue }>>;
  /**
   * Makes replaced and deleted documents unrecoverable from the store's files (after secrets that
   * were stored in plain text were replaced by encrypted ones). Slow; call rarely.
   */
  abstract scrub(): Promise<void>;
}
