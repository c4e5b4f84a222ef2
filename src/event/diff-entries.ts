/**
 * The diff entries that are not fields (the marks of what a cut left out) and the field paths
 * of a diff list.
 */
import { isArrayCutShape, type ArrayCut } from './array-identity';
import type { AuditFieldChange } from './audit-event';
import { AUDIT_MARKER_KEY, isTruncatedMarker, truncatedMarker } from './serialize';

/**
 * Path of the entry that stands for diff entries left out to keep an event within its size
 * limit (see {@link diffTruncationEntry}).
 */
export const DIFF_TRUNCATION_PATH: readonly string[] = [AUDIT_MARKER_KEY];

/**
 * The entry appended to a diff list that had to be cut: `path: ['$audit']`, `op: 'changed'` and
 * `after` a truncated marker whose `entries` counts the omitted entries and whose `bytes` and
 * `sha256` describe their JSON.
 *
 * @param omitted - the entries left out
 */
export function diffTruncationEntry(omitted: readonly AuditFieldChange[]): AuditFieldChange {
  return {
    path: [...DIFF_TRUNCATION_PATH],
    op: 'changed',
    after: truncatedMarker(JSON.stringify(omitted), omitted.length),
  };
}

/**
 * Whether a diff entry is the one {@link diffTruncationEntry} makes rather than a real field.
 *
 * @param change - one diff entry
 */
export function isDiffTruncationEntry(change: AuditFieldChange): boolean {
  return (
    change.path.length === 1 &&
    change.path[0] === AUDIT_MARKER_KEY &&
    change.before === undefined &&
    isTruncatedMarker(change.after) &&
    typeof change.after.entries === 'number'
  );
}

/**
 * Dotted paths of the changed fields (`['mfa', 'phone']` becomes `'mfa.phone'`), in diff order.
 *
 * A change of the whole value (`path: []`) is the empty string. Keys containing dots are joined
 * as they are, so the result is for display and matching, not for parsing back. The entry that
 * stands for a cut diff list is not a field and is left out.
 *
 * @param diff - output of {@link diffStates}
 */
export function changedFieldPaths(diff: readonly AuditFieldChange[]): string[] {
  const paths: string[] = [];
  for (const change of diff) {
    if (!isDiffTruncationEntry(change)) paths.push(change.path.join('.'));
  }
  return paths;
}

/**
 * The entry that stands for the changes of one array left out by `maxArrayChanges`: at the
 * array's path, `op: 'changed'`, no `before`, and `after` a truncated marker whose `entries`
 * counts the entries left out (and whose `bytes` and `sha256` describe their JSON).
 *
 * @param omitted - the entries left out
 * @param cut - where they were
 */
export function arrayCutEntry(
  omitted: readonly AuditFieldChange[],
  cut: ArrayCut,
): AuditFieldChange {
  return {
    path: [...cut.path],
    op: 'changed',
    after: truncatedMarker(JSON.stringify(omitted), omitted.length),
  };
}

/**
 * Whether a diff entry is one {@link arrayCutEntry} makes: it names the array, and stands for
 * changes inside it that were left out.
 *
 * @param change - one diff entry
 */
export function isArrayCutEntry(change: AuditFieldChange): boolean {
  return isArrayCutShape(change) && !isDiffTruncationEntry(change);
}
