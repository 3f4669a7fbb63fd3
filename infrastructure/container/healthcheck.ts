/**
 * The container image's `HEALTHCHECK`: `GET /health` on the metrics listener the configuration
 * names (the same file and `EDGEPORT_*` variables as `edgeport run`). Exit 0 healthy, 1 not.
 */
import { request } from 'node:http';
import { localAddressOf } from '../config/listeners.js';
import { loadConfig } from '../config/load-config.js';

const TIMEOUT_MS = 5000;

function health(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/health', method: 'GET', timeout: TIMEOUT_MS }, (response) => {
      response.resume();
      resolve(response.statusCode === 200 ? '' : `GET /health answered ${response.statusCode ?? '?'}`);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', (error) => resolve(`GET http://${host}:${port}/health failed: ${error.message}`));
    req.end();
  });
}

async function main(): Promise<number> {
  const config = loadConfig();
  if (!config.metrics.enabled) {
    process.stdout.write('metrics.enabled = false: no /health endpoint to probe; reporting healthy\n');
    return 0;
  }
  const problem = await health(localAddressOf(config.metrics.host), config.metrics.port);
  process.stdout.write(problem === '' ? 'healthy\n' : `unhealthy: ${problem}\n`);
  return problem === '' ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    process.stdout.write(`unhealthy: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
