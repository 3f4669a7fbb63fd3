/** MQTT control packet types (MQTT 3.1.1 §2.2.1) the guard names in its findings. */
export const MQTT_CONNECT = 1;
export const MQTT_PUBLISH = 3;

/** Why the guard stopped a connection. */
export type MqttFrameViolation =
  /** A fixed header declares more bytes than the connection may send in one packet. */
  | { readonly reason: 'packet-too-large'; readonly packetType: number; readonly declared: number; readonly limit: number }
  /** The remaining length does not end within four bytes (MQTT-2.2.3). */
  | { readonly reason: 'malformed-remaining-length'; readonly packetType: number }
  /** A QoS 2 PUBLISH: IoT Hub closes the connection (it supports QoS 0 and 1 only). */
  | { readonly reason: 'qos2-publish'; readonly packetType: number };

/** Where the guard is in the current packet: its first byte, its remaining length, its body. */
const TYPE = 0;
const LENGTH = 1;
const BODY = 2;
type State = typeof TYPE | typeof LENGTH | typeof BODY;

/**
 * Reads the fixed headers of an MQTT byte stream as it arrives, without buffering: each packet's
 * type and declared remaining length are checked before its body is read (the body bytes are only
 * counted). aedes' parser (mqtt-packet) has no packet-size limit and buffers a packet whole until
 * it is complete, so a CONNECT declaring 256 MB held 256 MB per socket before authentication
 * (issue #12 item 1); behind this guard the connection is closed on the header instead.
 *
 * `limitFor(packetType)` gives the largest remaining length allowed for the packet starting now
 * (small before authentication, IoT Hub's message size plus headers after). Once a violation is
 * found the guard keeps returning it.
 */
export class MqttFrameGuard {
  private state: State = TYPE;
  private packetType = 0;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;
  private violation: MqttFrameViolation | undefined;

  constructor(private readonly limitFor: (packetType: number) => number) {}

  /** Feeds the next bytes of the stream; returns a violation when one is found in them (or earlier). */
  feed(chunk: Uint8Array): MqttFrameViolation | undefined {
    if (this.violation !== undefined) return this.violation;
    let i = 0;
    const end = chunk.length;
    while (i < end) {
      if (this.state === BODY) {
        const skip = Math.min(this.remaining, end - i);
        i += skip;
        this.remaining -= skip;
        if (this.remaining === 0) this.state = TYPE;
      } else if (this.state === TYPE) {
        const first = chunk[i++]!;
        this.packetType = first >> 4;
        // PUBLISH flags: DUP, QoS (2 bits), RETAIN. QoS 3 is malformed: the parser refuses it.
        if (this.packetType === MQTT_PUBLISH && ((first >> 1) & 3) === 2) return this.stop({ reason: 'qos2-publish', packetType: this.packetType });
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        this.state = LENGTH;
      } else {
        const byte = chunk[i++]!;
        this.length += (byte & 0x7f) * this.multiplier;
        this.multiplier *= 128;
        this.lengthBytes++;
        if ((byte & 0x80) !== 0) {
          if (this.lengthBytes === 4) return this.stop({ reason: 'malformed-remaining-length', packetType: this.packetType });
          continue;
        }
        const limit = this.limitFor(this.packetType);
        if (this.length > limit) return this.stop({ reason: 'packet-too-large', packetType: this.packetType, declared: this.length, limit });
        this.remaining = this.length;
        this.state = this.remaining > 0 ? BODY : TYPE;
      }
    }
    return undefined;
  }

  private stop(violation: MqttFrameViolation): MqttFrameViolation {
    this.violation = violation;
    return violation;
  }
}
