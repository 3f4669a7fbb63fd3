import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { WebSocket, createWebSocketStream } from 'ws';
import type { AttackedHub } from './attacked-hub.js';

/** Where an attack connects: the MQTT listeners, AMQP, HTTPS, the WebSocket transports, or a TLS port without doing TLS. */
export type AttackTarget = 'mqtt' | 'mqtts' | 'amqps' | 'https' | 'wss-mqtt' | 'wss-amqp' | 'tcp-to-mqtts' | 'tcp-to-amqps';

/** One attacking connection: a byte stream to the hub and when the hub closed it. */
export class AttackSocket {
  closedAt: number | undefined;
  readonly closed: Promise<void>;
  received = 0;

  constructor(
    readonly stream: Duplex,
    /** The TCP socket under it (for a WebSocket, the one under the TLS). */
    private readonly tcp: Socket | undefined,
  ) {
    stream.on('error', () => undefined);
    stream.on('data', (chunk: Buffer) => (this.received += chunk.length));
    this.closed = new Promise((resolve) => {
      const done = (): void => {
        this.closedAt ??= Date.now();
        resolve();
      };
      stream.once('close', done);
      tcp?.once('close', done);
    });
  }

  get isClosed(): boolean {
    return this.closedAt !== undefined;
  }

  /**
   * Writes `prefix`, then zeros in 64 KiB writes (waiting for drain) until `total` bytes are
   * written or the hub closes the connection; resolves with the bytes written.
   */
  async flood(prefix: Uint8Array, total: number, pauseMs = 0): Promise<number> {
    let written = 0;
    const write = async (bytes: Uint8Array): Promise<void> => {
      if (this.isClosed) return;
      written += bytes.length;
      if (!this.stream.write(bytes)) await Promise.race([new Promise((r) => this.stream.once('drain', r)), this.closed]);
    };
    await write(prefix);
    const zeros = Buffer.alloc(64 * 1024);
    while (written < total && !this.isClosed) {
      await write(zeros.subarray(0, Math.min(zeros.length, total - written)));
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    }
    return written;
  }

  destroy(): void {
    this.stream.destroy();
    this.tcp?.destroy();
  }
}

/** Opens an attacking connection from `source` (a 127.0.0.0/8 address). */
export async function openAttack(hub: AttackedHub, target: AttackTarget, source: string): Promise<AttackSocket> {
  const tls = { ca: hub.ca, servername: 'localhost', localAddress: source, host: '127.0.0.1' };
  switch (target) {
    case 'mqtt':
    case 'tcp-to-mqtts':
    case 'tcp-to-amqps': {
      const port = target === 'mqtt' ? hub.ports.mqtt : target === 'tcp-to-mqtts' ? hub.ports.mqtts : hub.ports.amqps;
      const socket = netConnect({ host: '127.0.0.1', port, localAddress: source });
      await connected(socket, 'connect');
      return new AttackSocket(socket, socket);
    }
    case 'mqtts':
    case 'amqps':
    case 'https': {
      const port = target === 'mqtts' ? hub.ports.mqtts : target === 'amqps' ? hub.ports.amqps : hub.ports.https;
      const socket = tlsConnect({ ...tls, port });
      await connected(socket, 'secureConnect');
      return new AttackSocket(socket, socket);
    }
    case 'wss-mqtt':
    case 'wss-amqp': {
      const ws = new WebSocket(`wss://127.0.0.1:${hub.ports.https}/$iothub/websocket`, target === 'wss-mqtt' ? 'mqtt' : 'AMQPWSB10', { ...tls, maxPayload: 1024 * 1024 });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const tcp = (ws as unknown as { _socket: Socket })._socket;
      return new AttackSocket(createWebSocketStream(ws), tcp);
    }
  }
}

function connected(socket: Socket, event: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once(event, () => resolve());
    socket.once('error', reject);
  });
}

/** An MQTT fixed header: `first` byte, then `length` as the variable-length remaining length. */
export function mqttFixedHeader(first: number, length: number): Buffer {
  const bytes = [first];
  do {
    let byte = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    bytes.push(byte);
  } while (length > 0);
  return Buffer.from(bytes);
}

export const AMQP_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0]);
export const SASL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0]);

/** An AMQP frame header declaring `size` bytes (doff 2, type 0, channel 0). */
export function amqpFrameHeader(size: number): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(size, 0);
  header[4] = 2;
  return header;
}
