import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/** The dashboard's access token file: `<dataDir>/dashboard/token`, mode 0600. */
export function dashboardTokenPath(dataDir: string): string {
  return join(resolve(dataDir), 'dashboard', 'token');
}

/**
 * The dashboard token in `file`, created on first use (32 random bytes, base64url) with mode
 * 0600 in a 0700 directory; an existing file with wider permissions is narrowed. Shared by the
 * runtime (which checks it) and `edgeport dashboard` (which prints it in a URL).
 */
export async function ensureDashboardToken(file: string): Promise<string> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  try {
    const token = (await readFile(file, 'utf8')).trim();
    if (token.length >= 32) {
      await chmod(file, 0o600);
      return token;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const token = randomBytes(32).toString('base64url');
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return token;
}

/** The session cookie's value for `token`: derived, so the cookie never holds the token itself. */
export function sessionValue(token: string): string {
  return createHmac('sha256', token).update('edgeport dashboard session v1').digest('base64url');
}

/** Constant-time comparison of two secrets of any length (both are hashed to equal length first). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHmac('sha256', 'compare').update(given).digest();
  const b = createHmac('sha256', 'compare').update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}
