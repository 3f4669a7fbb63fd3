import { chmod, mkdir, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import type { Server } from 'node:http';

/** Longest unix socket path Linux accepts (`sun_path` is 108 bytes with the terminating NUL). */
export const MAX_SOCKET_PATH_BYTES = 107;

/** A unix socket could not be opened; the message says what to change. */
export class SocketListenError extends Error {
  readonly code = 'EDGEPORT_SOCKET_LISTEN_FAILED';
  constructor(
    readonly socketPath: string,
    message: string,
  ) {
    super(message);
    this.name = 'SocketListenError';
  }
}

function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Listens on a unix socket with `mode` (e.g. 0o660): refuses when another process answers on it
 * (another runtime is running), removes a stale file left by a crash, creates the directory.
 */
export async function listenUnix(server: Server, socketPath: string, mode: number, what: string): Promise<void> {
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new SocketListenError(socketPath, `cannot open the ${what} socket ${socketPath}: the path is longer than ${MAX_SOCKET_PATH_BYTES} bytes; choose a shorter dataDir`);
  }
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o750 });
  if (await answers(socketPath)) {
    throw new SocketListenError(socketPath, `cannot open the ${what} socket ${socketPath}: another process (another Edgeport runtime?) is listening on it`);
  }
  await rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => reject(new SocketListenError(socketPath, `cannot open the ${what} socket ${socketPath}: ${error.code ?? error.message}`));
    server.once('error', onError);
    server.listen(socketPath, () => {
      server.off('error', onError);
      resolve();
    });
  });
  await chmod(socketPath, mode);
}

/** Closes the server (ending idle keep-alive connections) and removes the socket file. */
export async function closeUnix(server: Server, socketPath: string): Promise<void> {
  if (server.listening) {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
  await rm(socketPath, { force: true });
}

/** JSON responses of the local APIs (kept here for the listeners that import it from this file). */
export { sendJson } from './http-errors.js';
