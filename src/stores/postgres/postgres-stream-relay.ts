import type { PostgresNames } from './postgres-names';
import type { PostgresStatement } from './postgres-query';

/**
 * The statements of the relay backlog (`<table>_relay`): the events an application's transaction
 * appended (atomic mode) whose ECS lines the application has not yet confirmed written. A crash
 * between that commit and the line leaves the row there, and a later sweep writes the line from
 * the stored event.
 */
export interface PostgresRelayStatements {
  /** Adds events to the backlog, in the transaction that appends them. */
  insert(ids: readonly string[]): PostgresStatement;
  /** Payloads of backlog events older than `olderThanMs`, oldest first, up to `limit`. */
  unstreamed(olderThanMs: number, limit: number): PostgresStatement;
  /** Takes events out of the backlog. */
  markStreamed(ids: readonly string[]): PostgresStatement;
}

/** Builds the relay statements of the table named by `names`. */
export function postgresRelayStatements(names: PostgresNames): PostgresRelayStatements {
  const relay = names.qualifiedRelay;
  const insertSql = `INSERT INTO ${relay} (event_id) SELECT unnest($1::text[])
    ON CONFLICT (event_id) DO NOTHING`;
  // `since` is the appending transaction's start: a sweep leaves alone what a running instance
  // is about to confirm, and takes over what a crashed one left.
  const unstreamedSql = `SELECT e.payload::text FROM ${relay} r
    JOIN ${names.qualifiedTable} e ON e.id = r.event_id
    WHERE r.since <= now() - make_interval(secs => $1::double precision / 1000)
    ORDER BY r.since, r.event_id LIMIT $2`;
  const deleteSql = `DELETE FROM ${relay} WHERE event_id = ANY($1::text[])`;
  return {
    insert: (ids) => ({ text: insertSql, values: [ids] }),
    unstreamed: (olderThanMs, limit) => ({ text: unstreamedSql, values: [olderThanMs, limit] }),
    markStreamed: (ids) => ({ text: deleteSql, values: [ids] }),
  };
}
