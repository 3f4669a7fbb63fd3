import { ContainerModule } from 'inversify';
import { Logger } from '../../application/ports/logger.js';
import { SecretCipher } from '../../application/ports/secret-cipher.js';
import { AesGcmSecretCipher } from '../../adapters/secrets/aes-gcm-secret-cipher.js';
import { MasterKeyFile } from '../../adapters/secrets/master-key-file.js';

/** Encryption of secrets at rest: AES-256-GCM with the master key in `secrets.keyFile`. Needs `coreModule` (Logger). */
export function secretsModule(options: { keyFile: string }): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(SecretCipher)
      .toDynamicValue((context) => new AesGcmSecretCipher(new MasterKeyFile(options.keyFile, context.get(Logger).child({ component: 'secrets' }))))
      .inSingletonScope();
  });
}
