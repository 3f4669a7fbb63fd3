import { inject, injectable } from 'inversify';
import { type Identity, formatIdentity, parseIdentity } from '../../domain/identity/identity.js';
import type { X509Authentication } from '../../domain/identity/x509.js';
import { IdentityStore, type IdentityCredentials, type IdentityRecord } from '../ports/identity-store.js';
import { SecretCipher, SecretCipherError } from '../ports/secret-cipher.js';
import { StateStore, type JsonValue } from '../ports/state-store.js';

/** State-store namespace of the identity registry (keys: `dev`, `dev/mod`). */
export const IDENTITIES_NAMESPACE = 'identities';

/** What opening the store found and did. */
export interface IdentityKeyProtection {
  /** Identities whose keys were stored in plain text and are encrypted now. */
  readonly encrypted: number;
  /** Identities whose keys were already encrypted (and decrypt with the master key). */
  readonly alreadyEncrypted: number;
}

type StoredDocument = { [key: string]: JsonValue };

function isDocument(value: JsonValue | undefined): value is StoredDocument {
  return value !== undefined && value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Documents written before keys were encrypted: `{ primaryKey, secondaryKey, status? }`. */
function isPlainDocument(value: StoredDocument): boolean {
  return typeof value['primaryKey'] === 'string' && typeof value['secondaryKey'] === 'string';
}

function x509Document(auth: X509Authentication): StoredDocument {
  if (auth.type === 'selfSigned') {
    return { type: 'selfSigned', primaryThumbprint: auth.primaryThumbprint ?? null, secondaryThumbprint: auth.secondaryThumbprint ?? null };
  }
  return { type: 'certificateAuthority', trustedCaPems: [...(auth.trustedCaPems ?? [])] };
}

function x509FromDocument(value: JsonValue | undefined): X509Authentication | undefined {
  if (!isDocument(value)) return undefined;
  if (value['type'] === 'selfSigned') {
    const primary = value['primaryThumbprint'];
    const secondary = value['secondaryThumbprint'];
    return { type: 'selfSigned', ...(typeof primary === 'string' ? { primaryThumbprint: primary } : {}), ...(typeof secondary === 'string' ? { secondaryThumbprint: secondary } : {}) };
  }
  if (value['type'] === 'certificateAuthority') {
    const pems = value['trustedCaPems'];
    const list = Array.isArray(pems) ? pems.filter((p): p is string => typeof p === 'string') : [];
    return { type: 'certificateAuthority', ...(list.length > 0 ? { trustedCaPems: list } : {}) };
  }
  return undefined;
}

function withStatus(credentials: { primaryKey: string; secondaryKey: string }, status: JsonValue | undefined): IdentityCredentials {
  return status === 'disabled' || status === 'enabled' ? { ...credentials, status } : credentials;
}

/**
 * The identities the hub authenticates, kept in the `StateStore` (the same SQLite or PostgreSQL
 * database as messages and twins), so they survive restarts and move with `storage.kind`.
 *
 * Keys are encrypted at rest with the `SecretCipher` (the master key lives in a file apart from the
 * database): a document is `{ keys: "<sealed {primaryKey, secondaryKey}>", status? }`, sealed for
 * its own identity so documents cannot be swapped. `open()` (run by the first use, and at start by
 * `ProtectIdentityKeys`) creates the master key on first use, checks that every stored document
 * decrypts, and encrypts documents still in plain text (written by older versions), then asks the
 * store to scrub the plain text from its files.
 */
@injectable()
export class StateIdentityStore extends IdentityStore {
  private opening: Promise<IdentityKeyProtection> | undefined;

  constructor(
    @inject(StateStore) private readonly state: StateStore,
    @inject(SecretCipher) private readonly cipher: SecretCipher,
  ) {
    super();
  }

  /** Idempotent; rejects with a `SecretCipherError` naming the key file when keys cannot be decrypted. */
  open(): Promise<IdentityKeyProtection> {
    this.opening ??= this.protect().catch((error: unknown) => {
      this.opening = undefined;
      throw error;
    });
    return this.opening;
  }

  async get(identity: Identity): Promise<IdentityCredentials | undefined> {
    await this.open();
    const key = formatIdentity(identity);
    return this.toCredentials(key, await this.state.get(IDENTITIES_NAMESPACE, key));
  }

  async put(identity: Identity, credentials: IdentityCredentials): Promise<void> {
    await this.open();
    const key = formatIdentity(identity);
    const document = this.sealedDocument(key, credentials, credentials.status);
    // Certificates and thumbprints are public: kept readable next to the sealed (empty) keys.
    if (credentials.x509 !== undefined) document['x509'] = x509Document(credentials.x509);
    await this.state.put(IDENTITIES_NAMESPACE, key, document);
  }

  async remove(identity: Identity): Promise<boolean> {
    await this.open();
    return await this.state.delete(IDENTITIES_NAMESPACE, formatIdentity(identity));
  }

  async list(): Promise<IdentityRecord[]> {
    await this.open();
    const records: IdentityRecord[] = [];
    for (const { key, value } of await this.state.list(IDENTITIES_NAMESPACE)) {
      let identity: Identity;
      try {
        identity = parseIdentity(key);
      } catch {
        continue; // not written by this class; never fatal
      }
      const credentials = this.toCredentials(key, value);
      if (credentials !== undefined) records.push({ identity, credentials });
    }
    return records;
  }

  private context(key: string): string {
    return `${IDENTITIES_NAMESPACE}/${key}`;
  }

  private sealedDocument(key: string, credentials: { primaryKey: string; secondaryKey: string }, status: JsonValue | undefined): StoredDocument {
    const keys = this.cipher.seal(JSON.stringify({ primaryKey: credentials.primaryKey, secondaryKey: credentials.secondaryKey }), this.context(key));
    const document: StoredDocument = { keys };
    if (status === 'disabled' || status === 'enabled') document['status'] = status;
    return document;
  }

  private toCredentials(key: string, value: JsonValue | undefined): IdentityCredentials | undefined {
    const credentials = this.keysOf(key, value);
    if (credentials === undefined || !isDocument(value)) return credentials;
    const x509 = x509FromDocument(value['x509']);
    return x509 === undefined ? credentials : { ...credentials, x509 };
  }

  private keysOf(key: string, value: JsonValue | undefined): IdentityCredentials | undefined {
    if (!isDocument(value)) return undefined;
    if (isPlainDocument(value)) return withStatus({ primaryKey: value['primaryKey'] as string, secondaryKey: value['secondaryKey'] as string }, value['status']);
    const sealed = value['keys'];
    if (typeof sealed !== 'string') return undefined;
    const keys = JSON.parse(this.cipher.unseal(sealed, this.context(key))) as { primaryKey?: unknown; secondaryKey?: unknown };
    if (typeof keys.primaryKey !== 'string' || typeof keys.secondaryKey !== 'string') return undefined;
    return withStatus({ primaryKey: keys.primaryKey, secondaryKey: keys.secondaryKey }, value['status']);
  }

  private async protect(): Promise<IdentityKeyProtection> {
    const entries = (await this.state.list(IDENTITIES_NAMESPACE)).filter((e): e is { key: string; value: StoredDocument } => isDocument(e.value));
    const sealed = entries.filter((e) => typeof e.value['keys'] === 'string');
    // A new master key only while nothing depends on an old one: a lost key file must be restored, not replaced.
    await this.cipher.open({ allowCreate: sealed.length === 0 });
    const failures: string[] = [];
    for (const { key, value } of sealed) {
      try {
        this.toCredentials(key, value);
      } catch (error) {
        if (!(error instanceof SecretCipherError)) throw error;
        failures.push(`${key}: ${error.message}`);
      }
    }
    if (failures.length > 0) {
      throw new SecretCipherError(
        failures.some((f) => f.includes('another master key')) ? 'SECRET_KEY_MISMATCH' : 'SECRET_CORRUPT',
        `${failures.length} stored identit${failures.length === 1 ? 'y' : 'ies'} cannot be decrypted with the master key ${this.cipher.describeKey()} (secrets.keyFile): restore the key file that was used with this database. First: ${failures[0]}`,
      );
    }
    let encrypted = 0;
    for (const { key, value } of entries) {
      if (!isPlainDocument(value)) continue;
      await this.state.put(IDENTITIES_NAMESPACE, key, this.sealedDocument(key, { primaryKey: value['primaryKey'] as string, secondaryKey: value['secondaryKey'] as string }, value['status']));
      encrypted += 1;
    }
    // The plain text may survive in freed pages or old row versions until the store rewrites them.
    if (encrypted > 0) await this.state.scrub();
    return { encrypted, alreadyEncrypted: sealed.length };
  }
}
