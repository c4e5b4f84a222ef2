/**
 * The `threshold` of an alarm rule: `count` matching events within one `window`, counted
 * separately per `groupBy` value when it is set.
 */
import { describe, type KnownKeys } from '../common/option-checks';
import type { AuditEvent } from '../event/audit-event';
import type { AlarmRule } from './alarm-options';
import type { RuleChecker } from './alarm-rule-checker';
import { ALARM_EVENT_PATHS, eventPathReader } from './alarm-event-paths';
import { describeDuration } from './alarm-template-values';

/** A threshold of a compiled rule. */
export interface CompiledThreshold {
  /** Matching events needed within one window. */
  readonly count: number;
  /** Window length in milliseconds. */
  readonly windowMs: number;
  /** The window in words (`1 minute`), for messages. */
  readonly window: string;
  /** The event path counted separately, if any. */
  readonly groupBy?: string;
  /** Reads the `groupBy` value of an event. */
  readonly readGroup?: (event: AuditEvent) => unknown;
}

const KNOWN_THRESHOLD_KEYS: KnownKeys = {
  count: true,
  window: true,
  groupBy: true,
} satisfies Record<keyof NonNullable<AlarmRule['threshold']>, true>;

/**
 * Checks a rule's `threshold` field and reads its window.
 *
 * @param check - the checker of the rule
 * @param raw - the field as given
 * @throws AuditConfigurationError naming the rule and `threshold.<key>`
 */
export function compileThreshold(check: RuleChecker, value: unknown): CompiledThreshold {
  const raw = check.record(
    'threshold',
    value,
    "{ count: 5, window: '1m', groupBy: 'source.ip' }",
    KNOWN_THRESHOLD_KEYS,
  );
  const count = raw.count;
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) {
    check.fail('threshold.count', `must be a whole number of at least 1 (got ${describe(count)}).`);
  }
  const windowMs = check.duration('threshold.window', raw.window);
  const threshold: { -readonly [K in keyof CompiledThreshold]: CompiledThreshold[K] } = {
    count,
    windowMs,
    window: describeDuration(windowMs),
  };
  if (raw.groupBy !== undefined) {
    const groupBy = raw.groupBy;
    const reader = typeof groupBy === 'string' ? eventPathReader(groupBy) : undefined;
    if (reader === undefined) {
      check.fail(
        'threshold.groupBy',
        `${describe(groupBy)} is not an event path; use one of ${ALARM_EVENT_PATHS.join(', ')}, or labels.<name>.`,
      );
    }
    threshold.groupBy = groupBy as string;
    threshold.readGroup = reader;
  }
  return threshold;
}
