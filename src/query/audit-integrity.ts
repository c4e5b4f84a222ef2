import type { ChainBreak, ChainVerification } from '../integrity/verify';

/**
 * The body of `GET <path>/integrity`: what the latest `AuditService.verify()` of this process
 * found, or `{ verified: false }` when none ran yet. A verification is not re-run when this is
 * read: `verifiedAt` says how fresh it is.
 */
export type AuditIntegrityStatus = AuditIntegrityUnverified | AuditIntegrityVerified;

/** No verification ran in this process yet. */
export interface AuditIntegrityUnverified {
  /** Always `false`. */
  verified: false;
}

/** The latest verification of the hash chain (see `ChainVerification`). */
export interface AuditIntegrityVerified {
  /** Always `true`. */
  verified: true;
  /** Whether every event checked is exactly what was chained. */
  intact: boolean;
  /** First sequence number checked (1 unless the verification was given `from`). */
  from: number;
  /** Last sequence number found intact, or `null` when none was. */
  verifiedTo: number | null;
  /** The chain's head when the verification started, or `null` for an empty trail. */
  head: { seq: number; hash: string } | null;
  /** When the verification ended (ISO 8601). */
  verifiedAt: string;
  /** The first break, when not intact. */
  break?: ChainBreak;
}

/**
 * The status to report for the latest verification.
 * @param last - `AuditService.lastVerification()`
 */
export function auditIntegrityStatus(last: ChainVerification | undefined): AuditIntegrityStatus {
  if (last === undefined) return { verified: false };
  const status: AuditIntegrityVerified = {
    verified: true,
    intact: last.intact,
    from: last.from,
    verifiedTo: last.verifiedTo ?? null,
    head: last.head === undefined ? null : { seq: last.head.seq, hash: last.head.hash },
    verifiedAt: last.verifiedAt,
  };
  if (!last.intact && last.break !== undefined) status.break = { ...last.break };
  return status;
}
