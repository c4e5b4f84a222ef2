/**
 * Durations written the way people write them in configuration and on a command line:
 * `30s`, `10m`, `24h`, `7d`, `2w`, `500ms`, or a number of milliseconds.
 */

import { AuditError } from './audit-error';
import { describe } from './option-checks';

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/;

/** Thrown for a duration that cannot be read; the message shows the accepted forms. */
export class DurationError extends AuditError {
  override readonly name = 'DurationError';
  override readonly code = 'AUDIT_DURATION_INVALID';
}

/**
 * Parses `value` into milliseconds.
 * @param what names the setting in the error message, e.g. `--since` or `rule "x" throttle`.
 * @throws DurationError for anything but a positive duration.
 * @example parseDuration('10m', 'throttle') // 600000
 */
export function parseDuration(value: unknown, what: string): number {
  let ms: number | undefined;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') {
    const match = DURATION.exec(value.trim());
    if (match) ms = Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  }
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0 || ms > Number.MAX_SAFE_INTEGER) {
    throw new DurationError(
      `${what}: ${describe(value)} is not a duration. Use a positive number of milliseconds or a number with a unit: 500ms, 30s, 10m, 24h, 7d, 2w.`,
    );
  }
  return Math.round(ms);
}
