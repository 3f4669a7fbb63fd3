import { request } from 'node:http';

/** What the Docker engine on a unix socket says about itself (`GET /version`, `GET /info`). */
export interface DockerEngine {
  version: string;
  apiVersion: string;
  /** The engine's clock (epoch ms) from `/info`, to compare with ours. */
  systemTime?: number;
}

/** `GET path` on the Docker socket, JSON answer; rejects on no answer within `timeoutMs`. */
export function dockerGet<T>(socketPath: string, path: string, timeoutMs = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', timeout: timeoutMs }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        if ((response.statusCode ?? 0) >= 300) return reject(new Error(`the engine answered ${response.statusCode ?? '?'} to ${path}`));
        try {
          resolve(JSON.parse(text) as T);
        } catch {
          reject(new Error(`the engine's answer to ${path} is not JSON`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', (error: NodeJS.ErrnoException) => reject(new Error(error.code === 'ENOENT' ? `no socket at ${socketPath}` : error.code === 'EACCES' ? `permission denied on ${socketPath}` : error.message)));
    req.end();
  });
}

/** The engine's version and clock, or the reason it does not answer. */
export async function probeDockerEngine(socketPath: string): Promise<DockerEngine> {
  const version = await dockerGet<{ Version?: string; ApiVersion?: string }>(socketPath, '/version');
  const engine: DockerEngine = { version: version.Version ?? 'unknown', apiVersion: version.ApiVersion ?? 'unknown' };
  try {
    const info = await dockerGet<{ SystemTime?: string }>(socketPath, '/info');
    const time = info.SystemTime === undefined ? NaN : Date.parse(info.SystemTime);
    if (!Number.isNaN(time)) engine.systemTime = time;
  } catch {
    // the version is what matters; the clock comparison is skipped
  }
  return engine;
}
