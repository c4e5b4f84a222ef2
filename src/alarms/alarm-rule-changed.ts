/**
 * The `changed` condition of an alarm rule: the event changed a field matching one of the
 * rule's globs, or an object containing such a field, or an object inside such a field.
 */
import type { AuditEvent, AuditFieldChange } from '../event/audit-event';
import { isDiffTruncationEntry } from '../event/diff';
import { isRecord } from '../event/json-equal';
import type { ChangeWatch } from './change-watch';
import type { GlobMatcher } from './glob';

/** Bounds the walk into an added or removed object when matching `changed`. */
const MAX_EXPANDED_PATHS = 200;
const MAX_EXPANDED_DEPTH = 8;

/**
 * Whether an event changed a field the globs match.
 *
 * @param globs - the compiled `changed` globs of a rule
 */
export function changedMatcher(globs: GlobMatcher): (event: AuditEvent) => boolean {
  return (event) => {
    const changes = event.changes;
    if (!changes) return false;
    const diff = Array.isArray(changes.diff) ? changes.diff : [];
    let cut = false;
    for (const change of diff) {
      if (isDiffTruncationEntry(change)) {
        cut = true;
        continue;
      }
      if (changeMatches(globs, change)) return true;
    }
    // A hand-made event may list its fields without a diff, and a diff cut for size still has
    // every field name in `fields`.
    if ((diff.length === 0 || cut) && Array.isArray(changes.fields)) {
      for (const field of changes.fields) {
        if (pathMatches(globs, field.split('.'))) return true;
      }
    }
    return false;
  };
}

/**
 * The changes a `changed` condition looks at.
 *
 * @param globs - the compiled `changed` globs of a rule
 */
export function changedWatch(globs: GlobMatcher): ChangeWatch {
  return {
    change: (change) => !isDiffTruncationEntry(change) && changeMatches(globs, change),
    field: (path) => pathMatches(globs, path.split('.')),
  };
}

/** The field itself or any object containing it (`mfa` covers `mfa.phone`). */
function pathMatches(globs: GlobMatcher, path: readonly string[]): boolean {
  if (path.length === 0) return globs.test('');
  let joined = '';
  for (let i = 0; i < path.length; i += 1) {
    joined = i === 0 ? (path[0] as string) : `${joined}.${path[i] as string}`;
    if (globs.test(joined)) return true;
  }
  return false;
}

function changeMatches(globs: GlobMatcher, change: AuditFieldChange): boolean {
  if (pathMatches(globs, change.path)) return true;
  // An object added, removed or replaced as a whole changes every field inside it.
  const budget = { left: MAX_EXPANDED_PATHS };
  const prefix = change.path.join('.');
  return (
    expandedMatches(globs, prefix, change.before, 0, budget) ||
    expandedMatches(globs, prefix, change.after, 0, budget)
  );
}

function expandedMatches(
  globs: GlobMatcher,
  prefix: string,
  value: unknown,
  depth: number,
  budget: { left: number },
): boolean {
  if (!isRecord(value) || depth >= MAX_EXPANDED_DEPTH) return false;
  for (const key of Object.keys(value)) {
    if (budget.left <= 0) return false;
    budget.left -= 1;
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (globs.test(path)) return true;
    if (expandedMatches(globs, path, value[key], depth + 1, budget)) return true;
  }
  return false;
}
