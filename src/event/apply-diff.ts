/**
 * Rebuilding a later state from an earlier one and their diff.
 */
import { findItem, parseArraySegment } from './array-identity';
import type { AuditFieldChange } from './audit-event';
import { isArrayCutEntry, isDiffTruncationEntry } from './diff-entries';
import { ownValue, type JsonRecord } from './json-equal';
import { setJsonProperty } from './serialize';

function cloneJson(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(cloneJson);
  const out: JsonRecord = {};
  for (const key of Object.keys(value)) {
    setJsonProperty(out, key, cloneJson((value as JsonRecord)[key]));
  }
  return out;
}

/**
 * Rebuilds the later state from the earlier one and their diff:
 * `applyDiff(before, diffStates(before, after))` deep-equals `after` for any two JSON objects,
 * except for the order of the items of an array compared by identity (an added item is
 * appended; the diff does not record order).
 *
 * A deletion diff applied to an object yields an empty object (a diff cannot tell "deleted" from
 * "emptied"). The entries marking a cut diff list or a cut array are skipped, so a cut diff
 * rebuilds only the fields it kept.
 *
 * @param before - JSON-safe earlier state (not modified)
 * @param diff - changes to apply, in order
 * @returns a new value sharing nothing with `before` or `diff`
 */
export function applyDiff(before: unknown, diff: readonly AuditFieldChange[]): unknown {
  let root = cloneJson(before);
  for (const change of diff) {
    if (isDiffTruncationEntry(change) || isArrayCutEntry(change)) continue;
    const { path } = change;
    const last = path[path.length - 1];
    if (last === undefined) {
      root = change.op === 'removed' ? undefined : cloneJson(change.after);
      continue;
    }
    if (!isContainer(root)) root = {};
    let node = root as JsonRecord | unknown[];
    for (let i = 0; i < path.length - 1; i += 1) node = childContainer(node, path[i] as string);
    applyLast(node, last, change);
  }
  return root;
}

function isContainer(value: unknown): value is JsonRecord | unknown[] {
  return typeof value === 'object' && value !== null;
}

/** The container under one segment, made (an object) when missing. */
function childContainer(node: JsonRecord | unknown[], segment: string): JsonRecord | unknown[] {
  const parsed = Array.isArray(node) ? parseArraySegment(segment) : undefined;
  if (Array.isArray(node)) {
    const index = parsed === undefined ? -1 : findItem(node, parsed);
    const child: unknown = node[index];
    if (index >= 0 && isContainer(child)) return child;
    const made = {};
    if (index >= 0) node[index] = made;
    else node.push(made);
    return made;
  }
  let child = ownValue(node, segment);
  if (!isContainer(child)) {
    child = {};
    setJsonProperty(node, segment, child);
  }
  return child as JsonRecord | unknown[];
}

function applyLast(node: JsonRecord | unknown[], last: string, change: AuditFieldChange): void {
  if (!Array.isArray(node)) {
    if (change.op === 'removed') delete node[last];
    else setJsonProperty(node, last, cloneJson(change.after));
    return;
  }
  const parsed = parseArraySegment(last);
  if (parsed === undefined) return;
  const index = findItem(node, parsed);
  if (change.op === 'removed') {
    // Positional removals are of the last items, listed first to last: cutting at the first
    // one removes the others too.
    if (parsed.kind === 'index') node.length = Math.min(node.length, index);
    else if (index >= 0) node.splice(index, 1);
  } else if (index >= 0) {
    node[index] = cloneJson(change.after);
  } else {
    node.push(cloneJson(change.after));
  }
}
