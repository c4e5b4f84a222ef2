import { CANONICAL_FORMAT } from '../../integrity/canonical';
import { CHAIN_HASH_BYTES } from '../../integrity/chain-link';
import { eventColumnsFrom } from '../../event/event-columns';
import type { ChainHead, ChainRow, UnchainedEvent } from '../../integrity/chain-source';
import type { PostgresNames } from './postgres-names';
import type { PostgresStatement } from './postgres-query';
import type { PostgresSql } from './postgres-session';
import { AuditStoreError } from '../../common/audit-store.error';

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
  return {
    position: seq,
    seq,
    hash,
    format,
    payload: payload ?? '',
    canonical: false,
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
 * Links events given as stored JSON text after `previous`: their hashes end to end, 32 bytes
 * each (see `ChainHasher.link`).
 */
export type LinkStoredEvents = (
  previous: Uint8Array | null,
  payloads: readonly string[],
) => Uint8Array | Promise<Uint8Array>;

/**
 * Chains up to `limit` queued events, oldest first, in the caller's transaction: takes the
 * head's row lock (so concurrent seals, in this process or another, run one after the other),
 * links each event to the one before (through `link`) and moves the head.
 * @returns how many events were chained (fewer than `limit`: the queue is empty)
 */
export async function sealQueued(
  sql: PostgresSql,
  names: PostgresNames,
  limit: number,
  link: LinkStoredEvents,
): Promise<number> {
  const c = postgresChainNames(names);
  const [head] = await sql(`SELECT seq::float8, hash FROM ${c.head} FOR UPDATE`, []);
  if (head === undefined)
    throw new AuditStoreError(
      `the chain head ${c.head} has no row: restore it from the last row of ${c.chain}`,
    );
  // Read after the lock: a seal that held it before has taken its events out of the queue.
  // The oldest page of the queue is taken first, through its index, and then each event by its
  // key: joined the other way, stale statistics of a queue full of dead rows once made the
  // planner hash the whole events table for every seal (0.6 s per 1,000 events at 300k).
  const queued = await sql(
    `SELECT u.event_id, e.payload::text
      FROM (SELECT event_id, ts FROM ${c.unsealed} ORDER BY ts, event_id LIMIT $1) u
      JOIN ${names.qualifiedTable} e ON e.id = u.event_id AND e.ts = u.ts
      ORDER BY u.ts, u.event_id`,
    [limit],
  );
  if (queued.length === 0) return 0;
  const hashes = await link(
    head[1] as Uint8Array | null,
    queued.map((row) => row[1] as string),
  );
  // One statement takes the events out of the queue, chains them and moves the head. The hashes
  // travel as one bytea (end to end, in order): far cheaper to send than an array of them.
  const [[chained]] = (await sql(
    `WITH sealed AS (
        DELETE FROM ${c.unsealed} WHERE event_id = ANY($2::text[]) RETURNING event_id, ts
      ), moved AS (
        UPDATE ${c.head} SET seq = $1::bigint + cardinality($2::text[]), hash = $4
      ), linked AS (
        INSERT INTO ${c.chain} (seq, event_id, ts, hash, format)
        SELECT $1::bigint + q.n, q.id, s.ts,
          substring($3::bytea FROM ((q.n - 1) * ${CHAIN_HASH_BYTES} + 1)::int FOR ${CHAIN_HASH_BYTES}),
          ${CANONICAL_FORMAT}
        FROM unnest($2::text[]) WITH ORDINALITY AS q(id, n) JOIN sealed s ON s.event_id = q.id
        RETURNING 1
      )
      SELECT count(*)::int FROM linked`,
    [
      head[0],
      queued.map((row) => row[0]),
      hashes,
      hashes.subarray(hashes.length - CHAIN_HASH_BYTES),
    ],
  )) as [[number]];
  if (chained !== queued.length) {
    // Only a seal, holding the head's lock, takes events out of the queue: this cannot happen
    // unless someone else edits it. Rolled back, so no sequence number is skipped.
    throw new AuditStoreError(
      `the seal queued ${queued.length} events but ${c.unsealed} held ${chained} of them`,
    );
  }
  return queued.length;
}
