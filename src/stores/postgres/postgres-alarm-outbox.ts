import type {
  AlarmAttempt,
  AlarmAttemptQuery,
  AlarmClaim,
  AlarmClaimRequest,
  AlarmListQuery,
  AlarmOutboxStats,
  StoredAlarm,
} from '../../alarms/alarm-outbox';
import { alarmAttemptOf, storedAlarmOf, type AlarmColumns, type AlarmRow } from '../alarm-columns';
import {
  byClaimOrder,
  excludedChannelsOf,
  newLeaseToken,
  SEVERITY_RANK_SQL,
  type SettlementColumns,
} from '../alarm-leases';
import {
  normalizeAlarmAttemptQuery,
  alarmAttemptEqualities,
  alarmListEqualities,
  normalizeAlarmListQuery,
  type AlarmColumnEquality,
} from '../alarm-queries';
import type { PostgresNames } from './postgres-names';
import type { PostgresStatement } from './postgres-query';
import type { PostgresSql } from './postgres-session';
import { toPostgresTimestamp } from './postgres-timestamp';

/**
 * Rows per alarm INSERT: 10 parameters each, so an insert of events (11 per row, at most 1000
 * rows) and one of alarms fit together in one statement under the protocol's 65535 limit.
 */
export const MAX_ALARMS_PER_INSERT = 1000;

/** A timestamptz column as epoch milliseconds (float8, which pg returns as a number). */
const ms = (column: string) => `(extract(epoch FROM ${column}) * 1000)::float8`;

/** The columns of an {@link AlarmRow}, in its field order, prefixed by `alias.`. */
function rowColumns(alias: string): string {
  const c = (name: string) => `${alias}.${name}`;
  return [
    `${c('seq')}::float8`,
    c('dedup_key'),
    c('rule'),
    c('channel'),
    c('kind'),
    c('severity'),
    c('digest_key'),
    `${c('throttle_ms')}::float8`,
    c('event_id'),
    ms(c('created_at')),
    `${c('message')}::text`,
    c('status'),
    c('attempts'),
    ms(c('next_attempt_at')),
    ms(c('lease_until')),
    c('lease_owner'),
    ms(c('settled_at')),
    c('last_error'),
    `${c('group_head')}::float8`,
    `${c('delivered_with')}::float8`,
  ].join(', ');
}

const ROW_FIELDS = [
  'seq',
  'dedupKey',
  'rule',
  'channel',
  'kind',
  'severity',
  'digestKey',
  'throttleMs',
  'eventId',
  'createdAt',
  'message',
  'status',
  'attempts',
  'nextAttemptAt',
  'leaseUntil',
  'leaseOwner',
  'settledAt',
  'lastError',
  'groupHead',
  'deliveredWith',
] as const;

/** Reads a row of {@link rowColumns} (array mode) starting at column `from`. */
function alarmRowAt(values: readonly unknown[], from = 0): AlarmRow {
  const row: Record<string, unknown> = {};
  ROW_FIELDS.forEach((field, i) => {
    row[field] = values[from + i] ?? null;
  });
  return row as unknown as AlarmRow;
}

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
    insert(rows, events) {
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
    },

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

    settle(s) {
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
    },
  };
}

/** Reads the rows of {@link PostgresAlarmStatements.list}. */
export function storedAlarmsOf(rows: readonly unknown[][]): StoredAlarm[] {
  return rows.map((row) => storedAlarmOf(alarmRowAt(row)));
}

/** Reads the rows of {@link PostgresAlarmStatements.listAttempts}. */
export function alarmAttemptsOf(rows: readonly unknown[][]): AlarmAttempt[] {
  return rows.map(
    ([alarmSeq, dedupKey, channel, attempt, at, durationMs, result, count, statusCode, error]) =>
      alarmAttemptOf({
        alarmSeq: alarmSeq as number,
        dedupKey: dedupKey as string,
        channel: channel as string,
        attempt: attempt as number,
        at: at as number,
        durationMs: durationMs as number,
        result: result as string,
        count: count as number,
        statusCode: (statusCode ?? null) as number | null,
        error: (error ?? null) as string | null,
      }),
  );
}

/** Reads the rows of {@link PostgresAlarmStatements.stats}. */
export function alarmStatsOf(rows: readonly unknown[][]): AlarmOutboxStats {
  const stats: AlarmOutboxStats = { pending: 0, delivered: 0, dead: 0 };
  for (const [status, count, oldest] of rows) {
    if (status !== 'pending' && status !== 'delivered' && status !== 'dead') continue;
    stats[status] = count as number;
    if (status === 'pending' && typeof oldest === 'number') {
      stats.oldestPendingAt = new Date(oldest).toISOString();
    }
  }
  return stats;
}

/**
 * The claim of `AuditStore.claimAlarms`, run inside one transaction:
 * 1. digest keys with a due entry in no group yet (of a channel not excluded) have their period
 *    row locked with
 *    `FOR UPDATE SKIP LOCKED` (a key another instance is grouping right now is left to it);
 *    keys whose period is over group their waiting entries behind the oldest, the others have
 *    them postponed to the end of the period;
 * 2. due single entries and digest heads are picked with `FOR UPDATE SKIP LOCKED` and leased
 *    in the same statement, so two instances never lease the same message;
 * 3. the oldest members and the size of each leased digest group are read.
 */
export async function claimPostgresAlarms(
  sql: PostgresSql,
  names: PostgresNames,
  request: AlarmClaimRequest,
): Promise<AlarmClaim[]> {
  const alarms = names.qualifiedAlarms;
  const digests = names.qualifiedAlarmDigests;
  const now = ts(request.now);
  const excluded = excludedChannelsOf(request);
  // One array parameter whatever the number of channels; an empty one excludes nothing.
  const keys = (
    await sql(
      `SELECT DISTINCT digest_key FROM ${alarms}
        WHERE next_attempt_at <= $1::timestamptz AND digest_key IS NOT NULL AND group_head IS NULL
          AND channel <> ALL($3::text[])
        LIMIT $2`,
      [now, request.limit, excluded],
    )
  )
    .map(([key]) => key as string)
    .sort();
  if (keys.length > 0) {
    // Sorted: two instances creating period rows for the same new keys wait in the same order.
    await sql(
      `INSERT INTO ${digests} (digest_key, open_at)
        SELECT key, '-infinity' FROM unnest($1::text[]) AS key ORDER BY key
        ON CONFLICT (digest_key) DO NOTHING`,
      [keys],
    );
    const locked = await sql(
      `SELECT digest_key, open_at > $2::timestamptz FROM ${digests}
        WHERE digest_key = ANY($1::text[]) ORDER BY digest_key FOR UPDATE SKIP LOCKED`,
      [keys, now],
    );
    const open = locked.filter(([, closed]) => closed !== true).map(([key]) => key as string);
    const closed = locked.filter(([, isClosed]) => isClosed === true).map(([key]) => key as string);
    if (closed.length > 0) {
      await sql(
        `UPDATE ${alarms} a SET next_attempt_at = d.open_at FROM ${digests} d
          WHERE d.digest_key = ANY($1::text[]) AND a.digest_key = d.digest_key
            AND a.digest_key IS NOT NULL AND a.group_head IS NULL AND a.next_attempt_at < d.open_at`,
        [closed],
      );
    }
    if (open.length > 0) {
      await sql(
        `WITH heads AS (
            SELECT DISTINCT ON (digest_key) digest_key, seq, throttle_ms FROM ${alarms}
            WHERE digest_key = ANY($1::text[]) AND digest_key IS NOT NULL AND group_head IS NULL
            ORDER BY digest_key, seq),
          grouped AS (
            UPDATE ${alarms} a SET group_head = h.seq,
              next_attempt_at = CASE WHEN a.seq = h.seq THEN $2::timestamptz END
            FROM heads h
            WHERE a.digest_key = h.digest_key AND a.digest_key IS NOT NULL AND a.group_head IS NULL)
          UPDATE ${digests} d SET open_at = $2::timestamptz + h.throttle_ms * interval '1 millisecond'
          FROM heads h WHERE d.digest_key = h.digest_key`,
        [open, now],
      );
    }
  }

  const lease = newLeaseToken(request.owner);
  const leased = await sql(
    `WITH picked AS (
        SELECT seq FROM ${alarms}
        WHERE next_attempt_at <= $1::timestamptz
          AND (lease_until IS NULL OR lease_until <= $1::timestamptz)
          AND (digest_key IS NULL OR group_head = seq)
          AND channel <> ALL($5::text[])
        ORDER BY ${SEVERITY_RANK_SQL}, next_attempt_at, seq LIMIT $2
        FOR UPDATE SKIP LOCKED)
      UPDATE ${alarms} a SET lease_until = $3::timestamptz, lease_owner = $4
      FROM picked WHERE a.seq = picked.seq
      RETURNING ${rowColumns('a')}`,
    [now, request.limit, ts(request.now + request.leaseMs), lease, excluded],
  );
  const rows = leased.map((values) => alarmRowAt(values)).sort(byClaimOrder);

  const heads = rows.filter((row) => row.digestKey !== null).map((row) => row.seq);
  const groups = new Map<number, { count: number; members: StoredAlarm[] }>();
  if (heads.length > 0) {
    const memberRows = await sql(
      `SELECT h.head::float8, c.n::float8, ${rowColumns('m')}
        FROM unnest($1::bigint[]) AS h(head)
        CROSS JOIN LATERAL (SELECT count(*) FROM ${alarms} WHERE group_head = h.head) AS c(n)
        LEFT JOIN LATERAL (
          SELECT * FROM ${alarms} WHERE group_head = h.head ORDER BY seq LIMIT $2
        ) AS m ON true
        ORDER BY h.head, m.seq`,
      [heads, request.listSize],
    );
    for (const values of memberRows) {
      const head = values[0] as number;
      let group = groups.get(head);
      if (!group) {
        group = { count: values[1] as number, members: [] };
        groups.set(head, group);
      }
      if (values[2] !== null) group.members.push(storedAlarmOf(alarmRowAt(values, 2)));
    }
  }
  return rows.map((row) => {
    const group = groups.get(row.seq);
    return {
      alarm: storedAlarmOf(row),
      lease,
      members: group?.members ?? [],
      count: group?.count ?? 1,
    };
  });
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
