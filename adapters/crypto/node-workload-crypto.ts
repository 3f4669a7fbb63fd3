import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { injectable } from 'inversify';
import { WorkloadCrypto } from '../../application/ports/workload-crypto.js';

@injectable()
export class NodeWorkloadCrypto extends WorkloadCrypto {
  hmacSha256Base64(keyBase64: string, dataBase64: string): string {
    return createHmac('sha256', Buffer.from(keyBase64, 'base64')).update(Buffer.from(dataBase64, 'base64')).digest('base64');
  }

  newKey(): string {
    return randomBytes(32).toString('base64');
  }

  newGenerationId(): string {
    // edgelet's generation ids are opaque strings; a UUID without dashes is URL-safe as a path segment.
    return randomUUID().replace(/-/g, '');
  }
}
