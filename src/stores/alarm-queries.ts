import type {
  AlarmAttempt,
  AlarmAttemptQuery,
  AlarmListQuery,
  AlarmStatus,
} from './alarm-outbox-model';
import { AuditQueryError } from '../common/audit-query.error';
import { describe } from '../common/option-checks';

/*
 * The filters of the alarm outbox's listings (`listAlarms()`, `listAlarmAttempts()`), validated
 * alike on every engine and turned into the column equalities every SQL engine filters by.
 */

/** Default and largest page of `listAlarms()` / `listAlarmAttempts()`. */
export const DEFAULT_ALARM_LIST_LIMIT = 100;
/** Largest page of a listing, and most entries one claim may lease. */
export const MAX_ALARM_LIST_LIMIT = 1000;
const STATUSES = new Set<AlarmStatus>(['pending', 'delivered', 'dead']);
/** The results an attempt may record. */
export const ATTEMPT_RESULTS = new Set<AlarmAttempt['result']>(['delivered', 'failed', 'dead']);

function listLimit(what: string, limit: unknown): number {
  if (limit === undefined) return DEFAULT_ALARM_LIST_LIMIT;
  if (
    typeof limit !== 'number' ||
    !Number.isInteger(limit) ||
    limit < 1 ||
    limit > MAX_ALARM_LIST_LIMIT
  ) {
    throw new AuditQueryError(
      `${what}: "limit" must be a whole number from 1 to ${MAX_ALARM_LIST_LIMIT}, got ${describe(limit)}.`,
    );
  }
  return limit;
}

function optionalFilter(what: string, name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw new AuditQueryError(`${what}: "${name}" must be a string, got ${describe(value)}.`);
  }
  return value;
}

/** {@link AlarmListQuery} with its limit resolved. */
export type NormalizedAlarmListQuery = Omit<AlarmListQuery, 'limit'> & { limit: number };

/** Validates the filters of `listAlarms()`. @throws AuditQueryError naming the bad filter. */
export function normalizeAlarmListQuery(query: AlarmListQuery = {}): NormalizedAlarmListQuery {
  const what = 'listAlarms()';
  if (query.status !== undefined && !STATUSES.has(query.status)) {
    throw new AuditQueryError(
      `${what}: "status" must be pending, delivered or dead, got ${describe(query.status)}.`,
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

/** Validates the filters of `listAlarmAttempts()`. @throws AuditQueryError naming the bad filter. */
export function normalizeAlarmAttemptQuery(
  query: AlarmAttemptQuery = {},
): NormalizedAlarmAttemptQuery {
  const what = 'listAlarmAttempts()';
  if (query.result !== undefined && !ATTEMPT_RESULTS.has(query.result)) {
    throw new AuditQueryError(
      `${what}: "result" must be delivered, failed or dead, got ${describe(query.result)}.`,
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
