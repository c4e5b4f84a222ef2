import type { KeyObject } from 'node:crypto';
import type { AuditCheckpoint } from './checkpoint';
import { checkpointBreak, type CheckpointBreak } from './verify-checkpoints';
import { toEventColumns, type AuditEventColumns } from '../event/event-columns';
import { messageOf } from '../common/message-of';
import { quotedWhole } from '../common/option-checks';
import { canonicalJson, CANONICAL_FORMAT } from './canonical';
import { chainLink, sameHash } from './chain-link';
import type { AuditChainSource, ChainRow } from './chain-source';
import { AuditError } from '../common/audit-error';

/**
 * How a chain was found broken:
 * - `modified`: an event's stored bytes, hash or indexed columns are not what was chained;
 * - `deleted`: a sequence number is missing, or its event row is gone;
 * - `inserted`: a row that was never chained, or that does not belong between its neighbours;
 * - `reordered`: two events exchanged their places;
 * - with checkpoints: `cut-tail` (events after the store's head were removed), `fork` (the chain
 *   differs from a checkpoint: it was rewritten), `bad-signature` (a checkpoint does not match
 *   its signature, or is unsigned where keys were given), `unknown-key` (signed by a key not
 *   given).
 */
export type ChainBreakKind =
  'modified' | 'deleted' | 'inserted' | 'reordered' | CheckpointBreak['kind'];

/** The first place where the chain does not hold. */
export interface ChainBreak {
  /** What was done to the trail, as far as the chain tells. */
  kind: ChainBreakKind;
  /** The first bad sequence number, when the break has one. */
  seq?: number;
  /** The event concerned, when known. */
  eventId?: string;
  /** One sentence for a person: what is wrong where. */
  message: string;
}

/** The outcome of a verification. */
export interface ChainVerification {
  /** `true` when every event checked is exactly what was chained. */
  intact: boolean;
  /** First sequence number checked. */
  from: number;
  /** Last sequence number found intact, or `undefined` when none was. */
  verifiedTo: number | undefined;
  /** Events found intact. */
  events: number;
  /** The chain's head when the verification started (hex hash), or `undefined` when empty. */
  head: { seq: number; hash: string } | undefined;
  /** The first break, when not intact. */
  break?: ChainBreak;
  /** Checkpoints the chain was compared with. */
  checkpoints: number;
  /** When the verification ended (ISO 8601). */
  verifiedAt: string;
}

/** What to verify. */
export interface VerifyChainOptions {
  /** First sequence number to check (trusting the stored hash before it). @default 1 */
  from?: number;
  /** Last sequence number to check. @default the head */
  to?: number;
  /** Rows read per round trip to the store. @default 1000 */
  pageSize?: number;
  /** Checkpoints of the chain's head kept outside the database, to compare the chain with. */
  checkpoints?: readonly AuditCheckpoint[];
  /**
   * Ed25519 public keys by key id: every checkpoint must then be signed by one of them.
   * @default none (signatures are not checked; unsigned checkpoints still show a cut tail)
   */
  publicKeys?: ReadonlyMap<string, KeyObject>;
}

/** A `from` / `to` that cannot be verified: the caller's mistake, not tampering. */
export class ChainRangeError extends AuditError {
  override readonly name = 'ChainRangeError';
  override readonly code = 'AUDIT_CHAIN_RANGE_INVALID';
}

const COLUMN_NAMES = [
  'id',
  'ts',
  'action',
  'outcome',
  'actorId',
  'resourceType',
  'resourceId',
  'requestId',
  'tenant',
  'schemaVersion',
] as const satisfies readonly (keyof AuditEventColumns)[];

function broken(kind: ChainBreakKind, seq: number, row: ChainRow, message: string): ChainBreak {
  const eventId = row.columns?.id ?? idOf(row.payload);
  return { kind, seq, ...(eventId === undefined ? {} : { eventId }), message };
}

function idOf(payload: string): string | undefined {
  try {
    const id = (JSON.parse(payload) as { id?: unknown }).id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** A row's stored event: parsed (or why it is not JSON), and the bytes its link covers. */
interface StoredEvent {
  event: unknown;
  /** Set when the payload is not JSON. */
  invalid?: string;
  /** The canonical JSON the link covers (the stored text itself when it cannot be parsed). */
  linked: string;
}

/**
 * Parses a row's payload once, for both checks. Nothing of it outlives the row's check, so a
 * page of parsed events never survives into the collector's old generation.
 */
function storedEventOf(row: ChainRow): StoredEvent {
  let event: unknown;
  try {
    event = JSON.parse(row.payload);
  } catch (error) {
    return { event: undefined, invalid: messageOf(error), linked: row.payload };
  }
  return { event, linked: row.canonical ? row.payload : canonicalJson(event) };
}

/** Why a row's indexed columns disagree with the event it stores, or `undefined`. */
function columnMismatch(stored: StoredEvent, columns: AuditEventColumns): string | undefined {
  let chained: AuditEventColumns;
  try {
    if (stored.invalid !== undefined) throw new SyntaxError(stored.invalid);
    chained = toEventColumns(stored.event as never);
  } catch (error) {
    return `its stored event is not a valid event (${messageOf(error)})`;
  }
  for (const name of COLUMN_NAMES) {
    if (chained[name] !== columns[name]) {
      // Text in full (the difference may lie past any cut); a driver may hand over a BigInt.
      return `its column ${name} holds ${quotedWhole(columns[name])} where the chained event says ${quotedWhole(chained[name])}`;
    }
  }
  return undefined;
}

/** Walks chain rows in storage order, one row behind, so that a break can look at the next row. */
class ChainWalk {
  events = 0;
  verifiedTo: number | undefined;

  constructor(
    private expected: number,
    private previous: Uint8Array | null,
  ) {}

  /** Checks `row` (with `next`, the row after it, if any); returns the break it shows. */
  check(row: ChainRow, next: ChainRow | undefined): ChainBreak | undefined {
    const expected = this.expected;
    if (row.seq === null) {
      return broken(
        'inserted',
        expected,
        row,
        `the row stored where #${expected} belongs was never chained (no sequence number)`,
      );
    }
    if (row.seq !== expected) return this.outOfSequence(row, next);
    if (row.columns === null) {
      return broken(
        'deleted',
        expected,
        row,
        `the event of #${expected} was deleted (its chained payload is left)`,
      );
    }
    const stored = storedEventOf(row);
    if (
      !sameHash(chainLink(this.previous, stored.linked), row.hash) ||
      row.format !== CANONICAL_FORMAT
    ) {
      return this.badLink(row, next);
    }
    const mismatch = columnMismatch(stored, row.columns);
    if (mismatch !== undefined)
      return broken('modified', expected, row, `#${expected} was modified: ${mismatch}`);
    this.previous = row.hash;
    this.verifiedTo = expected;
    this.expected = expected + 1;
    this.events += 1;
    return undefined;
  }

  private outOfSequence(row: ChainRow, next: ChainRow | undefined): ChainBreak {
    const expected = this.expected;
    const seq = row.seq ?? expected;
    if (next?.seq === expected) {
      return broken('reordered', expected, row, `#${seq} is stored before #${expected}`);
    }
    if (seq > expected) {
      const missing = seq === expected + 1 ? `#${expected} is` : `#${expected} to #${seq - 1} are`;
      return broken('deleted', expected, row, `${missing} missing from the chain`);
    }
    return broken(
      'inserted',
      expected,
      row,
      `a row numbered #${seq} is stored where #${expected} belongs`,
    );
  }

  private badLink(row: ChainRow, next: ChainRow | undefined): ChainBreak {
    const expected = this.expected;
    const nextLink = next && chainLink(this.previous, storedEventOf(next).linked);
    if (nextLink !== undefined && sameHash(nextLink, row.hash)) {
      return broken(
        'reordered',
        expected,
        row,
        `the events of #${expected} and #${expected + 1} exchanged places`,
      );
    }
    if (nextLink !== undefined && sameHash(nextLink, next?.hash)) {
      return broken(
        'inserted',
        expected,
        row,
        `#${expected} does not belong in the chain: the event after it links to the one before it`,
      );
    }
    if (row.format !== CANONICAL_FORMAT) {
      return broken(
        'modified',
        expected,
        row,
        `#${expected} was modified: its canonical format is ${String(row.format)}, not ${CANONICAL_FORMAT}`,
      );
    }
    return broken(
      'modified',
      expected,
      row,
      `#${expected} was modified: its stored event or hash is not what was chained`,
    );
  }
}

const DEFAULT_PAGE_SIZE = 1_000;

function checkRange(from: number, to: number | undefined, pageSize: number): void {
  if (!Number.isSafeInteger(from) || from < 1) {
    throw new ChainRangeError(
      `verify: "from" must be a sequence number (1 or more), got ${String(from)}.`,
    );
  }
  if (to !== undefined && (!Number.isSafeInteger(to) || to < from)) {
    throw new ChainRangeError(
      `verify: "to" must be a sequence number not below "from" (${from}), got ${String(to)}.`,
    );
  }
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) {
    throw new ChainRangeError(
      `verify: "pageSize" must be a positive integer, got ${String(pageSize)}.`,
    );
  }
}

/** Where the walk starts: after the row of `from - 1`, trusting its stored hash. */
async function startOf(
  source: AuditChainSource,
  from: number,
): Promise<{ after: number; previous: Uint8Array | null } | ChainBreak> {
  if (from === 1) return { after: 0, previous: null };
  const before = await source.chainRowAt(from - 1);
  if (before === undefined) {
    return {
      kind: 'deleted',
      seq: from - 1,
      message: `#${from - 1}, where the verification starts, is missing from the chain`,
    };
  }
  return { after: before.position, previous: before.hash };
}

/**
 * Checks a store's hash chain in storage order, reading it in pages (memory stays bounded by
 * the page size): every sequence number present once and in order, every hash the link of the
 * previous hash and the stored canonical JSON, every indexed column equal to the chained event,
 * and (over the whole chain) no event row outside it. Stops at the first break.
 * @throws ChainRangeError for a `from` / `to` that is not a sequence number of the chain.
 * @throws whatever the store throws when it cannot be read.
 */
export async function verifyChain(
  source: AuditChainSource,
  options: VerifyChainOptions = {},
): Promise<ChainVerification> {
  const { from = 1, to, pageSize = DEFAULT_PAGE_SIZE, checkpoints = [] } = options;
  checkRange(from, to, pageSize);
  const headRow = await source.chainHead();
  const head = headRow && { seq: headRow.seq, hash: Buffer.from(headRow.hash).toString('hex') };
  if (from > 1 && (headRow === undefined || from > headRow.seq)) {
    throw new ChainRangeError(
      `verify: the chain ends at #${headRow?.seq ?? 0}, before "from" (#${from}).`,
    );
  }
  const report = (walk: ChainWalk | undefined, found?: ChainBreak): ChainVerification => ({
    intact: found === undefined,
    from,
    verifiedTo: walk?.verifiedTo,
    events: walk?.events ?? 0,
    head,
    ...(found === undefined ? {} : { break: found }),
    checkpoints: checkpoints.length,
    verifiedAt: new Date().toISOString(),
  });
  const againstCheckpoints = await checkpointBreak(
    source,
    headRow,
    checkpoints,
    options.publicKeys ?? new Map(),
  );
  // Evidence that cannot be trusted is reported before anything it would show.
  if (againstCheckpoints?.kind === 'bad-signature' || againstCheckpoints?.kind === 'unknown-key') {
    return report(undefined, againstCheckpoints);
  }
  const start = await startOf(source, from);
  if ('kind' in start) return report(undefined, start);
  const walk = new ChainWalk(from, start.previous);
  const found = await walkRows(source, walk, start.after, to, pageSize);
  if (found !== undefined) return report(walk, found);
  if (againstCheckpoints !== undefined) return report(walk, againstCheckpoints);
  if (to !== undefined) return report(walk);
  const [outside] = await source.unchainedEvents(1);
  if (outside === undefined) return report(walk);
  return report(walk, {
    kind: 'inserted',
    eventId: outside.id,
    message: `event ${outside.id} is stored outside the chain (it has no chained payload)`,
  });
}

/**
 * Feeds the walk page by page. The next page is asked for before the current one is checked, so
 * the store reads it while the walk hashes (a remote database then costs no waiting).
 */
async function walkRows(
  source: AuditChainSource,
  walk: ChainWalk,
  after: number,
  to: number | undefined,
  pageSize: number,
): Promise<ChainBreak | undefined> {
  let pending: ChainRow | undefined;
  let rows = await source.chainRows(after, pageSize);
  for (;;) {
    const last = rows[rows.length - 1];
    const next =
      rows.length < pageSize || last === undefined
        ? undefined
        : source.chainRows(last.position, pageSize);
    // Stopping early leaves the read ahead unawaited: its failure then matters to nobody.
    next?.catch(() => undefined);
    for (const row of rows) {
      if (pending !== undefined) {
        const found = walk.check(pending, row);
        if (found !== undefined) return found;
        if (to !== undefined && pending.seq === to) return undefined;
      }
      pending = row;
    }
    if (next === undefined) break;
    rows = await next;
  }
  return pending === undefined ? undefined : walk.check(pending, undefined);
}
