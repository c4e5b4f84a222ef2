import type { AlarmDeliveryCounters } from './alarm-dispatcher-stats';
import type { AlarmAttempt, AlarmClaim, AlarmSettlement } from '../stores/alarm-outbox-model';
import type { DeliveryFailure } from './alarm-channel-sender';
import { backoffDelay, type BackoffSettings } from './backoff';

/** When and how long one attempt ran. */
export interface AttemptTiming {
  /** The attempt number, from 1. */
  attempt: number;
  /** When it began, epoch milliseconds. */
  at: number;
  /** How long it took. */
  durationMs: number;
}

/** How many attempts a message gets and how long to wait between them. */
export interface RetryPolicy {
  maxAttempts: number;
  backoff: BackoffSettings;
}

/** What becomes of a message after one attempt: its settlement and what to tell the operators. */
export interface AttemptOutcome {
  settlement: AlarmSettlement;
  /** A dead letter (`error`) or a failed attempt that will be retried (`warn`). */
  note?: { level: 'error' | 'warn'; message: string };
}

/**
 * Settles one attempt: delivered, retried after a backoff (a receiver's `Retry-After` as a
 * floor), or dead-lettered when the failure is permanent or the attempts are used up.
 * @param failure what went wrong, or undefined when the message was delivered.
 * @param now the time the retry delay counts from, epoch milliseconds.
 */
export function attemptOutcome(
  claim: AlarmClaim,
  timing: AttemptTiming,
  failure: DeliveryFailure | undefined,
  policy: RetryPolicy,
  now: number,
): AttemptOutcome {
  const alarm = claim.alarm;
  const { attempt } = timing;
  const record: AlarmAttempt = {
    alarmSeq: alarm.seq,
    dedupKey: alarm.dedupKey,
    channel: alarm.channel,
    attempt,
    at: new Date(timing.at).toISOString(),
    durationMs: timing.durationMs,
    result: 'delivered',
    count: claim.count,
  };
  const settlement: AlarmSettlement = { lease: claim.lease, attempt: record };
  if (failure === undefined) return { settlement };
  if (failure.statusCode !== undefined) record.statusCode = failure.statusCode;
  record.error = failure.message;
  const what = `alarm of rule "${alarm.rule}" to channel "${alarm.channel}" (dedup key ${alarm.dedupKey}${claim.count > 1 ? `, ${claim.count} alarms` : ''})`;
  if (failure.permanent || attempt >= policy.maxAttempts) {
    record.result = 'dead';
    const message = `nestjs-audit: ${what} was dead-lettered after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${failure.message}. It stays in the outbox with status "dead" (AuditService.listAlarms({ status: 'dead' })).`;
    return { settlement, note: { level: 'error', message } };
  }
  record.result = 'failed';
  const delay = backoffDelay(attempt, policy.backoff, failure.retryAfterMs);
  settlement.nextAttemptAt = new Date(now + delay).toISOString();
  const message = `nestjs-audit: attempt ${attempt} of ${policy.maxAttempts} of ${what} failed: ${failure.message}. Next attempt in ${Math.ceil(delay / 1000)} s.`;
  return { settlement, note: { level: 'warn', message } };
}

/** Adds one settled attempt to the counters of {@link AlarmDeliveryCounters}. */
export function countOutcome(counters: AlarmDeliveryCounters, outcome: AttemptOutcome): void {
  const { result, count } = outcome.settlement.attempt;
  if (result === 'delivered') {
    counters.sent += 1;
    counters.delivered += count;
  } else if (result === 'dead') {
    counters.dead += 1;
  } else {
    counters.failedAttempts += 1;
  }
}
