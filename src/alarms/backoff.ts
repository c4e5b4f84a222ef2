/** Exponential backoff settings, as in the `alarms.backoff` option. */
export interface BackoffSettings {
  /** Upper bound of the first retry's wait, in milliseconds. */
  initialMs: number;
  /** Upper bound of any retry's wait, in milliseconds (a `Retry-After` may exceed it). */
  maxMs: number;
}

/**
 * Longest `Retry-After` honoured: a receiver asking for more (or sending a bogus far-future
 * date) is retried after this long instead of being left alone for days.
 */
export const MAX_RETRY_AFTER_MS = 6 * 60 * 60 * 1000;

/**
 * How long to wait before the next attempt, after `attempt` attempts failed: full jitter, a
 * uniformly random time from 0 to `min(maxMs, initialMs * 2^(attempt - 1))`, so that many
 * alarms failing together (a receiver outage) do not retry in lock-step. A receiver's
 * `retryAfterMs` (HTTP 429/503 `Retry-After`) is a floor, honoured even above `maxMs`, up to
 * {@link MAX_RETRY_AFTER_MS}.
 *
 * @param attempt attempts made so far (1 after the first failure).
 * @param random a source of numbers in [0, 1), for tests.
 * @returns whole milliseconds.
 * @example backoffDelay(3, { initialMs: 1000, maxMs: 300_000 }) // somewhere in 0..4000
 */
export function backoffDelay(
  attempt: number,
  settings: BackoffSettings,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  // 2^exponent overflows to Infinity for huge attempt numbers; min() then keeps maxMs.
  const ceiling = Math.min(settings.maxMs, settings.initialMs * 2 ** exponent);
  const jittered = Math.floor(Math.min(Math.max(random(), 0), 1) * ceiling);
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs) || retryAfterMs <= 0) {
    return jittered;
  }
  return Math.max(jittered, Math.min(Math.ceil(retryAfterMs), MAX_RETRY_AFTER_MS));
}
