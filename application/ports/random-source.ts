/** Randomness for jitter and identifiers; tests bind a seeded or fixed source. */
export abstract class RandomSource {
  /** A number in [0, 1). */
  abstract next(): number;
  /** A random (v4) UUID, used for `edgeMessageId`. */
  abstract uuid(): string;
}
