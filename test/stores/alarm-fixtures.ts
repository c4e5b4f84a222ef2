import type { AlarmMessage } from '../../src/stores/alarm-message';
import type {
  AlarmAttempt,
  AlarmClaim,
  AlarmClaimRequest,
  AlarmOutboxEntry,
  AlarmSettlement,
} from '../../src/stores/alarm-outbox-model';

let counter = 0;

/**
 * Builds a valid outbox entry: an `event` alarm of rule `r` for channel `ops`, raised at `at`
 * (epoch ms), with a unique dedup key unless one is given.
 */
export function makeAlarm(at: number, overrides: Partial<AlarmOutboxEntry> = {}): AlarmOutboxEntry {
  counter += 1;
  const dedupKey = overrides.dedupKey ?? `r:ops:${process.pid}:${counter}`;
  const createdAt = new Date(at).toISOString();
  const message: AlarmMessage = {
    id: dedupKey,
    rule: overrides.rule ?? 'r',
    channel: overrides.channel ?? 'ops',
    kind: overrides.kind ?? 'event',
    severity: overrides.severity ?? 'medium',
    title: `alarm ${counter}`,
    text: `text of alarm ${counter}`,
    count: 1,
    events: [],
    firstAt: createdAt,
    lastAt: createdAt,
    service: 'test',
  };
  return {
    dedupKey,
    rule: 'r',
    channel: 'ops',
    kind: 'event',
    severity: 'medium',
    createdAt,
    message,
    ...overrides,
  };
}

/** `n` digest entries of one key, raised at `at(i)`. */
export function makeDigestAlarms(
  n: number,
  digestKey: string,
  throttleMs: number,
  at: (i: number) => number,
): AlarmOutboxEntry[] {
  return Array.from({ length: n }, (_, i) => makeAlarm(at(i), { digestKey, throttleMs }));
}

/** A claim request with test defaults. */
export function claimAt(
  now: number,
  overrides: Partial<AlarmClaimRequest> = {},
): AlarmClaimRequest {
  return { now, limit: 100, leaseMs: 30_000, owner: 'test', listSize: 10, ...overrides };
}

/** The settlement of one attempt at `now` of a claim. */
export function settlementOf(
  claim: AlarmClaim,
  now: number,
  result: AlarmAttempt['result'],
  options: { nextAttemptAt?: number; error?: string; statusCode?: number } = {},
): AlarmSettlement {
  const attempt: AlarmAttempt = {
    alarmSeq: claim.alarm.seq,
    dedupKey: claim.alarm.dedupKey,
    channel: claim.alarm.channel,
    attempt: claim.alarm.attempts + 1,
    at: new Date(now).toISOString(),
    durationMs: 12,
    result,
    count: claim.count,
  };
  if (options.error !== undefined) attempt.error = options.error;
  if (options.statusCode !== undefined) attempt.statusCode = options.statusCode;
  const settlement: AlarmSettlement = { lease: claim.lease, attempt };
  if (options.nextAttemptAt !== undefined) {
    settlement.nextAttemptAt = new Date(options.nextAttemptAt).toISOString();
  }
  return settlement;
}
