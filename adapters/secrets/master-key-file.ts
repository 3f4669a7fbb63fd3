import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../../application/ports/logger.js';
import { SecretCipherError } from '../../application/ports/secret-cipher.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, tightenMode } from './private-paths.js';

/** AES-256: 32 bytes. */
export const MASTER_KEY_BYTES = 32;

/**
 * The master key in a file of its own (`secrets.keyFile`): one line of base64, mode 0600, in a
 * 0700 directory, kept apart from the database so that a copy of the database alone reveals no
 * identity key. Losing it makes the stored identity keys unreadable: back it up with the data.
 */
export class MasterKeyFile {
  constructor(
    readonly path: string,
    private readonly logger: Logger,
  ) {}

  /** Reads the key; creates it first when absent and `allowCreate`. */
  async load(allowCreate: boolean): Promise<Buffer> {
    const existing = await this.read();
    if (existing !== undefined) return existing;
    if (!allowCreate) {
      throw new SecretCipherError(
        'SECRET_KEY_MISSING',
        `the master key file ${this.path} (secrets.keyFile) is missing, but identity keys in the database were encrypted with it: restore it from your backup (a new key cannot decrypt them)`,
      );
    }
    return await this.create();
  }

  private async read(): Promise<Buffer | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      throw new SecretCipherError('SECRET_KEY_UNREADABLE', `cannot read the master key file ${this.path} (secrets.keyFile): ${code ?? String(error)}`);
    }
    const key = Buffer.from(text.trim(), 'base64');
    if (key.length !== MASTER_KEY_BYTES || key.toString('base64') !== text.trim()) {
      throw new SecretCipherError('SECRET_KEY_UNREADABLE', `the master key file ${this.path} (secrets.keyFile) does not hold a key (expected ${MASTER_KEY_BYTES} bytes as base64 on one line)`);
    }
    try {
      await tightenMode(this.path, PRIVATE_FILE_MODE, (message, fields) => this.logger.warn(message, fields));
    } catch (error) {
      // A key mounted read-only (a container secret) cannot be changed; it is still usable.
      this.logger.warn(`cannot restrict the mode of the master key file ${this.path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { path: this.path });
    }
    return key;
  }

  /**
   * Writes a new key without ever exposing a partial file: a private temp file, then `link` (fails
   * if another process won). Missing directories are created 0700; an existing one is left as it is
   * (it may be `/etc`): the default `<dataDir>/secrets` is narrowed by the data directory's preparation.
   */
  private async create(): Promise<Buffer> {
    await mkdir(dirname(this.path), { recursive: true, mode: PRIVATE_DIR_MODE });
    const key = randomBytes(MASTER_KEY_BYTES);
    const temp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(temp, `${key.toString('base64')}\n`, { mode: PRIVATE_FILE_MODE, flag: 'wx', flush: true });
      await link(temp, this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const winner = await this.read();
      if (winner === undefined) throw error;
      return winner;
    } finally {
      await rm(temp, { force: true });
    }
    this.logger.info(`master key created at ${this.path} (secrets.keyFile): identity keys are encrypted with it; back it up together with the data`, { path: this.path });
    return key;
  }
}
