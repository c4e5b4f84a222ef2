/**
 * What the viewer shows of the hash chain: a banner at the top of every page telling how far the
 * trail was last proven intact in this process (or where it was found tampered with, or that it
 * was not verified yet), and each event's sequence number in the chain.
 */
import type { ChainBreak, ChainBreakKind } from '../../integrity/verify';
import type { AuditIntegrityStatus, AuditIntegrityVerified } from '../audit-integrity';
import { markup, type SafeHtml } from './html';
import { renderTime } from './render-facts';

/** What the viewer knows of the trail's integrity. */
export interface ViewerIntegrity {
  /** Whether the store keeps a hash chain (SQLite and PostgreSQL do, the in-memory store not). */
  chained: boolean;
  /** The latest verification of this process (see `AuditService.lastVerification()`). */
  status: AuditIntegrityStatus;
}

/** Each break kind as the banner words it after "Tampered: #N". */
const BREAK_WORDS: Readonly<Record<ChainBreakKind, string>> = {
  modified: 'modified',
  deleted: 'deleted',
  inserted: 'inserted',
  reordered: 'reordered',
  'cut-tail': 'cut off (the latest events were removed)',
  fork: 'rewritten (the chain differs from a checkpoint)',
  'bad-signature': 'checkpoint signature does not match',
  'unknown-key': 'checkpoint signed by an unknown key',
};

function verifiedRange(status: AuditIntegrityVerified): string {
  const to = status.verifiedTo;
  if (to === null) return 'no event';
  return status.from > 1 ? `#${status.from} to #${to}` : `up to #${to}`;
}

function intactBanner(status: AuditIntegrityVerified): SafeHtml {
  const to = status.verifiedTo;
  const headline =
    to === null ? 'Verified: no event was recorded yet' : `Verified ${verifiedRange(status)}`;
  return markup`<section class="integrity integrity-ok" role="status" data-integrity="intact"
    data-verified-to="${to === null ? '' : String(to)}">
    <strong>${headline}</strong> at ${renderTime(status.verifiedAt)}
    <span class="sub-line">Every event checked is exactly as it was recorded: none changed,
      removed, added or moved. Events recorded since are checked by the next verification.</span>
  </section>`;
}

function brokenBanner(status: AuditIntegrityVerified, found: ChainBreak): SafeHtml {
  const where = found.seq === undefined ? '' : ` #${found.seq}`;
  const kind = BREAK_WORDS[found.kind] ?? found.kind;
  const intact = status.verifiedTo === null ? 'No event' : `Events ${verifiedRange(status)}`;
  return markup`<section class="integrity integrity-bad" role="alert" data-integrity="tampered"
    data-break-seq="${found.seq === undefined ? '' : String(found.seq)}"
    data-break-kind="${found.kind}">
    <strong>Tampered:${where} ${kind}</strong> · found at ${renderTime(status.verifiedAt)}
    <span class="sub-line">${found.message}${found.eventId !== undefined && ` (event ${found.eventId})`}.
      ${intact} checked intact before it. Keep the database as it is for investigation and
      compare it with your backups and the checkpoints in your log pipeline.</span>
  </section>`;
}

/**
 * The integrity banner, or nothing when `integrity` is not given.
 *
 * @param integrity - whether the store keeps a chain, and the latest verification
 */
export function renderIntegrityBanner(integrity: ViewerIntegrity | undefined): SafeHtml | false {
  if (integrity === undefined) return false;
  const { status } = integrity;
  if (!integrity.chained) {
    return markup`<section class="integrity integrity-none" role="status" data-integrity="none">
      This store keeps no hash chain (the in-memory store): its events have no sequence number
      and cannot be verified.
    </section>`;
  }
  if (!status.verified) {
    return markup`<section class="integrity integrity-none" role="status"
      data-integrity="unverified">
      Not verified yet in this process — run <code>nestjs-audit verify</code> or
      <code>AuditService.verify()</code>.
    </section>`;
  }
  if (status.intact) return intactBanner(status);
  const found: ChainBreak = status.break ?? {
    kind: 'modified',
    message: 'the verification found the chain broken',
  };
  return brokenBanner(status, found);
}

/**
 * An event's place in the chain: "#12", or "not sealed yet" for an event the store has not
 * chained yet; nothing when the store keeps no chain.
 *
 * @param sequence - `AuditEvent.sequence`
 * @param chained - whether the store keeps a chain
 * @param className - extra classes of the element
 */
export function renderSequence(
  sequence: number | undefined,
  chained: boolean,
  className = '',
): SafeHtml | false {
  const classes = `seq${className === '' ? '' : ` ${className}`}`;
  if (sequence !== undefined) {
    return markup`<span class="${classes}" data-seq="${String(sequence)}"
      title="Sequence number in the hash chain">#${sequence}</span>`;
  }
  if (!chained) return false;
  return markup`<span class="${classes} unsealed" data-seq=""
    title="Not in the hash chain yet: the store chains events shortly after they are recorded">not sealed yet</span>`;
}
