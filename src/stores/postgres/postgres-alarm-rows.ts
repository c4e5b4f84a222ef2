import type { AlarmAttempt, AlarmOutboxStats, StoredAlarm } from '../alarm-outbox-model';
import { alarmAttemptOf, storedAlarmOf, type AlarmRow } from '../alarm-columns';

/*
 * The rows the alarm outbox's statements read, and their reading back into the public shapes.
 */

/** A timestamptz column as epoch milliseconds (float8, which pg returns as a number). */
export const ms = (column: string) => `(extract(epoch FROM ${column}) * 1000)::float8`;

/** The columns of an {@link AlarmRow}, in its field order, prefixed by `alias.`. */
export function rowColumns(alias: string): string {
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

/** The fields of an {@link AlarmRow}, in the order of {@link rowColumns}. */
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
export function alarmRowAt(values: readonly unknown[], from = 0): AlarmRow {
  const row: Record<string, unknown> = {};
  ROW_FIELDS.forEach((field, i) => {
    row[field] = values[from + i] ?? null;
  });
  return row as unknown as AlarmRow;
}

/** Reads the rows of `PostgresAlarmStatements.list`. */
export function storedAlarmsOf(rows: readonly unknown[][]): StoredAlarm[] {
  return rows.map((row) => storedAlarmOf(alarmRowAt(row)));
}

/** Reads the rows of `PostgresAlarmStatements.listAttempts`. */
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

/** Reads the rows of `PostgresAlarmStatements.stats`. */
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
