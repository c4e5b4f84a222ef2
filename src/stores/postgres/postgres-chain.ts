import { canonicalize } from 'json-canonicalize';
import { canonicalEventJson, CANONICAL_FORMAT } from '../../integrity/canonical';
import { eventColumnsFrom } from '../event-columns';
import { chainLink } from '../../integrity/chain-link';
import type { ChainHead, ChainRow, UnchainedEvent } from '../../integrity/chain-source';
import type { PostgresNames } from './postgres-names';
import type { PostgresStatement } from './postgres-query';
import type { PostgresSql } from './postgres-session';

/*
 * The hash chain of the PostgreSQL store. Appends never wait for it: each append (the store's
 * own, or the statements an application runs in its own transaction) also queues its events in
 * `<table>_unsealed`, and a seal, after commit, takes the one-row chain head `FOR UPDATE` and
 * chains what is queued: `<table>_chain` gets each event's sequence number and SHA-256 link over
 * its canonical JSON (RFC 8785 of the stored payload, which `json` keeps as written and `jsonb`
 * reorders without changing its canonical form). Writers of unrelated rows never serialise on
 * the chain, and several instances seal one after the other, never taking one number twice.
 */

/** Names of the chain's tables. */
export interface PostgresChainNames {
  /** `"schema"."table_chain"`: one row per chained event. */
  chain: string;
  /** `"schema"."table_chain_head"`: the one row holding the last sequence number and hash. */
  head: string;
  /** `"schema"."table_unsealed"`: events committed and not chained yet. */
  unsealed: string;
  /** `"schema"."table_append_only"`: the trigger function refusing changes. */
  appendOnly: string;
}

/** Derives the chain's names from the store's. */
export function postgresChainNames(names: PostgresNames): PostgresChainNames {
  return {
    chain: names.qualified(`${names.table}_chain`),
    head: names.qualified(`${names.table}_chain_head`),
    unsealed: names.qualified(`${names.table}_unsealed`),
    appendOnly: names.qualified(`${names.table}_append_only`),
  };
}

/**
 * Schema step 5: the chain, its head and queue, every stored event queued (the first seal
 * chains them from the genesis, oldest first), and triggers that keep events and chain rows
 * append-only (UPDATE, DELETE and TRUNCATE refused).
 */
export function chainMigration(names: PostgresNames): string[] {
  const c = postgresChainNames(names);
  const refuse = (table: string, trigger: string) => [
    `CREATE TRIGGER ${trigger}_rows BEFORE UPDATE OR DELETE ON ${table}
      FOR EACH ROW EXECUTE FUNCTION ${c.appendOnly}()`,
    `CREATE TRIGGER ${trigger}_truncate BEFORE TRUNCATE ON ${table}
      FOR EACH STATEMENT EXECUTE FUNCTION ${c.appendOnly}()`,
  ];
  return [
    `CREATE TABLE ${c.chain} (
      seq bigint NOT NULL,
      event_id text COLLATE "C" NOT NULL,
      ts timestamptz NOT NULL,
      hash bytea NOT NULL,
      format smallint NOT NULL,
      CONSTRAINT ${names.object('chain_pkey')} PRIMARY KEY (seq),
      CONSTRAINT ${names.object('chain_event')} UNIQUE (event_id)
    )`,
    `CREATE TABLE ${c.head} (
      only_row boolean NOT NULL DEFAULT true CHECK (only_row),
      seq bigint NOT NULL,
      hash bytea,
      CONSTRAINT ${names.object('chain_head_pk')} PRIMARY KEY (only_row)
    )`,
    `INSERT INTO ${c.head} (seq, hash) VALUES (0, NULL)`,
    `CREATE TABLE ${c.unsealed} (
      event_id text COLLATE "C" NOT NULL,
      ts timestamptz NOT NULL,
      CONSTRAINT ${names.object('unsealed_pk')} PRIMARY KEY (event_id)
    )`,
    // A seal takes the oldest queued events: without this index it would sort the whole queue
    // each time (quadratic while a large table's events wait after the migration).
    `CREATE INDEX ${names.object('unsealed_ts')} ON ${c.unsealed} (ts, event_id)`,
    `INSERT INTO ${c.unsealed} (event_id, ts) SELECT id, ts FROM ${names.qualifiedTable}`,
    `CREATE FUNCTION ${c.appendOnly}() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        RAISE EXCEPTION 'nestjs-audit: % is append-only, % is refused (the trail is hash-chained; see "Proving the trail is intact" in the README)', TG_TABLE_NAME, TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END
    $fn$`,
    ...refuse(names.qualifiedTable, 'nestjs_audit_append_only'),
    ...refuse(c.chain, 'nestjs_audit_append_only'),
  ];
}

/** `INSERT … RETURNING id, ts` of events made into a statement that also queues them to seal. */
export function queueInserted(
  names: PostgresNames,
  insertReturning: string,
  then?: string,
): string {
  const queue = `INSERT INTO ${postgresChainNames(names).unsealed} (event_id, ts)
    SELECT id, ts FROM inserted_events ON CONFLICT (event_id) DO NOTHING`;
  return then === undefined
    ? `WITH inserted_events AS (${insertReturning}) ${queue}`
    : `WITH inserted_events AS (${insertReturning}), queued_events AS (${queue}) ${then}`;
}

/** The chain's statements for one table. */
export interface PostgresChainStatements {
  /** Chain rows after a sequence number, with their events (`position` is the sequence number). */
  rows(after: number, limit: number): PostgresStatement;
  /** The hash of one sequence number. */
  at(seq: number): PostgresStatement;
  /** The chain's head. */
  head(): PostgresStatement;
  /** Events neither chained nor queued. */
  unchained(limit: number): PostgresStatement;
}

/** Builds the chain statements of the table named by `names`. */
export function postgresChainStatements(names: PostgresNames): PostgresChainStatements {
  const c = postgresChainNames(names);
  // The page of chain rows is taken first, so that each of its events is one key lookup (joined
  // the other way, the planner may scan the whole events table for every page).
  const rowsSql = `SELECT c.seq::float8, c.hash, c.format, e.payload::text, e.id,
      (extract(epoch FROM e.ts) * 1000)::float8, e.action, e.outcome, e.actor_id, e.resource_type,
      e.resource_id, e.request_id, e.tenant, e.schema_version
    FROM (SELECT seq, event_id, ts, hash, format FROM ${c.chain}
      WHERE seq > $1 ORDER BY seq LIMIT $2) c
    LEFT JOIN ${names.qualifiedTable} e ON e.id = c.event_id AND e.ts = c.ts
    ORDER BY c.seq`;
  const unchainedSql = `SELECT e.id FROM ${names.qualifiedTable} e
    WHERE NOT EXISTS (SELECT 1 FROM ${c.chain} c WHERE c.event_id = e.id)
      AND NOT EXISTS (SELECT 1 FROM ${c.unsealed} u WHERE u.event_id = e.id)
    LIMIT $1`;
  return {
    rows: (after, limit) => ({ text: rowsSql, values: [after, limit] }),
    at: (seq) => ({ text: `SELECT hash FROM ${c.chain} WHERE seq = $1`, values: [seq] }),
    head: () => ({
      text: `SELECT seq::float8, hash FROM ${c.chain} ORDER BY seq DESC LIMIT 1`,
      values: [],
    }),
    unchained: (limit) => ({ text: unchainedSql, values: [limit] }),
  };
}

/** A row of {@link PostgresChainStatements.rows} as the verifier reads it. */
export function postgresChainRowOf(row: unknown[]): ChainRow {
  const [seq, hash, format, payload, id] = row as [
    number,
    Uint8Array,
    number,
    string | null,
    string | null,
  ];
  // Parsed once: for what the link covers (the canonical form of the stored JSON) and for the
  // verifier's check of the columns.
  const event: unknown = payload === null ? undefined : JSON.parse(payload);
  return {
    position: seq,
    seq,
    hash,
    format,
    payload: event === undefined ? '' : canonicalize(event),
    event,
    columns: id === null ? null : eventColumnsFrom(row, 4),
  };
}

/** The head as the verifier reads it. */
export function postgresChainHeadOf(rows: unknown[][]): ChainHead | undefined {
  const [row] = rows;
  return row === undefined ? undefined : { seq: row[0] as number, hash: row[1] as Uint8Array };
}

/** Events outside the chain as the verifier reads them. */
export function postgresUnchainedOf(rows: unknown[][]): UnchainedEvent[] {
  return rows.map((row, i) => ({ position: i, id: row[0] as string }));
}

/**
 * Chains up to `limit` queued events, oldest first, in the caller's transaction: takes the
 * head's row lock (so concurrent seals, in this process or another, run one after the other),
 * links each event to the one before and moves the head.
 * @returns how many events were chained (fewer than `limit`: the queue is empty)
 */
export async function sealQueued(
  sql: PostgresSql,
  names: PostgresNames,
  limit: number,
): Promise<number> {
  const c = postgresChainNames(names);
  const [head] = await sql(`SELECT seq::float8, hash FROM ${c.head} FOR UPDATE`, []);
  if (head === undefined)
    throw new Error(
      `the chain head ${c.head} has no row: restore it from the last row of ${c.chain}`,
    );
  // Read after the lock: a seal that held it before has taken its events out of the queue.
  const queued = await sql(
    `SELECT u.event_id, u.ts, e.payload::text FROM ${c.unsealed} u
      JOIN ${names.qualifiedTable} e ON e.id = u.event_id AND e.ts = u.ts
      ORDER BY u.ts, u.event_id LIMIT $1`,
    [limit],
  );
  if (queued.length === 0) return 0;
  let seq = head[0] as number;
  let hash = head[1] as Uint8Array | null;
  const seqs: number[] = [];
  const hashes: Buffer[] = [];
  for (const [, , payload] of queued) {
    hash = chainLink(hash, canonicalEventJson(payload as string));
    seq += 1;
    seqs.push(seq);
    hashes.push(hash as Buffer);
  }
  const ids = queued.map((row) => row[0]);
  await sql(
    `INSERT INTO ${c.chain} (seq, event_id, ts, hash, format)
      SELECT s, i, t, h, ${CANONICAL_FORMAT} FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::bytea[]) AS q(s, i, t, h)`,
    [seqs, ids, queued.map((row) => row[1]), hashes],
  );
  await sql(`DELETE FROM ${c.unsealed} WHERE event_id = ANY($1::text[])`, [ids]);
  await sql(`UPDATE ${c.head} SET seq = $1, hash = $2`, [seq, hash]);
  return queued.length;
}
