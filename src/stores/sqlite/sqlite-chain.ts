import { canonicalEventJson, CANONICAL_FORMAT } from '../../integrity/canonical';
import { chainLink } from '../../integrity/chain-link';
import type { ChainRow } from '../../integrity/chain-source';
import { eventColumnsFrom } from '../../event/event-columns';
import { prepareStatement, type SqliteDatabase } from './sqlite-driver';
import { AuditStoreError } from '../../common/audit-store.error';

/*
 * The hash chain of the SQLite store. Each payload row carries its event's place in the chain:
 * `seq` (1, 2, 3, … with no gap), `hash` (SHA-256 of the previous hash and the payload, which is
 * the event's canonical JSON) and `format` (the canonical form's version). The link is made by
 * the INSERT itself, through a SQL function the connection registers, so that every way an
 * event is stored (the store's own transactions, in its worker or on the application's thread,
 * and the statements an application runs in its own transaction) chains it under the same
 * write lock that orders the inserts: two processes on one file can never take the same `seq`.
 */

/** Name of the SQL function that computes a link: `(previous hash or NULL, canonical JSON)`. */
export const SQLITE_CHAIN_LINK_FUNCTION = 'nestjs_audit_chain_link';

/** The chain's head: the payload row with the highest `seq`, found through its unique index. */
const HEAD = `(SELECT seq, hash FROM audit_payloads WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1)`;

/**
 * Inserts a payload chained after the head. Values: the event's rowid, then its canonical JSON
 * twice (stored, and linked).
 */
export const SQLITE_INSERT_CHAINED_PAYLOAD_SQL = `INSERT INTO audit_payloads (event, payload, seq, hash, format)
  SELECT ?, ?, coalesce(h.seq, 0) + 1, ${SQLITE_CHAIN_LINK_FUNCTION}(h.hash, ?), ${CANONICAL_FORMAT}
  FROM (SELECT NULL) LEFT JOIN ${HEAD} h`;

/**
 * Inserts the payload of the event with an id unless it has one, chained after the head: the
 * statement an application's own transaction runs, which cannot hand the event's rowid over.
 * Values: the canonical JSON twice (stored, and linked), then the event's id.
 */
export const SQLITE_INSERT_CHAINED_PAYLOAD_BY_ID_SQL = `INSERT INTO audit_payloads (event, payload, seq, hash, format)
  SELECT e.rowid, ?, coalesce(h.seq, 0) + 1, ${SQLITE_CHAIN_LINK_FUNCTION}(h.hash, ?), ${CANONICAL_FORMAT}
  FROM audit_events e LEFT JOIN ${HEAD} h
  WHERE e.id = ?
  ON CONFLICT (event) DO NOTHING`;

/** Chain rows in storage order after a payload rowid, with their event's indexed columns. */
export const SQLITE_CHAIN_ROWS_SQL = `SELECT p.event, p.seq, p.hash, p.format, p.payload, e.rowid,
    e.id, e.ts, e.action, e.outcome, e.actor_id, e.resource_type, e.resource_id, e.request_id,
    e.tenant, e.schema_version
  FROM audit_payloads p LEFT JOIN audit_events e ON e.rowid = p.event
  WHERE p.event > ? ORDER BY p.event LIMIT ?`;

/** Where the chain row with a given `seq` is stored, and its hash. */
export const SQLITE_CHAIN_AT_SQL = 'SELECT event, hash FROM audit_payloads WHERE seq = ?';

/** The head: highest `seq` and its hash. */
export const SQLITE_CHAIN_HEAD_SQL = `SELECT seq, hash FROM ${HEAD}`;

/** Event rows without a payload (so outside the chain), in storage order. */
export const SQLITE_UNCHAINED_EVENTS_SQL = `SELECT e.rowid, e.id FROM audit_events e
  WHERE NOT EXISTS (SELECT 1 FROM audit_payloads p WHERE p.event = e.rowid)
  ORDER BY e.rowid LIMIT ?`;

/** One row of {@link SQLITE_CHAIN_ROWS_SQL}, as `raw()` returns it. */
export type SqliteChainRecord = [
  position: number,
  seq: number | null,
  hash: Uint8Array | null,
  format: number | null,
  payload: string,
  eventRowid: number | null,
  id: string,
  ts: number,
  action: string,
  outcome: string,
  actorId: string | null,
  resourceType: string | null,
  resourceId: string | null,
  requestId: string | null,
  tenant: string | null,
  schemaVersion: number,
];

/** A record of {@link SQLITE_CHAIN_ROWS_SQL} as the verifier reads it. */
export function chainRowOf(record: SqliteChainRecord): ChainRow {
  const [position, seq, hash, format, payload, eventRowid] = record;
  return {
    position,
    seq,
    hash,
    format,
    payload,
    canonical: true,
    columns: eventRowid === null ? null : eventColumnsFrom(record, 6),
  };
}

/** Registers {@link SQLITE_CHAIN_LINK_FUNCTION} on a connection (idempotent). */
export function registerChainFunction(db: SqliteDatabase): void {
  db.function(
    SQLITE_CHAIN_LINK_FUNCTION,
    { deterministic: true },
    (previous: unknown, payload: unknown) => {
      if (typeof payload !== 'string') {
        throw new AuditStoreError(`${SQLITE_CHAIN_LINK_FUNCTION}: the payload must be text`);
      }
      return chainLink(previous instanceof Uint8Array ? previous : null, payload);
    },
  );
}

/** Rows the migration canonicalises and chains per statement round. */
const MIGRATION_PAGE = 1_000;

/**
 * Schema step 5, run inside its transaction: adds the chain columns, rewrites each stored
 * payload in its canonical form and chains the events in storage order (the order they were
 * inserted), starting from the genesis; then makes the event tables append-only.
 */
export function migrateToChain(db: SqliteDatabase): void {
  db.exec(`
    ALTER TABLE audit_payloads ADD COLUMN seq INTEGER;
    ALTER TABLE audit_payloads ADD COLUMN hash BLOB;
    ALTER TABLE audit_payloads ADD COLUMN format INTEGER;
  `);
  const page = prepareStatement(
    db,
    'SELECT event, payload FROM audit_payloads WHERE event > ? ORDER BY event LIMIT ?',
  );
  const update = prepareStatement(
    db,
    'UPDATE audit_payloads SET payload = ?, seq = ?, hash = ?, format = ? WHERE event = ?',
  );
  let previous: Buffer | null = null;
  let seq = 0;
  let after = 0;
  for (;;) {
    const rows = page.raw().all(after, MIGRATION_PAGE) as [number, string][];
    if (rows.length === 0) break;
    for (const [event, payload] of rows) {
      const canonical = canonicalEventJson(payload);
      seq += 1;
      previous = chainLink(previous, canonical);
      update.run(canonical, seq, previous, CANONICAL_FORMAT, event);
      after = event;
    }
  }
  db.exec(`
    CREATE UNIQUE INDEX audit_payloads_seq ON audit_payloads (seq);
    ${appendOnlyTriggers('audit_events')}
    ${appendOnlyTriggers('audit_payloads')}
  `);
}

/** Triggers that refuse UPDATE and DELETE of a table's rows. */
function appendOnlyTriggers(table: string): string {
  return ['UPDATE', 'DELETE']
    .map(
      (
        verb,
      ) => `CREATE TRIGGER ${table}_append_only_${verb.toLowerCase()} BEFORE ${verb} ON ${table}
      BEGIN SELECT RAISE(ABORT, 'nestjs-audit: ${table} is append-only, ${verb} is refused (the trail is hash-chained; see "Proving the trail is intact" in the README)'); END;`,
    )
    .join('\n');
}
