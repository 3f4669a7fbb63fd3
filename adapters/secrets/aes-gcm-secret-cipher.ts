import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { SecretCipher, SecretCipherError } from '../../application/ports/secret-cipher.js';
import { MASTER_KEY_BYTES } from './master-key-file.js';

/** Where the master key comes from (a file in production, a fixed key in tests). */
export interface MasterKeySource {
  load(allowCreate: boolean): Promise<Buffer>;
  readonly path: string;
}

const PREFIX = 'edgeport-sealed:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A short, non-secret fingerprint of a key: tells "sealed with another key" from "damaged". */
function keyId(key: Buffer): string {
  return createHash('sha256').update('edgeport master key id').update(key).digest('hex').slice(0, 16);
}

/**
 * AES-256-GCM with a random 96-bit nonce per value and the context as additional authenticated
 * data. Sealed form: `edgeport-sealed:v1:<key id>:<base64(nonce | tag | ciphertext)>`.
 */
export class AesGcmSecretCipher extends SecretCipher {
  private key: Buffer | undefined;
  private id = '';
  private opening: Promise<void> | undefined;

  constructor(private readonly source: MasterKeySource) {
    super();
  }

  /** A cipher over a fixed key (tests, tools). */
  static withKey(key: Buffer): AesGcmSecretCipher {
    if (key.length !== MASTER_KEY_BYTES) throw new RangeError(`a master key has ${MASTER_KEY_BYTES} bytes`);
    return new AesGcmSecretCipher({ path: '(in memory)', load: async () => key });
  }

  open(options: { allowCreate: boolean }): Promise<void> {
    this.opening ??= this.source.load(options.allowCreate).then(
      (key) => {
        this.key = key;
        this.id = keyId(key);
      },
      (error: unknown) => {
        this.opening = undefined; // a later attempt (e.g. after the key was restored) may succeed
        throw error;
      },
    );
    return this.opening;
  }

  describeKey(): string {
    return this.source.path;
  }

  isSealed(value: string): boolean {
    return value.startsWith(PREFIX);
  }

  seal(plaintext: string, context: string): string {
    const key = this.requireKey();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${PREFIX}${this.id}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  unseal(sealed: string, context: string): string {
    const key = this.requireKey();
    if (!sealed.startsWith(PREFIX)) throw new SecretCipherError('SECRET_CORRUPT', 'not a sealed value');
    const rest = sealed.slice(PREFIX.length);
    const colon = rest.indexOf(':');
    if (colon < 0) throw new SecretCipherError('SECRET_CORRUPT', 'a sealed value without a key id');
    const id = rest.slice(0, colon);
    if (id !== this.id) {
      throw new SecretCipherError('SECRET_KEY_MISMATCH', `sealed with another master key (key id ${id}; ${this.source.path} has key id ${this.id})`);
    }
    const data = Buffer.from(rest.slice(colon + 1), 'base64');
    if (data.length < IV_BYTES + TAG_BYTES) throw new SecretCipherError('SECRET_CORRUPT', 'a sealed value too short to hold a nonce and a tag');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(data.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(data.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretCipherError('SECRET_CORRUPT', `a sealed value failed authentication (damaged, or moved from another entry than ${context})`);
    }
  }

  private requireKey(): Buffer {
    if (this.key === undefined) throw new SecretCipherError('SECRET_NOT_OPEN', 'the secret cipher was used before open()');
    return this.key;
  }
}
