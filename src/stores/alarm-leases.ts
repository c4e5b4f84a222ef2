import { randomUUID } from 'node:crypto';
import { ALARM_SEVERITIES } from './alarm-message';
import type { AlarmAttempt, AlarmClaimRequest, AlarmSettlement } from './alarm-outbox-model';
import type { AlarmRow } from './alarm-columns';
import { ATTEMPT_RESULTS, MAX_ALARM_LIST_LIMIT } from './alarm-queries';
import { AlarmInputError } from '../common/alarm-input.error';
import { describe } from '../common/option-checks';

/*
 * Leases on the alarm outbox, alike on every engine: the claim requests that take them (checked,
 * in claim order: most urgent first) and the settlements that end them.
 */

/** Longest error message kept per entry and attempt. */
const MAX_ERROR_LENGTH = 2000;

/**
 * Validates a claim request.
 * @throws AlarmInputError naming the bad field.
 */
export function checkClaimRequest(request: AlarmClaimRequest): void {
  const problem = (name: string, expected: string, value: unknown) =>
    new AlarmInputError(
      `AlarmOutbox.claim(): "${name}" must be ${expected}, got ${describe(value)}.`,
    );
  if (request === null || typeof request !== 'object')
    throw problem('request', 'an object', request);
  const { now, limit, leaseMs, owner, listSize } = request;
  if (!Number.isSafeInteger(now)) throw problem('now', 'epoch milliseconds', now);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_ALARM_LIST_LIMIT) {
    throw problem('limit', `a whole number from 1 to ${MAX_ALARM_LIST_LIMIT}`, limit);
  }
  if (!Number.isSafeInteger(leaseMs) || leaseMs < 1)
    throw problem('leaseMs', 'a whole number of ms above 0', leaseMs);
  if (typeof owner !== 'string' || owner.length === 0 || owner.length > 200) {
    throw problem('owner', 'a non-empty string of at most 200 characters', owner);
  }
  if (!Number.isInteger(listSize) || listSize < 0 || listSize > MAX_ALARM_LIST_LIMIT) {
    throw problem('listSize', `a whole number from 0 to ${MAX_ALARM_LIST_LIMIT}`, listSize);
  }
  const { excludeChannels } = request;
  if (excludeChannels === undefined) return;
  if (!Array.isArray(excludeChannels)) {
    throw problem('excludeChannels', 'an array of channel names (or left out)', excludeChannels);
  }
  excludeChannels.forEach((channel: unknown, i) => {
    if (typeof channel !== 'string') {
      throw problem(`excludeChannels[${i}]`, 'a channel name (a string)', channel);
    }
  });
}

/**
 * Claim rank of a severity: 0 for `critical`, then `high`, `medium`, `low`, `info`. Claims take
 * the most urgent due entries first, then the longest due, then the oldest, so that a critical
 * alarm never waits behind a flood of lesser ones of the same channel.
 */
export function severityRank(severity: string): number {
  const index = ALARM_SEVERITIES.indexOf(severity as (typeof ALARM_SEVERITIES)[number]);
  return index < 0 ? ALARM_SEVERITIES.length : ALARM_SEVERITIES.length - 1 - index;
}

/**
 * {@link severityRank} as an SQL expression over the `severity` column, the same text on SQLite
 * and PostgreSQL. Schema version 6 indexes exactly this expression (`audit_alarms_claim`), so
 * that a claim walks the due entries in claim order and stops at its limit instead of sorting
 * the whole backlog: keep the two identical.
 */
export const SEVERITY_RANK_SQL =
  "CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 WHEN 'info' THEN 4 ELSE 5 END";

/** The claim order: severity (most urgent first), then due time, then seq. */
export function byClaimOrder(a: AlarmRow, b: AlarmRow): number {
  return (
    severityRank(a.severity) - severityRank(b.severity) ||
    (a.nextAttemptAt ?? 0) - (b.nextAttemptAt ?? 0) ||
    a.seq - b.seq
  );
}

/** The distinct channels a claim excludes, sorted (empty when none). */
export function excludedChannelsOf(request: AlarmClaimRequest): string[] {
  return [...new Set(request.excludeChannels ?? [])].sort();
}

/** A new lease token for one claim: the owner, made unique. */
export function newLeaseToken(owner: string): string {
  return `${owner}#${randomUUID()}`;
}

/** A settlement in column form, times as epoch ms. */
export interface SettlementColumns {
  seq: number;
  lease: string;
  result: AlarmAttempt['result'];
  at: number;
  /** `failed` only. */
  nextAttemptAt: number | null;
  error: string | null;
  attempt: {
    dedupKey: string;
    channel: string;
    attempt: number;
    at: number;
    durationMs: number;
    result: AlarmAttempt['result'];
    count: number;
    statusCode: number | null;
    error: string | null;
  };
}

/**
 * Validates a settlement and returns it in column form.
 * @throws AlarmInputError naming the bad field.
 */
export function toSettlementColumns(settlement: AlarmSettlement): SettlementColumns {
  const problem = (name: string, expected: string, value: unknown) =>
    new AlarmInputError(
      `AlarmOutbox.settle(): "${name}" must be ${expected}, got ${describe(value)}.`,
    );
  const a = settlement?.attempt;
  if (a === null || typeof a !== 'object') throw problem('attempt', 'an AlarmAttempt', a);
  if (typeof settlement.lease !== 'string' || settlement.lease.length === 0) {
    throw problem('lease', 'the lease token of the claim', settlement.lease);
  }
  if (!Number.isSafeInteger(a.alarmSeq))
    throw problem('attempt.alarmSeq', 'the seq of the entry', a.alarmSeq);
  if (!ATTEMPT_RESULTS.has(a.result))
    throw problem('attempt.result', 'delivered, failed or dead', a.result);
  const at = Date.parse(a.at);
  if (!Number.isSafeInteger(at)) throw problem('attempt.at', 'an ISO-8601 instant', a.at);
  let nextAttemptAt: number | null = null;
  if (a.result === 'failed') {
    nextAttemptAt =
      typeof settlement.nextAttemptAt === 'string'
        ? Date.parse(settlement.nextAttemptAt)
        : Number.NaN;
    if (!Number.isSafeInteger(nextAttemptAt)) {
      throw problem(
        'nextAttemptAt',
        'an ISO-8601 instant for a failed attempt',
        settlement.nextAttemptAt,
      );
    }
  }
  if (!Number.isInteger(a.attempt) || a.attempt < 1)
    throw problem('attempt.attempt', 'a whole number from 1', a.attempt);
  if (!Number.isInteger(a.count) || a.count < 0)
    throw problem('attempt.count', 'a whole number', a.count);
  for (const name of ['dedupKey', 'channel'] as const) {
    if (typeof a[name] !== 'string' || a[name].length === 0) {
      throw problem(`attempt.${name}`, 'a non-empty string', a[name]);
    }
  }
  const error = a.error === undefined ? null : String(a.error).slice(0, MAX_ERROR_LENGTH);
  return {
    seq: a.alarmSeq,
    lease: settlement.lease,
    result: a.result,
    at,
    nextAttemptAt,
    error,
    attempt: {
      dedupKey: a.dedupKey,
      channel: a.channel,
      attempt: a.attempt,
      at,
      durationMs: Math.max(0, Math.round(Number(a.durationMs) || 0)),
      result: a.result,
      count: a.count,
      statusCode: Number.isInteger(a.statusCode) ? (a.statusCode as number) : null,
      error,
    },
  };
}
