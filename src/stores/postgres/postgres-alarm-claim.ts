import type { AlarmClaim, AlarmClaimRequest, StoredAlarm } from '../alarm-outbox-model';
import { storedAlarmOf, type AlarmRow } from '../alarm-columns';
import {
  byClaimOrder,
  excludedChannelsOf,
  newLeaseToken,
  SEVERITY_RANK_SQL,
} from '../alarm-leases';
import { alarmRowAt, rowColumns } from './postgres-alarm-rows';
import type { PostgresNames } from './postgres-names';
import type { PostgresSql } from './postgres-session';
import { toPostgresTimestamp } from './postgres-timestamp';

/** The members listed with a leased digest head, and the size of its whole group. */
interface DigestGroup {
  count: number;
  members: StoredAlarm[];
}

/**
 * The claim of `AlarmOutbox.claim`, run inside one transaction:
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
  const now = toPostgresTimestamp(request.now);
  const excluded = excludedChannelsOf(request);
  const keys = await dueDigestKeys(sql, names, now, request.limit, excluded);
  if (keys.length > 0) await groupDigests(sql, names, keys, now);

  const lease = newLeaseToken(request.owner);
  const rows = await leaseDue(sql, names, request, now, lease, excluded);
  const heads = rows.filter((row) => row.digestKey !== null).map((row) => row.seq);
  const groups =
    heads.length > 0
      ? await digestGroupsOf(sql, names, heads, request.listSize)
      : new Map<number, DigestGroup>();
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

/** Digest keys with a due entry in no group yet, of a channel not excluded, sorted. */
async function dueDigestKeys(
  sql: PostgresSql,
  names: PostgresNames,
  now: string,
  limit: number,
  excluded: readonly string[],
): Promise<string[]> {
  // One array parameter whatever the number of channels; an empty one excludes nothing.
  const rows = await sql(
    `SELECT DISTINCT digest_key FROM ${names.qualifiedAlarms}
      WHERE next_attempt_at <= $1::timestamptz AND digest_key IS NOT NULL AND group_head IS NULL
        AND channel <> ALL($3::text[])
      LIMIT $2`,
    [now, limit, excluded],
  );
  return rows.map(([key]) => key as string).sort();
}

/**
 * Step 1 of the claim: locks the period rows of `keys` (skipping those another instance holds),
 * postpones the waiting entries of keys whose period is still running, and groups those of the
 * others behind their oldest entry.
 */
async function groupDigests(
  sql: PostgresSql,
  names: PostgresNames,
  keys: readonly string[],
  now: string,
): Promise<void> {
  const alarms = names.qualifiedAlarms;
  const digests = names.qualifiedAlarmDigests;
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

/** Step 2 of the claim: picks and leases the due single entries and digest heads, in claim order. */
async function leaseDue(
  sql: PostgresSql,
  names: PostgresNames,
  request: AlarmClaimRequest,
  now: string,
  lease: string,
  excluded: readonly string[],
): Promise<AlarmRow[]> {
  const alarms = names.qualifiedAlarms;
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
    [now, request.limit, toPostgresTimestamp(request.now + request.leaseMs), lease, excluded],
  );
  return leased.map((values) => alarmRowAt(values)).sort(byClaimOrder);
}

/** Step 3 of the claim: the oldest members and the size of each leased digest group. */
async function digestGroupsOf(
  sql: PostgresSql,
  names: PostgresNames,
  heads: readonly number[],
  listSize: number,
): Promise<Map<number, DigestGroup>> {
  const alarms = names.qualifiedAlarms;
  const memberRows = await sql(
    `SELECT h.head::float8, c.n::float8, ${rowColumns('m')}
      FROM unnest($1::bigint[]) AS h(head)
      CROSS JOIN LATERAL (SELECT count(*) FROM ${alarms} WHERE group_head = h.head) AS c(n)
      LEFT JOIN LATERAL (
        SELECT * FROM ${alarms} WHERE group_head = h.head ORDER BY seq LIMIT $2
      ) AS m ON true
      ORDER BY h.head, m.seq`,
    [heads, listSize],
  );
  const groups = new Map<number, DigestGroup>();
  for (const values of memberRows) {
    const head = values[0] as number;
    let group = groups.get(head);
    if (!group) {
      group = { count: values[1] as number, members: [] };
      groups.set(head, group);
    }
    if (values[2] !== null) group.members.push(storedAlarmOf(alarmRowAt(values, 2)));
  }
  return groups;
}
