import { readFileSync } from 'node:fs';

/** `upstream.caFile` as PEM text (undefined when unset); apart from the upstream module, which is loaded only when configured. */
export function readCaFile(path: string): string | undefined {
  if (path === '') return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read upstream.caFile ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * The upstream (after `hubModule`, which it completes): the chosen `Upstream` adapter, `$upstream`
 * delivery through it (rebinding `EndpointDelivery`), the twin/method/C2D/device-scope sync, and
 * for IoT Hub the twin-backed deployment source (rebinding `DeploymentSource`).
 */
