import { randomBytes } from 'node:crypto';
import { AesGcmSecretCipher } from '../../../adapters/secrets/aes-gcm-secret-cipher.js';

/** The real AES-256-GCM cipher over a random in-memory master key (no key file). */
export function testCipher(): AesGcmSecretCipher {
  return AesGcmSecretCipher.withKey(randomBytes(32));
}
