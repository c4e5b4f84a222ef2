import { randomUUID } from 'node:crypto';
import { ALARM_SEVERITIES } from '../alarms/alarm-message';
import type {
  AlarmAttempt,
  AlarmAttemptQuery,
  AlarmClaimRequest,
  AlarmListQuery,
  AlarmOutboxEntry,
  AlarmSettlement,
  AlarmStatus,
  StoredAlarm,
} from '../alarms/alarm-outbox';

/*
 * What every engine's alarm outbox shares: validation of what callers hand in (so a bad entry
 * fails its whole append before anything is written, on every engine alike), and the mapping
 * of stored rows back to the public shapes.
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
/** Default and largest page of `listAlarms()` / `listAlarmAttempts()`. */
export const DEFAULT_ALARM_LIST_LIMIT = 100;
const MAX_ALARM_LIST_LIMIT = 1000;
/** Longest error message kept per entry and attempt. */
const MAX_ERROR_LENGTH = 2000;
const KINDS = new Set(['event', 'digest', 'threshold', 'manual', 'windows-dropped']);
const SEVERITIES = new Set<string>(ALARM_SEVERITIES);
const STATUSES = new Set<AlarmStatus>(['pending', 'delivered', 'dead']);
const RESULTS = new Set<AlarmAttempt['result']>(['delivered', 'failed', 'dead']);

function invalidAlarm(entry: unknown, problem: string): TypeError {
  const key = (entry as { dedupKey?: unknown } | null)?.dedupKey;
  const name = typeof key === 'string' ? ` ${JSON.stringify(key.slice(0, 80))}` : '';
  return new TypeError(
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
 * @throws TypeError naming the entry and the offending field.
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
      `"createdAt" ${JSON.stringify(entry.createdAt)} is not an ISO-8601 instant`,
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
 * @throws TypeError for the first invalid entry, before anything is written.
 */
export function uniqueAlarmColumns(
  entries: readonly AlarmOutboxEntry[] | undefined,
): AlarmColumns[] {
  if (entries === undefined) return [];
  if (!Array.isArray(entries)) {
    throw new TypeError('Cannot store alarms: expected an array of AlarmOutboxEntry objects.');
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

function listLimit(what: string, limit: unknown): number {
  if (limit === undefined) return DEFAULT_ALARM_LIST_LIMIT;
  if (
    typeof limit !== 'number' ||
    !Number.isInteger(limit) ||
    limit < 1 ||
    limit > MAX_ALARM_LIST_LIMIT
  ) {
    throw new TypeError(
      `${what}: "limit" must be a whole number from 1 to ${MAX_ALARM_LIST_LIMIT}, got ${JSON.stringify(limit)}.`,
    );
  }
  return limit;
}

function optionalFilter(what: string, name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw new TypeError(`${what}: "${name}" must be a string, got ${JSON.stringify(value)}.`);
  }
  return value;
}

/** {@link AlarmListQuery} with its limit resolved. */
export type NormalizedAlarmListQuery = Omit<AlarmListQuery, 'limit'> & { limit: number };

/** Validates the filters of `listAlarms()`. @throws TypeError naming the bad filter. */
export function normalizeAlarmListQuery(query: AlarmListQuery = {}): NormalizedAlarmListQuery {
  const what = 'listAlarms()';
  if (query.status !== undefined && !STATUSES.has(query.status)) {
    throw new TypeError(
      `${what}: "status" must be pending, delivered or dead, got ${JSON.stringify(query.status)}.`,
    );
  }
  const out: NormalizedAlarmListQuery = { limit: listLimit(what, query.limit) };
  if (query.status !== undefined) out.status = query.status;
  for (const name of ['rule', 'channel', 'dedupKey', 'digestKey'] as const) {
    const value = optionalFilter(what, name, query[name]);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** {@link AlarmAttemptQuery} with its limit resolved. */
export type NormalizedAlarmAttemptQuery = Omit<AlarmAttemptQuery, 'limit'> & { limit: number };

/** Validates the filters of `listAlarmAttempts()`. @throws TypeError naming the bad filter. */
export function normalizeAlarmAttemptQuery(
  query: AlarmAttemptQuery = {},
): NormalizedAlarmAttemptQuery {
  const what = 'listAlarmAttempts()';
  if (query.result !== undefined && !RESULTS.has(query.result)) {
    throw new TypeError(
      `${what}: "result" must be delivered, failed or dead, got ${JSON.stringify(query.result)}.`,
    );
  }
  const out: NormalizedAlarmAttemptQuery = { limit: listLimit(what, query.limit) };
  if (query.result !== undefined) out.result = query.result;
  for (const name of ['dedupKey', 'channel'] as const) {
    const value = optionalFilter(what, name, query[name]);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** A column and the value it must equal, for the WHERE clause of a listing. */
export type AlarmColumnEquality = readonly [column: string, value: string];

/** The filters given to `listAlarms()`, as column equalities (one table for every SQL engine). */
export function alarmListEqualities(query: NormalizedAlarmListQuery): AlarmColumnEquality[] {
  return given([
    ['status', query.status],
    ['rule', query.rule],
    ['channel', query.channel],
    ['dedup_key', query.dedupKey],
    ['digest_key', query.digestKey],
  ]);
}

/** The filters given to `listAlarmAttempts()`, as column equalities. */
export function alarmAttemptEqualities(query: NormalizedAlarmAttemptQuery): AlarmColumnEquality[] {
  return given([
    ['dedup_key', query.dedupKey],
    ['channel', query.channel],
    ['result', query.result],
  ]);
}

function given(pairs: readonly (readonly [string, string | undefined])[]): AlarmColumnEquality[] {
  return pairs.filter((pair): pair is readonly [string, string] => pair[1] !== undefined);
}

/**
 * Validates a claim request.
 * @throws TypeError naming the bad field.
 */
export function checkClaimRequest(request: AlarmClaimRequest): void {
  const problem = (name: string, expected: string, value: unknown) =>
    new TypeError(`claimAlarms(): "${name}" must be ${expected}, got ${JSON.stringify(value)}.`);
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
 * @throws TypeError naming the bad field.
 */
export function toSettlementColumns(settlement: AlarmSettlement): SettlementColumns {
  const problem = (name: string, expected: string, value: unknown) =>
    new TypeError(`settleAlarms(): "${name}" must be ${expected}, got ${JSON.stringify(value)}.`);
  const a = settlement?.attempt;
  if (a === null || typeof a !== 'object') throw problem('attempt', 'an AlarmAttempt', a);
  if (typeof settlement.lease !== 'string' || settlement.lease.length === 0) {
    throw problem('lease', 'the lease token of the claim', settlement.lease);
  }
  if (!Number.isSafeInteger(a.alarmSeq))
    throw problem('attempt.alarmSeq', 'the seq of the entry', a.alarmSeq);
  if (!RESULTS.has(a.result))
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
