/** Key material and signatures for module identities (the workload API), behind a port. */
export abstract class WorkloadCrypto {
  /** base64(HMAC-SHA256(key = base64-decoded `keyBase64`, data = base64-decoded `dataBase64`)): raw bytes, not text. */
  abstract hmacSha256Base64(keyBase64: string, dataBase64: string): string;
  /** A new random 32-byte key, base64 (what IoT Hub issues). */
  abstract newKey(): string;
  /** A new opaque generation id. */
  abstract newGenerationId(): string;
}
