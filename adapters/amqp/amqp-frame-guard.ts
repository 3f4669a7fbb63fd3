/** Why the guard stopped a connection. */
export type AmqpFrameViolation =
  /** A frame header declares more bytes than the connection may send in one frame. */
  | { readonly reason: 'frame-too-large'; readonly declared: number; readonly limit: number }
  /** A frame header declares fewer than the 8 bytes of the header itself (AMQP 1.0 §2.3.1). */
  | { readonly reason: 'frame-too-small'; readonly declared: number };

/** The 8-byte protocol header (`AMQP` id major minor revision) starts with this byte. */
const HEADER_FIRST_BYTE = 0x41; // 'A'
const PROTOCOL_HEADER_BYTES = 8;
const FRAME_HEADER_MIN_BYTES = 8;
/** SASL header, then the AMQP header: a stream has at most two (AMQP 1.0 §5.3.2). */
const MAX_PROTOCOL_HEADERS = 2;

/** Where the guard is: in a protocol header, in a frame's 4-byte size, in a frame's remaining bytes. */
const HEADER = 0;
const SIZE = 1;
const BODY = 2;
type State = typeof HEADER | typeof SIZE | typeof BODY;

/**
 * Reads the frame sizes of an AMQP 1.0 byte stream as it arrives, without buffering: every frame's
 * declared size (the first 4 bytes of its 8-byte header) is checked before rhea receives the
 * frame, since rhea collects a frame whole until its declared size has arrived (a frame declaring
 * 200 MB held 200 MB, issue #12 item 2). Protocol headers (`AMQP` + 4 bytes: the SASL layer's,
 * then AMQP's) are skipped at frame boundaries; as a frame size their first byte would declare
 * over 1 GB, so the two cannot be confused under any sane limit.
 *
 * `limitFor()` gives the largest frame allowed for the frame starting now (small before the
 * connection authenticates, the advertised `max-frame-size` after). Once a violation is found
 * the guard keeps returning it.
 */
export class AmqpFrameGuard {
  private state: State = HEADER;
  private headers = 1;
  /** Bytes of the current header or size field read so far, or body bytes still to skip. */
  private count = 0;
  private size = 0;
  private violation: AmqpFrameViolation | undefined;

  constructor(private readonly limitFor: () => number) {}

  /** Feeds the next bytes of the stream; returns a violation when one is found in them (or earlier). */
  feed(chunk: Uint8Array): AmqpFrameViolation | undefined {
    if (this.violation !== undefined) return this.violation;
    let i = 0;
    const end = chunk.length;
    while (i < end) {
      if (this.state === BODY) {
        const skip = Math.min(this.count, end - i);
        i += skip;
        this.count -= skip;
        if (this.count === 0) this.state = SIZE;
      } else if (this.state === HEADER) {
        const skip = Math.min(PROTOCOL_HEADER_BYTES - this.count, end - i);
        i += skip;
        this.count += skip;
        if (this.count === PROTOCOL_HEADER_BYTES) {
          this.state = SIZE;
          this.count = 0;
          this.size = 0;
        }
      } else {
        const byte = chunk[i++]!;
        if (this.count === 0 && byte === HEADER_FIRST_BYTE && this.headers < MAX_PROTOCOL_HEADERS) {
          this.headers++;
          this.state = HEADER;
          this.count = 1;
          continue;
        }
        // size * 256 + byte, not a shift: a size with the top bit set must stay positive.
        this.size = this.size * 256 + byte;
        if (++this.count < 4) continue;
        if (this.size < FRAME_HEADER_MIN_BYTES) return this.stop({ reason: 'frame-too-small', declared: this.size });
        const limit = this.limitFor();
        if (this.size > limit) return this.stop({ reason: 'frame-too-large', declared: this.size, limit });
        this.state = BODY;
        this.count = this.size - 4;
        this.size = 0;
      }
    }
    return undefined;
  }

  private stop(violation: AmqpFrameViolation): AmqpFrameViolation {
    this.violation = violation;
    return violation;
  }
}
