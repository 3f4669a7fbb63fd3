import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';

/**
 * Ports are picked below Linux's ephemeral range (32768-60999 by default): a port the kernel hands
 * out for `listen(0)` is also a port it hands out as the local end of outgoing connections, so
 * between this check and the runtime's own bind another test's client socket could take it (seen
 * with test files running side by side). Below the range only listeners compete, and picking at
 * random makes two test processes choosing the same port at once unlikely.
 */
const LOW = 10_000;
const HIGH = 32_767;
const ATTEMPTS = 100;

/** A TCP port on 127.0.0.1 that was free a moment ago; tests never use fixed ports. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    const port = randomInt(LOW, HIGH + 1);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port found on 127.0.0.1 between ${LOW} and ${HIGH} after ${ATTEMPTS} attempts`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}
