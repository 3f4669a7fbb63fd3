/**
 * Where everything durable lives (messages, and through `StateStore` twins, identities and module
 * state). SQLite is the default; PostgreSQL is selected by `storage.url`.
 */
export type StorageOptions =
  | {
      kind: 'sqlite';
      /** Database file on a persistent path (never a container's temporary layer). */
      path: string;
      /** `normal` (default): survives process crash and kill. `full`: also survives power loss. */
      sync?: 'normal' | 'full';
    }
  | {
      kind: 'postgres';
      url: string;
      /** Connections in the pool (default 5). */
      poolSize?: number;
    };
