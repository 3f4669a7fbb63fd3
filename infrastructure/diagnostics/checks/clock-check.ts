import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EDGE_CERT_FILES } from '../../certs/edge-certificates.js';
import type { CheckContext } from '../check-context.js';
import { type Check, type CheckOutcome, failure, formatAge, warning, worst } from '../check-model.js';

/** No clock of a machine running this release can be before this (SAS tokens and TLS would fail). */
export const CLOCK_FLOOR_MS = Date.UTC(2025, 0, 1);
/** Largest difference with the Docker engine's clock before it is a warning. */
export const MAX_ENGINE_SKEW_MS = 60_000;

const fix = 'set the clock and keep it synchronized (timedatectl set-ntp true, or chrony/ntpd)';

/**
 * The clock is sane: not before {@link CLOCK_FLOOR_MS}, not before the edge CA was made (clients
 * would see a certificate from the future), and within a minute of the Docker engine's clock.
 */
export const clockCheck: Check<CheckContext> = {
  id: 'clock',
  description: 'system clock is sane',
  async run(context) {
    const now = context.now();
    const iso = new Date(now).toISOString();
    const outcomes: CheckOutcome[] = [];
    if (now < CLOCK_FLOOR_MS) outcomes.push(failure(`the clock says ${iso}, before this release was made`, fix));
    try {
      const ca = new X509Certificate(readFileSync(join(context.config.certs.dir, EDGE_CERT_FILES.caCert)));
      const made = Date.parse(ca.validFrom);
      if (now < made) outcomes.push(failure(`the clock says ${iso}, before the edge CA was made (${ca.validFrom})`, fix));
    } catch {
      // no CA yet: nothing to compare with
    }
    const engine = await context.docker();
    let engineText = '';
    if (!(engine instanceof Error) && engine.systemTime !== undefined) {
      const skew = Math.abs(engine.systemTime - now);
      engineText = `; the Docker engine's clock is within ${formatAge(skew)}`;
      if (skew > MAX_ENGINE_SKEW_MS) outcomes.push(warning(`the Docker engine's clock differs from this one by ${formatAge(skew)}`, fix));
    }
    return worst(outcomes, `${iso}${engineText}`);
  },
};
