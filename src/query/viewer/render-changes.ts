/**
 * The before/after diff of an event in plain language: one row per changed field,
 * "Phone  +1 555 0100 → +1 555 0199", with added and removed fields marked in words.
 */
import type { AuditChanges, AuditFieldChange } from '../../event/audit-event';
import { isDiffTruncationEntry } from '../../event/diff';
import { isTruncatedMarker } from '../../event/serialize';
import { markup, type SafeHtml } from './html';
import { renderValue } from './render-value';
import { fieldLabel } from './viewer-words';

/** Most characters of one value in the diff table before it is cut (the rest is in a title). */
const DIFF_VALUE_CHARS = 800;

const OP_WORDS: Readonly<Record<AuditFieldChange['op'], string>> = {
  added: 'added',
  removed: 'removed',
  changed: 'changed',
};

function changeRow(change: AuditFieldChange): SafeHtml {
  if (isDiffTruncationEntry(change)) {
    const entries = isTruncatedMarker(change.after) ? (change.after.entries ?? 0) : 0;
    return markup`<tr class="change change-cut">
      <td colspan="4">
        ${entries} more ${entries === 1 ? 'change was' : 'changes were'} too large to keep.
      </td>
    </tr>`;
  }
  const before =
    change.op === 'added'
      ? markup`<span class="muted">not set</span>`
      : renderValue(change.before, DIFF_VALUE_CHARS);
  const after =
    change.op === 'removed'
      ? markup`<span class="muted">removed</span>`
      : renderValue(change.after, DIFF_VALUE_CHARS);
  const dotted = change.path.join('.');
  return markup`<tr class="change change-${change.op}">
    <th scope="row" title="${dotted}">
      ${fieldLabel(change.path)}
      ${change.op === 'changed' ? '' : markup`<span class="tag tag-${change.op}">${OP_WORDS[change.op]}</span>`}
    </th>
    <td class="before">${before}</td>
    <td class="arrow"><span aria-hidden="true">→</span><span class="sr-only">changed to</span></td>
    <td class="after">${after}</td>
  </tr>`;
}

/**
 * The diff table of an event, or a sentence saying there is none.
 *
 * @param changes - the event's `changes`
 * @param caption - the table caption, read by screen readers
 */
export function renderChanges(
  changes: AuditChanges | undefined,
  caption = 'Changed fields',
): SafeHtml {
  if (changes?.unavailable !== undefined) {
    // A failed change whose after-state could not be read: say so rather than show no change.
    return markup`<p class="muted">The changes of this event are not known: ${changes.unavailable}.</p>`;
  }
  if (changes === undefined || changes.diff.length === 0) {
    return markup`<p class="muted">No field changes were recorded for this event.</p>`;
  }
  return markup`<table class="changes">
    <caption class="sr-only">${caption}</caption>
    <thead>
      <tr>
        <th scope="col">Field</th>
        <th scope="col">Before</th>
        <th scope="col"><span class="sr-only">Change</span></th>
        <th scope="col">After</th>
      </tr>
    </thead>
    <tbody>
      ${changes.diff.map(changeRow)}
    </tbody>
  </table>`;
}

/**
 * The changed fields of an event as a short text for the list ("Phone, MFA › Enabled"), and
 * the whole list for a title.
 *
 * @param changes - the event's `changes`
 * @param shown - how many field names to show before "+N more"
 */
export function changedFieldsSummary(
  changes: AuditChanges | undefined,
  shown = 3,
): { text: string; all: string } {
  if (changes === undefined) return { text: '', all: '' };
  const labels = changes.diff
    .filter((change) => !isDiffTruncationEntry(change))
    .map((change) => fieldLabel(change.path));
  const cut = changes.diff.length - labels.length > 0;
  const all = labels.join(', ') + (cut ? ' and more' : '');
  const rest = labels.length - shown;
  const head = labels.slice(0, shown).join(', ');
  if (rest > 0) return { text: `${head} +${rest} more`, all };
  return { text: cut ? `${head} and more` : head, all };
}
