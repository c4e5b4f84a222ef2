/**
 * The changes a rule's `changed` and `transition` conditions look at, so its alarm can list them
 * first and name the change it fired for even among thousands of others.
 */
import type { AuditEvent, AuditFieldChange } from '../event/audit-event';

/** Tells which changes of an event a rule watches. */
export interface ChangeWatch {
  /** Whether the rule looks at this diff entry. */
  readonly change: (change: AuditFieldChange) => boolean;
  /** Whether the rule looks at this dotted field path (an entry of `changes.fields`). */
  readonly field: (path: string) => boolean;
}

/**
 * One watch for several conditions: a change is watched when any of them watches it.
 *
 * @returns `undefined` when there is no watch at all
 */
export function anyWatch(watches: readonly ChangeWatch[]): ChangeWatch | undefined {
  if (watches.length <= 1) return watches[0];
  return {
    change: (change) => watches.some((watch) => watch.change(change)),
    field: (path) => watches.some((watch) => watch.field(path)),
  };
}

/**
 * The event with the changes a rule watches listed first (diff and field names), so its alarm
 * names the change it fired for even among thousands of others; the order is kept otherwise.
 *
 * @param event - the event a rule matched
 * @param watch - the rule's watch
 */
export function watchedFirst(event: AuditEvent, watch: ChangeWatch): AuditEvent {
  const changes = event.changes;
  if (changes === undefined) return event;
  const diff = partition(Array.isArray(changes.diff) ? changes.diff : [], watch.change);
  const fields = partition(Array.isArray(changes.fields) ? changes.fields : [], watch.field);
  if (diff === undefined && fields === undefined) return event;
  return {
    ...event,
    changes: { ...changes, diff: diff ?? changes.diff, fields: fields ?? changes.fields },
  };
}

/** The items that pass first, then the others, each in their order; `undefined` if none pass. */
function partition<T>(items: readonly T[], first: (item: T) => boolean): T[] | undefined {
  const front: T[] = [];
  const back: T[] = [];
  for (const item of items) (first(item) ? front : back).push(item);
  return front.length === 0 ? undefined : [...front, ...back];
}
