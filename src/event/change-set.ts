/**
 * The complete change set of an event, as it was before the size caps cut anything: what alarm
 * rules are evaluated on, so a watched field cannot be hidden behind thousands of others. It
 * travels with the event object from the build to the alarm evaluation and is never serialised.
 */
import type { AuditChanges, AuditEvent, AuditFieldChange } from './audit-event';

/** Every change of one event, redacted but not cut. */
export interface AuditChangeSet {
  /** Redacted state before the action; absent when there was none or it was read only in part. */
  readonly before?: unknown;
  /** Redacted state after the action; absent when there was none or it was read only in part. */
  readonly after?: unknown;
  /** Every changed field, redacted, with whole values, in the event's diff order. */
  readonly diff: readonly AuditFieldChange[];
  /** Dotted paths of {@link AuditChangeSet.diff}, in the same order. */
  readonly fields: readonly string[];
  /**
   * `false` when the work budget stopped reading the states (see `AuditChanges.partial`): a
   * change in the part that was not read is not in the set.
   */
  readonly complete: boolean;
}

// A symbol key on a non-enumerable property: JSON.stringify, spreads, structuredClone and the
// stores never see it, so the uncut values can never reach a record or a line.
const CHANGE_SET = Symbol('nestjs-audit.changeSet');

type Carrier = AuditEvent & { [CHANGE_SET]?: AuditChangeSet };

/**
 * Attaches the change set to the event it was built for (see {@link takeAuditChangeSet}).
 *
 * @param event - the event `buildAuditEvent` made
 * @param changes - its complete change set
 */
export function attachAuditChangeSet(event: AuditEvent, changes: AuditChangeSet): void {
  Object.defineProperty(event, CHANGE_SET, {
    value: changes,
    enumerable: false,
    writable: false,
    configurable: true,
  });
}

/**
 * The complete change set `buildAuditEvent` attached to an event, without removing it.
 *
 * @param event - an event built by `buildAuditEvent` (a copy, or one read back from a store,
 *   has none)
 */
export function auditChangeSetOf(event: AuditEvent): AuditChangeSet | undefined {
  return (event as Carrier)[CHANGE_SET];
}

/**
 * Removes the complete change set from the event and returns it. The write path calls it once,
 * right before evaluating the alarm rules, so an event waiting in a queue does not keep the
 * uncut values alive.
 *
 * @param event - an event built by `buildAuditEvent`
 * @returns `undefined` when the event carries none (it was copied, or taken already)
 */
export function takeAuditChangeSet(event: AuditEvent): AuditChangeSet | undefined {
  const changes = auditChangeSetOf(event);
  if (changes !== undefined) delete (event as Carrier)[CHANGE_SET];
  return changes;
}

/**
 * The event as alarm rules see it: its `changes` replaced by the complete change set (every
 * field, whole values, the states when they were read in full), everything else as recorded.
 * The result shares its values with both inputs: read it, do not modify it.
 *
 * @param event - the recorded event
 * @param changes - its complete change set
 */
export function eventWithChangeSet(event: AuditEvent, changes: AuditChangeSet): AuditEvent {
  const view: AuditChanges = {
    diff: changes.diff as AuditFieldChange[],
    fields: changes.fields as string[],
    count: changes.diff.length,
  };
  const recorded = event.changes;
  const before = changes.before !== undefined ? changes.before : recorded?.before;
  const after = changes.after !== undefined ? changes.after : recorded?.after;
  if (before !== undefined) view.before = before;
  if (after !== undefined) view.after = after;
  if (!changes.complete) view.partial = true;
  if (recorded?.unavailable !== undefined) view.unavailable = recorded.unavailable;
  return { ...event, changes: view };
}
