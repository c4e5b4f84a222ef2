/**
 * The default flood control of alarm rules: each rule sends at most `count` separate messages
 * per channel within `per`; the alarms past that are handed to the outbox as a digest (the same
 * machinery as a rule's `throttle`), so a flood reaches a person as a few messages that count
 * every alarm ("MFA phone changed (90 more like this)") instead of one message per event.
 */
import { AuditConfigurationError } from '../common/audit-configuration.error';
import { DurationError, parseDuration } from '../common/duration';
import { describe, unknownKeyOf, type KnownKeys } from '../common/option-checks';
import type { AlarmOutboxEntry } from '../stores/alarm-outbox-model';

/**
 * At most `count` separate messages per rule and channel within `per`; the alarms past that
 * within the period are folded into digest messages, at most one per `per`.
 *
 * @example { count: 10, per: '1m' }
 */
export interface AlarmRateLimit {
  /** Separate messages allowed per period, per rule and channel (1 to 10000). */
  count: number;
  /** The period: milliseconds or a duration such as `'1m'`, `'30s'`. */
  per: string | number;
}

/** An {@link AlarmRateLimit} as read at boot. */
export interface CompiledAlarmRateLimit {
  /** Separate messages allowed per period. */
  readonly count: number;
  /** The period in milliseconds (also the digest throttle period past the limit). */
  readonly perMs: number;
}

/** The default of `alarms.rateLimit`: 10 separate messages per minute per rule and channel. */
export const DEFAULT_ALARM_RATE_LIMIT: CompiledAlarmRateLimit = Object.freeze({
  count: 10,
  perMs: 60_000,
});

const MAX_RATE_LIMIT_COUNT = 10_000;

/** The keys of a `rateLimit`: `satisfies` makes a key missing here a compile error. */
const KNOWN_KEYS: KnownKeys = { count: true, per: true } satisfies Record<
  keyof AlarmRateLimit,
  true
>;

/**
 * Reads a `rateLimit` option (`alarms.rateLimit` or a rule's).
 * @param option - names the option in the error, e.g. `alarms.rateLimit` or `alarm rule "x" field "rateLimit"`
 * @param raw - the option as written
 * @returns the limit, or `false` when the option turns rate limiting off (`false` or `0`)
 * @throws AuditConfigurationError naming the option and showing a valid example
 */
export function compileAlarmRateLimit(
  option: string,
  raw: unknown,
): CompiledAlarmRateLimit | false {
  if (raw === false || raw === 0) return false;
  const fail = (problem: string): never => {
    throw new AuditConfigurationError(
      `nestjs-audit: ${option} ${problem}. Use { count: 10, per: '1m' } (at most 10 separate messages per minute per rule and channel, the rest folded into a digest), or false to send every alarm on its own.`,
    );
  };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return fail(`must be an object or false (got ${describe(raw)})`);
  }
  const record = raw as Record<string, unknown>;
  const unknown = unknownKeyOf(record, KNOWN_KEYS);
  if (unknown !== undefined) {
    fail(`has the unknown key "${unknown}"; known: ${Object.keys(KNOWN_KEYS).join(', ')}`);
  }
  const count = record.count;
  if (
    typeof count !== 'number' ||
    !Number.isInteger(count) ||
    count < 1 ||
    count > MAX_RATE_LIMIT_COUNT
  ) {
    fail(
      `"count" must be a whole number from 1 to ${MAX_RATE_LIMIT_COUNT} (got ${describe(count)})`,
    );
  }
  let perMs: number;
  try {
    perMs = parseDuration(record.per, 'per');
  } catch (error) {
    if (!(error instanceof DurationError)) throw error;
    return fail(
      `"per" must be a duration such as '1m', '30s' or a number of milliseconds (got ${describe(record.per)})`,
    );
  }
  return Object.freeze({ count: count as number, perMs });
}

/**
 * Starts the digest key of alarms past a rule's rate limit: `rate-limit/<rule>:<channel>`. A
 * rule's own `throttle` digests are keyed `<rule>:<channel>`, and a rule name has no `/`, so the
 * two never share a digest, and a digest can say which it is ("90 more like this").
 */
export const OVER_RATE_LIMIT_PREFIX = 'rate-limit/';

/** Whether a digest key is that of alarms past a rate limit (see {@link OVER_RATE_LIMIT_PREFIX}). */
export function isOverRateLimit(digestKey: string | undefined): boolean {
  return digestKey?.startsWith(OVER_RATE_LIMIT_PREFIX) ?? false;
}

interface Window {
  /** Start of the current period (epoch ms). */
  start: number;
  /** Separate messages let through in it. */
  sent: number;
}

/**
 * Counts the alarms of each rule and channel of this process and turns those past the rule's
 * limit into digest entries. The count lives in memory: each instance limits what it raises,
 * and a restart starts afresh (the outbox still folds what is waiting). Cost per alarm: one map
 * lookup; nothing at all for events that raise none.
 */
export class AlarmRateLimiter {
  /** Bounded by rules × channels. */
  private readonly windows = new Map<string, Window>();

  /**
   * @param limits - the limit of each rule name; rules absent (no limit, or a `throttle` of
   *   their own) are left alone
   * @param now - the clock, epoch milliseconds
   */
  constructor(
    private readonly limits: ReadonlyMap<string, CompiledAlarmRateLimit>,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Marks the entries past their rule's limit as digest entries of
   * `rate-limit/<rule>:<channel>` throttled
   * to one message per period. Entries that already have a digest key are left alone.
   */
  apply(entries: readonly AlarmOutboxEntry[]): void {
    if (this.limits.size === 0) return;
    let now: number | undefined;
    for (const entry of entries) {
      if (entry.digestKey !== undefined) continue;
      const limit = this.limits.get(entry.rule);
      if (limit === undefined) continue;
      now ??= this.now();
      const key = `${entry.rule}:${entry.channel}`;
      let window = this.windows.get(key);
      if (window === undefined || now - window.start >= limit.perMs || now < window.start) {
        window = { start: now, sent: 0 };
        this.windows.set(key, window);
      }
      if (window.sent < limit.count) {
        window.sent += 1;
        continue;
      }
      entry.digestKey = `${OVER_RATE_LIMIT_PREFIX}${key}`;
      entry.throttleMs = limit.perMs;
    }
  }
}
