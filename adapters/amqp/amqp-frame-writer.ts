import { createRequire } from 'node:module';
import rhea from 'rhea';

/**
 * AMQP frames written with rhea's own type encoder, but with the frame buffer sized to fit.
 *
 * rhea's `frames.write_frame` starts every frame in a fresh zero-filled 1 KiB buffer, doubles it
 * (zero-filled again, and copied) when the frame is larger, and copies the payload into it: every
 * module input (a transfer of ~1.1 KiB for a 1 KiB body) costs two zero-filled allocations and two
 * copies of the message. Here the frame header and the performative are encoded by the same rhea
 * `Writer` code into one reused scratch buffer, then copied into a buffer of their exact size (not
 * zero-filled, every byte written), followed by the payload: copied in too when small, else
 * written as it is. The bytes are those of `write_frame`, byte for byte (a unit test compares them
 * for every performative the server writes).
 */

/** What rhea's transport queues per frame (`frames.amqp_frame`). */
export interface RheaFrame {
  readonly type: number;
  readonly channel: number;
  readonly performative?: { readonly constructor: unknown };
  readonly payload?: Buffer;
}

interface RheaWriter {
  buffer: Buffer;
  position: number;
  skip(bytes: number): void;
  write_uint(value: number, width: number): void;
  write(value: unknown): void;
}

interface RheaTransport {
  identifier: string;
  header_sent: unknown;
  pending: RheaFrame[];
  write(socket: { write(chunk: Buffer): unknown }): void;
}

type Log = (format: string, ...args: unknown[]) => void;

// rhea's own `rhea:frames` debug logger, so `DEBUG=rhea:frames` still shows what the server writes.
const rheaLog = createRequire(createRequire(import.meta.url).resolve('rhea'))('./log.js') as { frames: Log };
const Writer = (rhea.types as unknown as { Writer: new (buffer?: Buffer) => RheaWriter }).Writer;
const TYPE_AMQP = 0x00;
const TYPE_SASL = 0x01;
/** Header and performative of one frame: transfers need ~40 bytes; rhea's writer grows it if a frame needs more. */
const SCRATCH_BYTES = 4096;

let scratch: RheaWriter | undefined;

/** Payloads from this size on are written as they are, after the frame's head, not copied into one buffer. */
const COPY_BELOW = 512;

/**
 * `frames.write_frame(frame)` of rhea 3, as the chunks to write: one exact-size buffer, or (with
 * `split`, a payload of `COPY_BELOW` bytes or more) the frame's head and the payload itself,
 * uncopied (the server corks its sockets, so both leave in one `writev`).
 */
export function writeFrame(frame: RheaFrame, split = false): Buffer[] {
  const writer = (scratch ??= new Writer(Buffer.allocUnsafe(SCRATCH_BYTES)));
  writer.position = 0;
  writer.skip(4); // the size, filled in below
  writer.write_uint(2, 1); // doff
  writer.write_uint(frame.type, 1);
  if (frame.type === TYPE_AMQP) writer.write_uint(frame.channel, 2);
  else if (frame.type === TYPE_SASL) writer.write_uint(0, 2);
  else throw new Error(`Unknown frame type ${String(frame.type)}`);
  const payload = frame.performative === undefined ? undefined : frame.payload;
  if (frame.performative !== undefined) writer.write(frame.performative);
  const head = writer.position;
  const size = head + (payload?.length ?? 0);
  const separate = split && payload !== undefined && payload.length >= COPY_BELOW;
  const out = Buffer.allocUnsafe(separate ? head : size);
  writer.buffer.copy(out, 0, 0, head);
  out.writeUInt32BE(size, 0);
  if (separate) return [out, payload];
  if (payload !== undefined) payload.copy(out, head);
  return [out];
}

/**
 * Makes a connection's AMQP transport write its frames with `writeFrame` (rhea's `Transport.write`
 * with its frame encoder swapped; the protocol header, written once, stays rhea's). Only this
 * connection object changes; rhea's modules and other connections in the process are untouched.
 * `split`: large payloads go as separate chunks (a socket that gathers chunks in one `writev`; not
 * a WebSocket stream, where every chunk would become a message of its own).
 */
export function useExactFrameBuffers(connection: unknown, split: boolean): void {
  const transport = (connection as { amqp_transport: RheaTransport }).amqp_transport;
  const write = transport.write;
  transport.write = function (this: RheaTransport, socket) {
    if (!this.header_sent) {
      write.call(this, socket);
      return;
    }
    // As rhea's loop: frames queued while writing are written in this call too.
    for (let i = 0; i < this.pending.length; i++) {
      const frame = this.pending[i]!;
      for (const chunk of writeFrame(frame, split)) socket.write(chunk);
      if (frame.performative !== undefined) rheaLog.frames('[%s]:%s -> %s %j', this.identifier, frame.channel, frame.performative.constructor, frame.performative, frame.payload ?? '');
      else rheaLog.frames('[%s]:%s -> empty', this.identifier, frame.channel);
    }
    this.pending = [];
  };
}
