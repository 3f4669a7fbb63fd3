import { randomUUID } from 'node:crypto';
import { injectable } from 'inversify';
import { RandomSource } from '../../application/ports/random-source.js';

@injectable()
export class CryptoRandomSource extends RandomSource {
  next(): number {
    return Math.random();
  }

  uuid(): string {
    return randomUUID();
  }
}
