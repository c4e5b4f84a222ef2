import { ALARM_SEVERITIES } from './alarm-message';
import type {
  AlarmAttempt,
  AlarmOutboxEntry,
  AlarmStatus,
  StoredAlarm,
} from './alarm-outbox-model';
import { AlarmInputError } from '../common/alarm-input.error';
import { describe } from '../common/option-checks';

/*
 * What every engine's alarm outbox shares: validation of the entries callers hand in (so a bad
 * entry fails its whole append before anything is written, on every engine alike), and the
 * mapping of stored rows back to the public shapes. Listing filters are in `alarm-queries.ts`,
 * claims and settlements in `alarm-leases.ts`.
 */

/** The fields of an outbox entry a store writes, validated, times as epoch milliseconds. */
export interface AlarmColumns {
  dedupKey: string;
  rule: string;
  channel: string;
  kind: string;
  severity: string;
  digestKey: string | null;
  throttleMs: number | null;
  eventId: string | null;
  /** `createdAt` in epoch ms; also when the entry is first due. */
  createdAt: number;
  /** The message as JSON text. */
  message: string;
}

/** A stored entry in engine-neutral form (times in epoch ms), as engines read it back. */
export interface AlarmRow extends AlarmColumns {
  seq: number;
  status: string;
  attempts: number;
  nextAttemptAt: number | null;
  leaseUntil: number | null;
  leaseOwner: string | null;
  settledAt: number | null;
  lastError: string | null;
  groupHead: number | null;
  deliveredWith: number | null;
}

/** Longest dedup or digest key accepted (keys are built by the library from short names). */
export const MAX_ALARM_KEY_LENGTH = 512;
const KINDS = new Set(['event', 'digest', 'threshold', 'manual', 'windows-dropped']);
const SEVERITIES = new Set<string>(ALARM_SEVERITIES);

function invalidAlarm(entry: unknown, problem: string): AlarmInputError {
  const key = (entry as { dedupKey?: unknown } | null)?.dedupKey;
  const name = typeof key === 'string' ? ` ${JSON.stringify(key.slice(0, 80))}` : '';
  return new AlarmInputError(
    `Cannot store alarm${name}: ${problem}. Alarms are built by the alarm engine; a custom caller must pass the full AlarmOutboxEntry shape.`,
  );
}

function text(entry: unknown, name: string, value: unknown, max = MAX_ALARM_KEY_LENGTH): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw invalidAlarm(entry, `"${name}" must be a non-empty string of at most ${max} characters`);
  }
  return value;
}

/**
 * Validates one entry and returns it in column form.
 * @throws AlarmInputError naming the entry and the offending field.
 */
export function toAlarmColumns(entry: AlarmOutboxEntry): AlarmColumns {
  if (entry === null || typeof entry !== 'object') {
    throw invalidAlarm(entry, 'expected an AlarmOutboxEntry object');
  }
  const dedupKey = text(entry, 'dedupKey', entry.dedupKey);
  const rule = text(entry, 'rule', entry.rule, 200);
  const channel = text(entry, 'channel', entry.channel, 200);
  if (!KINDS.has(entry.kind)) {
    throw invalidAlarm(entry, `"kind" must be one of ${[...KINDS].join(', ')}`);
  }
  if (!SEVERITIES.has(entry.severity)) {
    throw invalidAlarm(entry, `"severity" must be one of ${ALARM_SEVERITIES.join(', ')}`);
  }
  let digestKey: string | null = null;
  let throttleMs: number | null = null;
  if (entry.digestKey !== undefined) {
    digestKey = text(entry, 'digestKey', entry.digestKey);
    if (
      typeof entry.throttleMs !== 'number' ||
      !Number.isSafeInteger(entry.throttleMs) ||
      entry.throttleMs < 1
    ) {
      throw invalidAlarm(entry, 'a digest entry needs "throttleMs", a whole number of ms above 0');
    }
    throttleMs = entry.throttleMs;
  } else if (entry.throttleMs !== undefined) {
    throw invalidAlarm(entry, '"throttleMs" only applies together with "digestKey"');
  }
  const eventId = entry.eventId === undefined ? null : text(entry, 'eventId', entry.eventId, 64);
  const createdAt = typeof entry.createdAt === 'string' ? Date.parse(entry.createdAt) : Number.NaN;
  if (!Number.isSafeInteger(createdAt)) {
    throw invalidAlarm(
      entry,
      `"createdAt" ${describe(entry.createdAt)} is not an ISO-8601 instant`,
    );
  }
  if (entry.message === null || typeof entry.message !== 'object') {
    throw invalidAlarm(entry, '"message" must be the rendered AlarmMessage object');
  }
  return {
    dedupKey,
    rule,
    channel,
    kind: entry.kind,
    severity: entry.severity,
    digestKey,
    throttleMs,
    eventId,
    createdAt,
    message: JSON.stringify(entry.message),
  };
}

/**
 * Validates every entry, then drops repeated dedup keys (the first occurrence wins, as for
 * event ids), sorted by dedup key: two transactions inserting the same keys then lock them in
 * the same order and wait for each other instead of deadlocking.
 * @throws AlarmInputError for the first invalid entry, before anything is written.
 */
export function uniqueAlarmColumns(
  entries: readonly AlarmOutboxEntry[] | undefined,
): AlarmColumns[] {
  if (entries === undefined) return [];
  if (!Array.isArray(entries)) {
    throw new AlarmInputError(
      'Cannot store alarms: expected an array of AlarmOutboxEntry objects.',
    );
  }
  const byKey = new Map<string, AlarmColumns>();
  for (const entry of entries as readonly AlarmOutboxEntry[]) {
    const columns = toAlarmColumns(entry);
    if (!byKey.has(columns.dedupKey)) byKey.set(columns.dedupKey, columns);
  }
  return [...byKey.values()].sort((a, b) =>
    a.dedupKey < b.dedupKey ? -1 : a.dedupKey > b.dedupKey ? 1 : 0,
  );
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Builds the public shape of a stored entry. */
export function storedAlarmOf(row: AlarmRow): StoredAlarm {
  const alarm: StoredAlarm = {
    seq: row.seq,
    dedupKey: row.dedupKey,
    rule: row.rule,
    channel: row.channel,
    kind: row.kind as StoredAlarm['kind'],
    severity: row.severity as StoredAlarm['severity'],
    createdAt: iso(row.createdAt),
    message: JSON.parse(row.message) as StoredAlarm['message'],
    status: row.status as AlarmStatus,
    attempts: row.attempts,
  };
  if (row.digestKey !== null) alarm.digestKey = row.digestKey;
  if (row.throttleMs !== null) alarm.throttleMs = row.throttleMs;
  if (row.eventId !== null) alarm.eventId = row.eventId;
  if (row.nextAttemptAt !== null) alarm.nextAttemptAt = iso(row.nextAttemptAt);
  if (row.leaseUntil !== null) alarm.leaseUntil = iso(row.leaseUntil);
  if (row.leaseOwner !== null) alarm.leasedBy = row.leaseOwner;
  if (row.settledAt !== null) alarm.settledAt = iso(row.settledAt);
  if (row.lastError !== null) alarm.lastError = row.lastError;
  if (row.groupHead !== null) alarm.digestHead = row.groupHead;
  if (row.deliveredWith !== null) alarm.deliveredWith = row.deliveredWith;
  return alarm;
}

/** An attempt row in engine-neutral form, as engines read it back. */
export interface AlarmAttemptRow {
  alarmSeq: number;
  dedupKey: string;
  channel: string;
  attempt: number;
  at: number;
  durationMs: number;
  result: string;
  count: number;
  statusCode: number | null;
  error: string | null;
}

/** Builds the public shape of a recorded attempt. */
export function alarmAttemptOf(row: AlarmAttemptRow): AlarmAttempt {
  const attempt: AlarmAttempt = {
    alarmSeq: row.alarmSeq,
    dedupKey: row.dedupKey,
    channel: row.channel,
    attempt: row.attempt,
    at: iso(row.at),
    durationMs: row.durationMs,
    result: row.result as AlarmAttempt['result'],
    count: row.count,
  };
  if (row.statusCode !== null) attempt.statusCode = row.statusCode;
  if (row.error !== null) attempt.error = row.error;
  return attempt;
}
