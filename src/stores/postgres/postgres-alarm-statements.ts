import type { AlarmAttemptQuery, AlarmListQuery } from '../alarm-outbox-model';
import type { AlarmColumns } from '../alarm-columns';
import type { SettlementColumns } from '../alarm-leases';
import {
  alarmAttemptEqualities,
  alarmListEqualities,
  normalizeAlarmAttemptQuery,
  normalizeAlarmListQuery,
  type AlarmColumnEquality,
} from '../alarm-queries';
import { ms, rowColumns } from './postgres-alarm-rows';
import type { PostgresNames } from './postgres-names';
import type { PostgresStatement } from './postgres-query';
import { toPostgresTimestamp } from './postgres-timestamp';

/**
 * Rows per alarm INSERT: 10 parameters each, so an insert of events (11 per row, at most 1000
 * rows) and one of alarms fit together in one statement under the protocol's 65535 limit.
 */
export const MAX_ALARMS_PER_INSERT = 1000;

const ts = (value: number) => toPostgresTimestamp(value);

/** The statements of the alarm outbox of one events table. */
export interface PostgresAlarmStatements {
  /**
   * Inserts validated, distinct entries as multi-row statements; dedup keys already stored are
   * skipped. `events` (a single events insert) is run first in the same statement when given,
   * so a batch of events and alarms costs one round trip.
   */
  insert(alarms: readonly AlarmColumns[], events?: PostgresStatement): PostgresStatement[];
  /**
   * Whether anything may be claimable at `now`, leaving out the `excluded` channels: one cheap
   * read before taking any lock.
   */
  anyDue(now: number, excluded?: readonly string[]): PostgresStatement;
  /** Entries matching a list query, newest first. */
  list(query?: AlarmListQuery): PostgresStatement;
  /** Attempts matching a query, newest first. */
  listAttempts(query?: AlarmAttemptQuery): PostgresStatement;
  /** Counts per status with the oldest creation time. */
  stats(): PostgresStatement;
  /** Settles one message and records its attempt, in one statement. */
  settle(settlement: SettlementColumns): PostgresStatement;
}

/** Builds the outbox statements of the tables named by `names`. */
export function postgresAlarmStatements(names: PostgresNames): PostgresAlarmStatements {
  const alarms = names.qualifiedAlarms;
  const insertHead = `INSERT INTO ${alarms}
    (dedup_key, rule, channel, kind, severity, digest_key, throttle_ms, event_id, created_at, message, next_attempt_at)
    VALUES `;
  const anyDueSql = (excluding = '') => `SELECT EXISTS (SELECT 1 FROM ${alarms}
    WHERE next_attempt_at <= $1::timestamptz
      AND (lease_until IS NULL OR lease_until <= $1::timestamptz)${excluding})`;
  const anyDueAll = anyDueSql();
  const anyDueExcluding = anyDueSql(' AND channel <> ALL($2::text[])');

  return {
    insert: (rows, events) => alarmInserts(insertHead, rows, events),

    anyDue(now, excluded = []) {
      return excluded.length === 0
        ? { text: anyDueAll, values: [ts(now)] }
        : { text: anyDueExcluding, values: [ts(now), excluded] };
    },

    list(query) {
      const q = normalizeAlarmListQuery(query);
      const { filter, values } = whereEqual(alarmListEqualities(q), 'a.');
      values.push(q.limit);
      return {
        text: `SELECT ${rowColumns('a')} FROM ${alarms} a${filter} ORDER BY a.seq DESC LIMIT $${values.length}`,
        values,
      };
    },

    listAttempts(query) {
      const q = normalizeAlarmAttemptQuery(query);
      const { filter, values } = whereEqual(alarmAttemptEqualities(q), '');
      values.push(q.limit);
      return {
        text: `SELECT alarm_seq::float8, dedup_key, channel, attempt, ${ms('at')}, duration_ms,
            result, count, status_code, error
          FROM ${names.qualifiedAlarmAttempts}${filter} ORDER BY id DESC LIMIT $${values.length}`,
        values,
      };
    },

    stats() {
      return {
        text: `SELECT status, count(*)::float8, ${ms('min(created_at)')} FROM ${alarms} GROUP BY status`,
        values: [],
      };
    },

    settle: (s) => settleStatement(names, s),
  };
}

/**
 * The inserts of validated, distinct entries, {@link MAX_ALARMS_PER_INSERT} per statement; the
 * first runs `events` (a single events insert) first when given.
 */
function alarmInserts(
  insertHead: string,
  rows: readonly AlarmColumns[],
  events: PostgresStatement | undefined,
): PostgresStatement[] {
  const statements: PostgresStatement[] = [];
  for (let first = 0; first < rows.length; first += MAX_ALARMS_PER_INSERT) {
    const chunk = rows.slice(first, first + MAX_ALARMS_PER_INSERT);
    // The first chunk rides along with the events insert, whose parameters come first.
    const prefix = first === 0 ? events : undefined;
    const values: unknown[] = prefix ? [...prefix.values] : [];
    const tuples: string[] = [];
    for (const c of chunk) {
      const n = values.length;
      values.push(
        c.dedupKey,
        c.rule,
        c.channel,
        c.kind,
        c.severity,
        c.digestKey,
        c.throttleMs,
        c.eventId,
        ts(c.createdAt),
        c.message,
      );
      tuples.push(
        `($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5}, $${n + 6}, $${n + 7}::bigint, $${n + 8}, $${n + 9}::timestamptz, $${n + 10}::jsonb, $${n + 9}::timestamptz)`,
      );
    }
    const insert = `${insertHead}${tuples.join(', ')} ON CONFLICT (dedup_key) DO NOTHING`;
    statements.push({
      // A data-modifying WITH runs exactly once, in the same statement: one atomic round trip.
      text: prefix
        ? (prefix.followedBy?.(insert) ?? `WITH inserted_events AS (${prefix.text}) ${insert}`)
        : insert,
      values,
    });
  }
  return statements;
}

/** Settles one message and records its attempt, in one statement. */
function settleStatement(names: PostgresNames, s: SettlementColumns): PostgresStatement {
  const alarms = names.qualifiedAlarms;
  const a = s.attempt;
  const values: unknown[] = [
    s.seq,
    a.dedupKey,
    a.channel,
    a.attempt,
    ts(a.at),
    a.durationMs,
    s.result,
    a.count,
    a.statusCode,
    s.error,
  ];
  const record = `INSERT INTO ${names.qualifiedAlarmAttempts}
      (alarm_seq, dedup_key, channel, attempt, at, duration_ms, result, count, status_code, error)
      VALUES ($1::bigint, $2, $3, $4::integer, $5::timestamptz, $6::integer, $7::text, $8::integer, $9::integer, $10::text)`;
  if (s.result === 'failed') {
    values.push(s.lease, ts(s.nextAttemptAt as number));
    return {
      text: `WITH recorded AS (${record}), settled AS (
          UPDATE ${alarms} SET attempts = attempts + 1, lease_until = NULL, lease_owner = NULL,
            last_error = coalesce($10::text, last_error), next_attempt_at = $12::timestamptz
          WHERE seq = $1::bigint AND status = 'pending' AND lease_owner = $11::text
          RETURNING seq)
        SELECT count(*)::int FROM settled`,
      values,
    };
  }
  // A delivery is recorded even when the lease was lost: sending it again would only repeat it.
  let leaseCheck = '';
  if (s.result === 'dead') {
    values.push(s.lease);
    leaseCheck = ' AND lease_owner = $11::text';
  }
  return {
    text: `WITH recorded AS (${record}), settled AS (
        UPDATE ${alarms} SET status = $7::text, attempts = attempts + 1, lease_until = NULL,
          lease_owner = NULL, settled_at = $5::timestamptz, next_attempt_at = NULL,
          last_error = coalesce($10::text, last_error),
          delivered_with = CASE WHEN $7::text = 'delivered' AND group_head IS NOT NULL THEN seq END
        WHERE seq = $1::bigint AND status = 'pending'${leaseCheck}
        RETURNING seq),
      members AS (
        UPDATE ${alarms} SET status = $7::text, settled_at = $5::timestamptz,
          next_attempt_at = NULL,
          last_error = CASE WHEN $7::text = 'dead' THEN coalesce($10::text, last_error) ELSE last_error END,
          delivered_with = CASE WHEN $7::text = 'delivered' THEN $1::bigint END
        WHERE group_head = $1::bigint AND seq <> $1::bigint AND status = 'pending'
          AND EXISTS (SELECT 1 FROM settled))
      SELECT count(*)::int FROM settled`,
    values,
  };
}

/** A WHERE clause (or nothing) with `$n` placeholders for the given column equalities. */
function whereEqual(
  equalities: readonly AlarmColumnEquality[],
  alias: string,
): { filter: string; values: unknown[] } {
  if (equalities.length === 0) return { filter: '', values: [] };
  return {
    filter: ` WHERE ${equalities.map(([column], i) => `${alias}${column} = $${i + 1}`).join(' AND ')}`,
    values: equalities.map(([, value]) => value),
  };
}
