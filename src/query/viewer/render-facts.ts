/**
 * Small pieces every viewer page shows the same way: a time, an outcome badge, an actor.
 */
import type { AuditActor, AuditOutcome } from '../../event/audit-event';
import { clippedSpan, markup, type SafeHtml } from './html';
import { readableTime } from './viewer-time';
import { actorLabel, OUTCOME_LABELS } from './viewer-words';

// The symbol only repeats the word next to it: colour and shape are never the only signal.
const OUTCOME_SYMBOLS: Readonly<Record<AuditOutcome, string>> = {
  success: '\u2713',
  failure: '\u2715',
  unknown: '?',
};

/**
 * A `<time>` element: readable UTC text, the ISO value in `datetime` (the page script shows it
 * in the reader's time zone).
 *
 * @param iso - an ISO-8601 timestamp
 * @param compact - for tables: minutes only, and the page script adds a "5 minutes ago" line
 */
export function renderTime(iso: string, compact = false): SafeHtml {
  const ago = compact ? markup` data-ago` : '';
  return markup`<time datetime="${iso}"${ago}>${readableTime(iso, !compact)}</time>`;
}

/**
 * The outcome as a badge with its name in words.
 *
 * @param outcome - the event's outcome
 */
export function renderOutcome(outcome: AuditOutcome): SafeHtml {
  const label = OUTCOME_LABELS[outcome] ?? String(outcome);
  const symbol = OUTCOME_SYMBOLS[outcome] ?? '?';
  const kind = outcome in OUTCOME_LABELS ? outcome : 'unknown';
  return markup`<span class="badge badge-${kind}"><span aria-hidden="true">${symbol}</span> ${label}</span>`;
}

/**
 * The actor's name with its id / e-mail underneath, each cut to `max` characters (the whole
 * value is in the title).
 *
 * @param actor - the event's actor
 * @param max - most characters of each line
 */
export function renderActor(actor: AuditActor, max = 60): SafeHtml {
  const label = actorLabel(actor);
  return markup`${clippedSpan(label.name, max, 'clip')}${
    label.detail !== undefined && clippedSpan(label.detail, max, 'sub-line clip')
  }`;
}
