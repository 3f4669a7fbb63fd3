import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { injectable } from 'inversify';
import { SasSigner } from '../../application/ports/crypto.js';

@injectable()
export class NodeSasSigner extends SasSigner {
  hmacSha256Base64(keyBase64: string, data: string): string {
    return createHmac('sha256', Buffer.from(keyBase64, 'base64')).update(data, 'utf8').digest('base64');
  }

  timingSafeEqual(a: string, b: string): boolean {
    const left = Buffer.from(a, 'utf8');
    const right = Buffer.from(b, 'utf8');
    if (left.length !== right.length) {
      // Still spend a comparison so that a length mismatch is not measurably faster.
      timingSafeEqual(left, left);
      return false;
    }
    return timingSafeEqual(left, right);
  }

  randomKeyBase64(bytes: number): string {
    if (!Number.isInteger(bytes) || bytes < 16 || bytes > 64) {
      throw new RangeError(`key length must be an integer between 16 and 64 bytes, got ${bytes}`);
    }
    return randomBytes(bytes).toString('base64');
  }
}
