import fc from 'fast-check';
import { type Identity, deviceIdentity, moduleIdentity } from '../../domain/identity/identity.js';

/** Shared generators of the MQTT and AMQP fuzz targets. */

/** Any UTF-16 code unit, lone surrogates included: what a JS string from JSON or a client may hold. */
export const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n));

/** Strings of any code units, biased to the characters the parsers split and decode on. */
export function wildString(maxLength = 64): fc.Arbitrary<string> {
  const special = fc.constantFrom('/', '%', '&', '=', '?', '$', '#', '+', '@', '.', ' ', '%2F', '%24', '%E0', '%ED%A0%80', '\u0000', '\ud800', 'devices', 'modules', 'messages', 'events', '$iothub', 'twin', 'methods', 'res', 'GET', 'PATCH', 'POST');
  return fc.array(fc.oneof({ weight: 3, arbitrary: codeUnit }, { weight: 2, arbitrary: special }), { maxLength }).map((parts) => parts.join(''));
}

/** Device and module ids IoT Hub accepts (ASCII letters, digits and `- . + % _ # * ? ! ( ) , : = @ $ '`, 1-128). */
export const iotHubId = fc.string({ unit: fc.constantFrom(...'abcXYZ019-.+%_#*?!(),:=@$\''.split('')), minLength: 1, maxLength: 128 });

export const identity: fc.Arbitrary<Identity> = fc.oneof(
  iotHubId.map((d) => deviceIdentity(d)),
  fc.tuple(iotHubId, iotHubId).map(([d, m]) => moduleIdentity(d, m)),
);

/** Splits `bytes` into chunks of the given sizes (cycled), the way a socket may deliver them. */
export function chunked(bytes: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0, k = 0; i < bytes.length; k++) {
    const size = Math.max(1, sizes.length === 0 ? bytes.length : sizes[k % sizes.length]!);
    out.push(bytes.subarray(i, i + size));
    i += size;
  }
  return out;
}

/** Feeds `bytes` to a frame guard's `feed` in chunks of `sizes`; its finding, if any. */
export function feedChunked<V>(bytes: Uint8Array, sizes: readonly number[], feed: (chunk: Uint8Array) => V | undefined): V | undefined {
  let found: V | undefined;
  for (const chunk of chunked(bytes, sizes)) found = feed(chunk) ?? found;
  return found;
}

export const chunkSizes = fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 8 });
