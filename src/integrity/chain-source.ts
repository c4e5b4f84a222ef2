import type { AuditEventColumns } from '../event/event-columns';

/** One stored event as the chain verifier reads it: its link, its JSON, its columns. */
export interface ChainRow {
  /** Where the row is stored, in the order the store wrote it (SQLite: the event's rowid). */
  position: number;
  /** Its sequence number, or `null` when the row carries none (it was never chained). */
  seq: number | null;
  /** Its stored hash, or `null`. */
  hash: Uint8Array | null;
  /** Version of the canonical form of `payload`, or `null`. */
  format: number | null;
  /** The stored event's JSON text. */
  payload: string;
  /**
   * Whether `payload` is stored as the canonical JSON the link covers (SQLite), or the verifier
   * makes that from it (PostgreSQL, whose `json` column keeps the text the application wrote).
   */
  canonical: boolean;
  /** The indexed columns stored beside it, or `null` when its event row is missing. */
  columns: AuditEventColumns | null;
}

/** The last link of a chain. */
export interface ChainHead {
  /** Highest sequence number. */
  seq: number;
  /** Its hash. */
  hash: Uint8Array;
}

/** An event row that no chain row covers. */
export interface UnchainedEvent {
  /** Where it is stored. */
  position: number;
  /** Its id. */
  id: string;
}

/**
 * Optional store capability: reading the hash chain for verification. Stores that keep a chain
 * (SQLite, PostgreSQL) implement it; `AuditService.verify()` and `nestjs-audit verify` use it.
 */
export interface AuditChainSource {
  /** Chain rows in storage order after `position` (0: from the start), at most `limit`. */
  chainRows(after: number, limit: number): Promise<ChainRow[]>;
  /** The position and hash of the row holding sequence number `seq`, or `undefined`. */
  chainRowAt(seq: number): Promise<{ position: number; hash: Uint8Array | null } | undefined>;
  /** The head, or `undefined` for an empty chain. */
  chainHead(): Promise<ChainHead | undefined>;
  /** Event rows outside the chain, in storage order, at most `limit`. */
  unchainedEvents(limit: number): Promise<UnchainedEvent[]>;
  /** Chains what is committed and not chained yet, for stores that chain after commit. */
  seal?(): Promise<void>;
}

/** The store's chain, when it keeps one. */
export function chainSourceOf(store: object): AuditChainSource | undefined {
  const candidate = store as Partial<AuditChainSource>;
  return typeof candidate.chainRows === 'function' &&
    typeof candidate.chainRowAt === 'function' &&
    typeof candidate.chainHead === 'function' &&
    typeof candidate.unchainedEvents === 'function'
    ? (candidate as AuditChainSource)
    : undefined;
}
