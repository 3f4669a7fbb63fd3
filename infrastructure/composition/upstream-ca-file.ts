import { readFileSync, statSync } from 'node:fs';

/**
 * `upstream.caFile` (or the `setting` named, e.g. `upstream.trustBundleFile`) as PEM text
 * (undefined when unset), with a clear error; apart from the upstream module, which is loaded
 * only when configured.
 */
export function readCaFile(path: string, setting = 'upstream.caFile'): string | undefined {
  if (path === '') return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${setting} ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Reads `upstream.x509CertFile` and `upstream.x509KeyFile` (connection string `x509=true`) with
 * errors naming the setting; the key file must not be readable by group or others.
 */
export function readUpstreamX509(certFile: string, keyFile: string): { cert: string; key: string } | undefined {
  if (certFile === '' && keyFile === '') return undefined;
  const read = (setting: string, path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      throw new Error(`cannot read ${setting} ${path}: ${(error as Error).message}`, { cause: error });
    }
  };
  const cert = read('upstream.x509CertFile', certFile);
  if (!cert.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`upstream.x509CertFile ${certFile} holds no PEM certificate`);
  const mode = statSync(keyFile, { throwIfNoEntry: false })?.mode;
  if (mode !== undefined && (mode & 0o077) !== 0) throw new Error(`upstream.x509KeyFile ${keyFile} is readable by group or others (mode ${(mode & 0o777).toString(8)}): chmod 600 it`);
  const key = read('upstream.x509KeyFile', keyFile);
  if (!key.includes('PRIVATE KEY-----')) throw new Error(`upstream.x509KeyFile ${keyFile} holds no PEM private key`);
  return { cert, key };
}
