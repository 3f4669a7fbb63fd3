/**
 * The cryptography the hub needs for SAS tokens, behind a port so that the domain and the
 * application stay free of `node:crypto`. Keys are base64, as IoT Hub issues them.
 */
export abstract class SasSigner {
  /** base64(HMAC-SHA256(key = base64-decoded `keyBase64`, data = UTF-8 `data`)). */
  abstract hmacSha256Base64(keyBase64: string, data: string): string;
  /** Constant-time comparison; different lengths compare unequal without throwing. */
  abstract timingSafeEqual(a: string, b: string): boolean;
  /** A fresh random key of `bytes` bytes, base64 (IoT Hub keys are 32 bytes). */
  abstract randomKeyBase64(bytes: number): string;
}
