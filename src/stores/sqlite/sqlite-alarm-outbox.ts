import type {
  AlarmAttempt,
  AlarmAttemptQuery,
  AlarmClaim,
  AlarmClaimRequest,
  AlarmListQuery,
  AlarmOutboxStats,
  AlarmSettlement,
  StoredAlarm,
} from '../alarm-outbox-model';
import {
  alarmAttemptOf,
  storedAlarmOf,
  type AlarmAttemptRow,
  type AlarmColumns,
  type AlarmRow,
} from '../alarm-columns';
import {
  byClaimOrder,
  checkClaimRequest,
  excludedChannelsOf,
  newLeaseToken,
  SEVERITY_RANK_SQL,
  toSettlementColumns,
  type SettlementColumns,
} from '../alarm-leases';
import {
  normalizeAlarmAttemptQuery,
  alarmAttemptEqualities,
  alarmListEqualities,
  normalizeAlarmListQuery,
  type AlarmColumnEquality,
} from '../alarm-queries';
import {
  prepareStatement,
  type SqliteDatabase,
  type SqliteStatement,
  type SqliteTransaction,
  type SqliteValue,
} from './sqlite-driver';

/** Columns of `audit_alarms` named as {@link AlarmRow} fields. */
const ROW = `seq, dedup_key AS dedupKey, rule, channel, kind, severity, digest_key AS digestKey,
  throttle_ms AS throttleMs, event_id AS eventId, created_at AS createdAt, message, status, attempts,
  next_attempt_at AS nextAttemptAt, lease_until AS leaseUntil, lease_owner AS leaseOwner,
  settled_at AS settledAt, last_error AS lastError, group_head AS groupHead,
  delivered_with AS deliveredWith`;

const ATTEMPT_ROW = `alarm_seq AS alarmSeq, dedup_key AS dedupKey, channel, attempt, at,
  duration_ms AS durationMs, result, count, status_code AS statusCode, error`;

/** Inserts one entry; a dedup key already stored is skipped (idempotent retries). */
export const SQLITE_ALARM_INSERT_SQL = `INSERT INTO audit_alarms
  (dedup_key, rule, channel, kind, severity, digest_key, throttle_ms, event_id, created_at, message, next_attempt_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (dedup_key) DO NOTHING`;

/**
 * The condition of claims with `excludeChannels`; its one parameter is the channels as a JSON
 * array, so a single cached statement serves any number of them.
 */
const NOT_EXCLUDED = 'AND channel NOT IN (SELECT value FROM json_each(?))';

const anyDueSql = (excluding = '') => `SELECT 1 FROM audit_alarms
  WHERE next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?) ${excluding} LIMIT 1`;

const waitingKeysSql = (excluding = '') => `SELECT DISTINCT digest_key FROM audit_alarms
  WHERE next_attempt_at <= ? AND digest_key IS NOT NULL AND group_head IS NULL ${excluding} LIMIT ?`;

// The unary + keeps SQLite from searching the due index by time and then sorting every due
// entry by severity: it walks the claim index (severity rank, due time) and stops at the limit.
const leaseSql = (excluding = '') => `UPDATE audit_alarms SET lease_until = ?, lease_owner = ?
  WHERE seq IN (
    SELECT seq FROM audit_alarms
    WHERE +next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
      AND (digest_key IS NULL OR group_head = seq) ${excluding}
    ORDER BY ${SEVERITY_RANK_SQL}, next_attempt_at, seq LIMIT ?)
  RETURNING ${ROW}`;

/** Whether anything may be claimable; read outside any transaction, so idle polls take no lock. */
export const SQLITE_ALARM_ANY_DUE_SQL = anyDueSql();
/** {@link SQLITE_ALARM_ANY_DUE_SQL} leaving out the channels of a JSON array parameter. */
export const SQLITE_ALARM_ANY_DUE_EXCLUDING_SQL = anyDueSql(NOT_EXCLUDED);

/** Digest keys with a due entry that is in no group yet. */
export const SQLITE_ALARM_WAITING_KEYS_SQL = waitingKeysSql();
/** {@link SQLITE_ALARM_WAITING_KEYS_SQL} leaving out the channels of a JSON array parameter. */
export const SQLITE_ALARM_WAITING_KEYS_EXCLUDING_SQL = waitingKeysSql(NOT_EXCLUDED);

/** Leases the due messages: single entries and digest heads, most severe first, then oldest due. */
export const SQLITE_ALARM_LEASE_SQL = leaseSql();
/** {@link SQLITE_ALARM_LEASE_SQL} leaving out the channels of a JSON array parameter. */
export const SQLITE_ALARM_LEASE_EXCLUDING_SQL = leaseSql(NOT_EXCLUDED);

/** The oldest members of one digest group. */
export const SQLITE_ALARM_MEMBERS_SQL = `SELECT ${ROW} FROM audit_alarms WHERE group_head = ? ORDER BY seq LIMIT ?`;

/** The size of one digest group. */
export const SQLITE_ALARM_GROUP_SIZE_SQL = 'SELECT count(*) FROM audit_alarms WHERE group_head = ?';

/** The values of {@link SQLITE_ALARM_INSERT_SQL} for one entry. */
export function alarmRowOf(columns: AlarmColumns): SqliteValue[] {
  return [
    columns.dedupKey,
    columns.rule,
    columns.channel,
    columns.kind,
    columns.severity,
    columns.digestKey,
    columns.throttleMs,
    columns.eventId,
    columns.createdAt,
    columns.message,
    columns.createdAt,
  ];
}

/**
 * The alarm outbox of the SQLite store, on the store's connection. Entries are inserted by the
 * store's append transaction ({@link SqliteAlarmOutbox.insert} runs inside it); claims and
 * settlements run in `BEGIN IMMEDIATE` transactions, which several processes sharing the file
 * take one at a time, so a lease is never handed out twice.
 */
export class SqliteAlarmOutbox {
  private readonly insertStatement: SqliteStatement;
  private readonly claimTransaction: SqliteTransaction<[AlarmClaimRequest], AlarmClaim[]>;
  private readonly settleTransaction: SqliteTransaction<[SettlementColumns[]], boolean[]>;
  /** Bounded: one statement per combination of list filters at most. */
  private readonly statements = new Map<string, SqliteStatement>();

  /** @param db an open connection whose schema is migrated. */
  constructor(private readonly db: SqliteDatabase) {
    this.insertStatement = prepareStatement(db, SQLITE_ALARM_INSERT_SQL);
    this.claimTransaction = db.transaction((request: AlarmClaimRequest) => this.claimNow(request));
    this.settleTransaction = db.transaction((all: SettlementColumns[]) =>
      all.map((s) => this.settleOne(s)),
    );
  }

  /** Inserts validated entries; call inside the append transaction. */
  insert(alarms: readonly AlarmColumns[]): void {
    for (const columns of alarms) this.insertStatement.run(...alarmRowOf(columns));
  }

  /** See `AlarmOutbox.claim`. */
  claim(request: AlarmClaimRequest): AlarmClaim[] {
    checkClaimRequest(request);
    const { now } = request;
    const excluded = excludedChannelsOf(request);
    // Leaving out the excluded channels here too keeps a claim that could only find them from
    // taking the write lock.
    const anyDue =
      excluded.length === 0
        ? this.statement(SQLITE_ALARM_ANY_DUE_SQL).get(now, now)
        : this.statement(SQLITE_ALARM_ANY_DUE_EXCLUDING_SQL).get(
            now,
            now,
            JSON.stringify(excluded),
          );
    if (anyDue === undefined) return [];
    return this.claimTransaction.immediate(request);
  }

  /** See `AlarmOutbox.settle`. */
  settle(settlements: readonly AlarmSettlement[]): boolean[] {
    const all = settlements.map(toSettlementColumns);
    if (all.length === 0) return [];
    return this.settleTransaction.immediate(all);
  }

  /** See `AlarmOutbox.list`. */
  list(query?: AlarmListQuery): StoredAlarm[] {
    const q = normalizeAlarmListQuery(query);
    const { filter, params } = whereEqual(alarmListEqualities(q));
    const sql = `SELECT ${ROW} FROM audit_alarms${filter} ORDER BY seq DESC LIMIT ?`;
    return (this.statement(sql).all(...params, q.limit) as AlarmRow[]).map(storedAlarmOf);
  }

  /** See `AlarmOutbox.listAttempts`. */
  listAttempts(query?: AlarmAttemptQuery): AlarmAttempt[] {
    const q = normalizeAlarmAttemptQuery(query);
    const { filter, params } = whereEqual(alarmAttemptEqualities(q));
    const sql = `SELECT ${ATTEMPT_ROW} FROM audit_alarm_attempts${filter} ORDER BY id DESC LIMIT ?`;
    return (this.statement(sql).all(...params, q.limit) as AlarmAttemptRow[]).map(alarmAttemptOf);
  }

  /** See `AlarmOutbox.stats`. */
  stats(): AlarmOutboxStats {
    const counts = this.statement(
      'SELECT status, count(*) AS n FROM audit_alarms GROUP BY status',
    ).all() as { status: string; n: number }[];
    const stats: AlarmOutboxStats = { pending: 0, delivered: 0, dead: 0 };
    for (const { status, n } of counts) {
      if (status === 'pending' || status === 'delivered' || status === 'dead') stats[status] = n;
    }
    const oldest = this.statement(
      "SELECT min(created_at) AS oldest FROM audit_alarms WHERE status = 'pending'",
    ).get() as { oldest: number | null };
    if (oldest.oldest !== null) stats.oldestPendingAt = new Date(oldest.oldest).toISOString();
    return stats;
  }

  private claimNow(request: AlarmClaimRequest): AlarmClaim[] {
    const { now, limit } = request;
    const excluded = excludedChannelsOf(request);
    const json = JSON.stringify(excluded);
    const keys = (
      excluded.length === 0
        ? this.statement(SQLITE_ALARM_WAITING_KEYS_SQL, 'pluck').all(now, limit)
        : this.statement(SQLITE_ALARM_WAITING_KEYS_EXCLUDING_SQL, 'pluck').all(now, json, limit)
    ) as string[];
    for (const key of keys) this.formGroup(key, now);

    const lease = newLeaseToken(request.owner);
    const leaseUntil = now + request.leaseMs;
    const rows = (
      excluded.length === 0
        ? this.statement(SQLITE_ALARM_LEASE_SQL).all(leaseUntil, lease, now, now, limit)
        : this.statement(SQLITE_ALARM_LEASE_EXCLUDING_SQL).all(
            leaseUntil,
            lease,
            now,
            now,
            json,
            limit,
          )
    ) as AlarmRow[];
    rows.sort(byClaimOrder);
    return rows.map((row) => {
      if (row.digestKey === null)
        return { alarm: storedAlarmOf(row), lease, members: [], count: 1 };
      const members = this.statement(SQLITE_ALARM_MEMBERS_SQL).all(
        row.seq,
        request.listSize,
      ) as AlarmRow[];
      const size = this.statement(SQLITE_ALARM_GROUP_SIZE_SQL, 'pluck').get(row.seq) as number;
      return { alarm: storedAlarmOf(row), lease, members: members.map(storedAlarmOf), count: size };
    });
  }

  /**
   * Groups every waiting entry of `key` behind its oldest one when the key's throttle period is
   * over, or postpones them to the end of the period.
   */
  private formGroup(key: string, now: number): void {
    const openAt = this.statement(
      'SELECT open_at FROM audit_alarm_digests WHERE digest_key = ?',
    ).get(key) as { open_at: number } | undefined;
    if (openAt !== undefined && openAt.open_at > now) {
      this.statement(
        `UPDATE audit_alarms SET next_attempt_at = ?
          WHERE digest_key = ? AND group_head IS NULL AND next_attempt_at < ?`,
      ).run(openAt.open_at, key, openAt.open_at);
      return;
    }
    const head = this.statement(
      `SELECT seq, throttle_ms AS throttleMs FROM audit_alarms
        WHERE digest_key = ? AND group_head IS NULL ORDER BY seq LIMIT 1`,
    ).get(key) as { seq: number; throttleMs: number } | undefined;
    if (head === undefined) return;
    this.statement(
      `UPDATE audit_alarms
        SET group_head = ?, next_attempt_at = CASE WHEN seq = ? THEN ? ELSE NULL END
        WHERE digest_key = ? AND group_head IS NULL`,
    ).run(head.seq, head.seq, now, key);
    this.statement(
      `INSERT INTO audit_alarm_digests (digest_key, open_at) VALUES (?, ?)
        ON CONFLICT (digest_key) DO UPDATE SET open_at = excluded.open_at`,
    ).run(key, now + head.throttleMs);
  }

  private settleOne(s: SettlementColumns): boolean {
    const a = s.attempt;
    this.statement(
      `INSERT INTO audit_alarm_attempts
        (alarm_seq, dedup_key, channel, attempt, at, duration_ms, result, count, status_code, error)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      s.seq,
      a.dedupKey,
      a.channel,
      a.attempt,
      a.at,
      a.durationMs,
      a.result,
      a.count,
      a.statusCode,
      a.error,
    );
    if (s.result === 'failed') {
      return (
        this.statement(
          `UPDATE audit_alarms SET attempts = attempts + 1, lease_until = NULL, lease_owner = NULL,
            last_error = coalesce(?, last_error), next_attempt_at = ?
            WHERE seq = ? AND status = 'pending' AND lease_owner = ?`,
        ).run(s.error, s.nextAttemptAt, s.seq, s.lease).changes > 0
      );
    }
    const settle = `UPDATE audit_alarms SET status = ?, attempts = attempts + 1, lease_until = NULL,
        lease_owner = NULL, settled_at = ?, next_attempt_at = NULL,
        last_error = coalesce(?, last_error),
        delivered_with = CASE WHEN ? = 'delivered' AND group_head IS NOT NULL THEN seq END
        WHERE seq = ? AND status = 'pending'`;
    const params = [s.result, s.at, s.error, s.result, s.seq];
    // A delivery is recorded even when the lease was lost: sending it again would only repeat it.
    const changed =
      s.result === 'delivered'
        ? this.statement(settle).run(...params).changes
        : this.statement(`${settle} AND lease_owner = ?`).run(...params, s.lease).changes;
    if (changed === 0) return false;
    this.statement(
      `UPDATE audit_alarms SET status = ?, settled_at = ?, next_attempt_at = NULL,
        last_error = CASE WHEN ? = 'dead' THEN coalesce(?, last_error) ELSE last_error END,
        delivered_with = CASE WHEN ? = 'delivered' THEN ? END
        WHERE group_head = ? AND seq <> ? AND status = 'pending'`,
    ).run(s.result, s.at, s.result, s.error, s.result, s.seq, s.seq, s.seq);
    return true;
  }

  /** A cached statement; `'pluck'` returns the first column of each row. */
  private statement(sql: string, mode: 'rows' | 'pluck' = 'rows'): SqliteStatement {
    const key = `${mode}:${sql}`;
    let statement = this.statements.get(key);
    if (statement === undefined) {
      statement = prepareStatement(this.db, sql);
      if (mode === 'pluck') statement.pluck();
      this.statements.set(key, statement);
    }
    return statement;
  }
}

/** A WHERE clause (or nothing) with `?` placeholders for the given column equalities. */
function whereEqual(equalities: readonly AlarmColumnEquality[]): {
  filter: string;
  params: SqliteValue[];
} {
  if (equalities.length === 0) return { filter: '', params: [] };
  return {
    filter: ` WHERE ${equalities.map(([column]) => `${column} = ?`).join(' AND ')}`,
    params: equalities.map(([, value]) => value),
  };
}
