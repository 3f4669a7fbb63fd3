/**
 * Encryption of secrets at rest (identity keys in the state store), behind a port so that the
 * application never touches `node:crypto` or the key file. The master key lives apart from the
 * database (Azure's edgelet keeps keys in a key service; Edgeport in `secrets.keyFile`).
 */
export abstract class SecretCipher {
  /**
   * Makes the master key available: loads it, or creates it when `allowCreate` (only when nothing
   * sealed exists yet, so a lost key is reported instead of silently replaced). Idempotent.
   * Rejects with a `SecretCipherError` (`SECRET_KEY_MISSING`, `SECRET_KEY_UNREADABLE`).
   */
  abstract open(options: { allowCreate: boolean }): Promise<void>;
  /** Encrypts `plaintext`, bound to `context` (e.g. `identities/dev1`): a sealed value moved to another context does not open. */
  abstract seal(plaintext: string, context: string): string;
  /** Decrypts what `seal` produced for the same context; throws a `SecretCipherError` otherwise. */
  abstract unseal(sealed: string, context: string): string;
  /** Whether `value` looks like the output of `seal` (any key), as opposed to legacy plain text. */
  abstract isSealed(value: string): boolean;
  /** Where the master key is kept, for messages (never the key itself). */
  abstract describeKey(): string;
}

export type SecretCipherErrorCode =
  /** No master key where it should be, and secrets sealed with one exist. */
  | 'SECRET_KEY_MISSING'
  /** The key file exists but cannot be read or is not a key. */
  | 'SECRET_KEY_UNREADABLE'
  /** The value was sealed with another master key. */
  | 'SECRET_KEY_MISMATCH'
  /** The value is damaged (or belongs to another context). */
  | 'SECRET_CORRUPT'
  /** `seal`/`unseal` before `open`. */
  | 'SECRET_NOT_OPEN';

export class SecretCipherError extends Error {
  constructor(
    readonly code: SecretCipherErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SecretCipherError';
  }
}
