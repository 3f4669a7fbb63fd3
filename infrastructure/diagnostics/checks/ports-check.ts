import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect as netConnect, createServer } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { EDGE_CERT_FILES } from '../../certs/edge-certificates.js';
import { envSegment } from '../../config/env-overrides.js';
import { type ConfiguredListener, configuredListeners, localAddressOf } from '../../config/listeners.js';
import type { CheckContext } from '../check-context.js';
import { type Check, type CheckOutcome, failure, ok, worst } from '../check-model.js';

const PROBE_TIMEOUT_MS = 3000;

/** Tries to bind `host:port`; resolves with the error code, or undefined when it was free. */
function bindError(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/** SHA-256 fingerprint of the certificate a TLS server presents, or undefined. */
function tlsFingerprint(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    // Identification only, no data is exchanged: the fingerprint is compared with our own file.
    const socket = tlsConnect({ host, port, rejectUnauthorized: false, timeout: PROBE_TIMEOUT_MS }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      resolve(fingerprint);
    });
    socket.once('timeout', () => socket.destroy());
    socket.once('error', () => resolve(undefined));
    socket.once('close', () => resolve(undefined));
  });
}

/** True when `GET /health` answers Edgeport's `{"status":"ok"}`. */
function answersHealth(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/health', timeout: PROBE_TIMEOUT_MS }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve(response.statusCode === 200 && text.includes('"status":"ok"')));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

/** MQTT 3.1.1 CONNECT (client id `edgeport-check`, no credentials): an MQTT server answers CONNACK. */
const MQTT_CONNECT = Buffer.from([0x10, 0x1a, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x05, 0x00, 0x0e, ...Buffer.from('edgeport-check')]);

function answersMqtt(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host, port, timeout: PROBE_TIMEOUT_MS }, () => socket.write(MQTT_CONNECT));
    socket.once('data', (data: Buffer) => {
      socket.destroy();
      resolve(data[0] === 0x20);
    });
    socket.once('timeout', () => socket.destroy());
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

function ourServerFingerprint(certsDir: string): string | undefined {
  try {
    return new X509Certificate(readFileSync(join(certsDir, EDGE_CERT_FILES.serverCert))).fingerprint256;
  } catch {
    return undefined;
  }
}

/** Does the runtime (which answers on its management socket) hold this listener? */
async function heldByRuntime(listener: ConfiguredListener, fingerprint: string | undefined): Promise<boolean> {
  const host = localAddressOf(listener.host);
  if (listener.setting === 'metrics.port') return await answersHealth(host, listener.port);
  if (listener.setting === 'hub.mqtt.plainPort') return await answersMqtt(host, listener.port);
  const presented = await tlsFingerprint(host, listener.port);
  return presented !== undefined && presented === fingerprint;
}

const variable = (setting: string): string => `EDGEPORT_${setting.split('.').map(envSegment).join('_')}`;

/**
 * Every listener port of the configuration is free, or, while the runtime runs, held by it: the
 * TLS listeners present this runtime's server certificate, the metrics port answers Edgeport's
 * `/health`, the plain MQTT port answers an MQTT CONNECT.
 */
export const portsCheck: Check<CheckContext> = {
  id: 'ports',
  description: 'listener ports are free or held by this runtime',
  async run(context) {
    const listeners = configuredListeners(context.config);
    if (listeners.length === 0) return ok('no TCP listener is configured');
    const running = (await context.runtime()).running;
    const fingerprint = running ? ourServerFingerprint(context.config.certs.dir) : undefined;
    const outcomes: CheckOutcome[] = [];
    const held: number[] = [];
    for (const listener of listeners) {
      const code = await bindError(listener.host, listener.port);
      const what = `port ${listener.port} (${listener.setting}, ${listener.name})`;
      const change = `change ${listener.setting} in the configuration or set ${variable(listener.setting)}`;
      if (code === undefined) continue;
      if (code === 'EADDRINUSE') {
        if (running && (await heldByRuntime(listener, fingerprint))) held.push(listener.port);
        else outcomes.push(failure(`${what} is in use by another process`, `stop the process that listens on ${listener.port} (ss -ltnp 'sport = :${listener.port}'), or ${change}`));
      } else if (code === 'EACCES') {
        outcomes.push(failure(`${what} cannot be bound by ${process.getuid?.() === 0 ? 'root' : `uid ${process.getuid?.() ?? '?'}`}: ports below 1024 need root or CAP_NET_BIND_SERVICE`, `run the runtime as root (or with CAP_NET_BIND_SERVICE), or ${change} to 1024 or above`));
      } else if (code === 'EADDRNOTAVAIL') {
        outcomes.push(failure(`${what}: this machine has no address ${listener.host}`, `set the listener's host to an address of this machine or 0.0.0.0`));
      } else {
        outcomes.push(failure(`${what} cannot be bound: ${code}`, change));
      }
    }
    const ports = listeners.map((l) => l.port).join(', ');
    const heldText = held.length === 0 ? `${ports} free` : held.length === listeners.length ? `${ports} held by this runtime` : `${ports} free or held by this runtime (${held.join(', ')})`;
    return worst(outcomes, heldText);
  },
};
