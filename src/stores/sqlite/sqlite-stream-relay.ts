/*
 * The relay backlog of the SQLite store: the events an application's transaction appended
 * (atomic mode) whose ECS lines the application has not yet confirmed written. A crash between
 * that commit and the line leaves the row here, and a later sweep writes the line from the
 * stored event.
 */

/** Adds one event to the backlog: its id, and when (epoch milliseconds) it was appended. */
export const SQLITE_RELAY_INSERT_SQL = `INSERT INTO audit_stream_relay (event_id, since)
  VALUES (?, ?) ON CONFLICT (event_id) DO NOTHING`;

/** Payloads of backlog events appended at or before a time, oldest first, up to a limit. */
export const SQLITE_RELAY_UNSTREAMED_SQL = `SELECT p.payload FROM audit_stream_relay r
  JOIN audit_events e ON e.id = r.event_id
  JOIN audit_payloads p ON p.event = e.rowid
  WHERE r.since <= ? ORDER BY r.since, r.event_id LIMIT ?`;

/** Removes the events named in a JSON array of ids from the backlog. */
export const SQLITE_RELAY_DELETE_SQL = `DELETE FROM audit_stream_relay
  WHERE event_id IN (SELECT value FROM json_each(?))`;
