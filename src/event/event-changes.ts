/**
 * The `changes` of an event: the states read within the work budget, their diff, redaction, and
 * the complete change set that alarm rules are evaluated on before any size cut.
 */
import { applyArrayCuts } from './array-identity';
import type { AuditChanges, AuditFieldChange } from './audit-event';
import type { AuditChangeSet } from './change-set';
import { arrayCutEntry, changedFieldPaths, diffStatesDetailed, type DetailedDiff } from './diff';
import { AUDIT_EVENT_LIMITS, text } from './event-fields';
import type { PayloadPlacer } from './event-size';
import type { EntityReading, SerializationIssue } from './json-entities';
import type { AuditPrivacy } from './privacy';
import type { Redactor } from './redact';
import type { SerializationWarnings } from './serialization-warnings';
import { toJsonSafe } from './serialize';
import type { WalkBudget } from './walk-budget';

/** Most paths `changes.unserializable` lists. */
export const MAX_UNSERIALIZABLE_PATHS = 20;

/** What {@link readChanges} needs from the draft. */
export interface ChangesInput {
  /** Raw state before the action (`undefined`: none). */
  before?: unknown;
  /** Raw state after the action (`undefined`: none). */
  after?: unknown;
  /** Set when the states must not be compared; its text says why. */
  changesUnavailable?: unknown;
}

/** How {@link readChanges} reads and redacts. */
export interface ChangesContext {
  readonly redactor: Redactor;
  readonly paths: readonly string[] | undefined;
  /** Budget of values read from the application's states (shared with the other payloads). */
  readonly reads: WalkBudget;
  /** Budget of the work done on the copies (diff, redaction). */
  readonly work: WalkBudget;
  /** How entity states are read (identity keys, relations). */
  readonly entities: EntityReading;
  /** Most diff entries recorded per array (see `DiffOptions.maxArrayChanges`). */
  readonly maxArrayChanges: number;
  /** Told of the values that could not be read as they are. */
  readonly warnings: SerializationWarnings | undefined;
  /** Replaces the configured fields of the states by keyed hashes, before the diff. */
  readonly hashFields?: Pick<AuditPrivacy, 'hashFieldsOf'>;
}

/** The states and their diff, redacted, whole (no size cut yet). */
export interface ReadChanges {
  /** The complete change set, for the alarm rules. */
  readonly changeSet: AuditChangeSet;
  /** Redacted state before, and whether it was read only in part. */
  readonly before: unknown;
  readonly beforePartial: boolean;
  /** Redacted state after, and whether it was read only in part. */
  readonly after: unknown;
  readonly afterPartial: boolean;
  /** For each diff entry: whether its `before` and its `after` were read only in part. */
  readonly partialValues: readonly (readonly [boolean, boolean])[];
  /** The diff as recorded: each array's entries past `maxArrayChanges` replaced by one entry. */
  readonly recorded: readonly AuditFieldChange[];
  /** {@link ReadChanges.partialValues}, aligned with {@link ReadChanges.recorded}. */
  readonly recordedPartial: readonly (readonly [boolean, boolean])[];
  /** Why the states were not compared, when they were not. */
  readonly unavailable: string | undefined;
  /** Paths of the states' values recorded as markers because they could not be read. */
  readonly unserializable: readonly string[];
}

/** Said when `changesUnavailable` is set to something that is no text. */
const DEFAULT_UNAVAILABLE_REASON = 'the states could not be compared';

/**
 * Reads the states of a draft within the budget, diffs and redacts them. The diff is made on
 * the copies before redaction, so a secret that changed still shows as changed; only certain
 * changes are listed when a state was read in part.
 *
 * @returns `undefined` when the draft has no states and does not say changes are unavailable
 */
export function readChanges(draft: ChangesInput, context: ChangesContext): ReadChanges | undefined {
  const unavailable = unavailableReason(draft.changesUnavailable);
  if (draft.before === undefined && draft.after === undefined && unavailable === undefined) {
    return undefined;
  }
  const { redactor, paths, reads, work } = context;
  const unserializable = new Set<string>();
  const onIssue = (issue: SerializationIssue): void => {
    context.warnings?.report(issue);
    if (issue.marker && unserializable.size < MAX_UNSERIALIZABLE_PATHS) {
      unserializable.add(redactor.scrubText(issue.path.join('.')));
    }
  };
  const { hashFields } = context;
  const readState = (state: unknown, budget: WalkBudget): unknown => {
    if (state === undefined) return undefined;
    const copy = toJsonSafe(state, { budget, entities: context.entities, onIssue });
    // Hashed before the diff: a changed value shows as changed, by two different hashes.
    return hashFields === undefined ? copy : hashFields.hashFieldsOf(copy);
  };
  // The states come first: they are what the diff, the fields and the alarms are made of. The
  // before-state gets half at most: a diff knows only the keys read on both sides.
  const beforeBudget = draft.after === undefined ? reads : reads.within(Math.ceil(reads.left / 2));
  const before = readState(draft.before, beforeBudget);
  const after = readState(draft.after, reads);
  const beforePartial = reads.isPartial(before);
  const afterPartial = reads.isPartial(after);
  const { changes: raw, cuts } = diffOf(before, after, unavailable, context);
  const partialValues = raw.map(
    (change) => [reads.isPartial(change.before), reads.isPartial(change.after)] as const,
  );
  const diff = redactor.redactDiff(raw, paths, work);
  // The cut is made after redaction: the digest of what it leaves out is of redacted values.
  const recorded = applyArrayCuts(diff, cuts, arrayCutEntry);
  const recordedPartial = applyArrayCuts(partialValues, cuts, () => [false, false] as const);
  const redactedBefore = redactState(before, context);
  const redactedAfter = redactState(after, context);
  const changeSet: AuditChangeSet = {
    diff,
    fields: changedFieldPaths(diff),
    complete: !beforePartial && !afterPartial && !work.exhausted,
    ...(beforePartial || redactedBefore === undefined ? {} : { before: redactedBefore }),
    ...(afterPartial || redactedAfter === undefined ? {} : { after: redactedAfter }),
  };
  return {
    changeSet,
    before: redactedBefore,
    beforePartial,
    after: redactedAfter,
    afterPartial,
    partialValues,
    recorded,
    recordedPartial,
    unavailable,
    unserializable: [...unserializable],
  };
}

/** The diff of the states read, or none when they were not compared (`unavailable`). */
function diffOf(
  before: unknown,
  after: unknown,
  unavailable: string | undefined,
  context: ChangesContext,
): DetailedDiff {
  if (unavailable !== undefined) return { changes: [], cuts: [] };
  const { reads } = context;
  return diffStatesDetailed(before, after, {
    budget: context.work,
    isPartial: (value) => reads.isPartial(value),
    identityKeys: context.entities.identityKeys,
    maxArrayChanges: context.maxArrayChanges,
  });
}

function redactState(state: unknown, context: ChangesContext): unknown {
  if (state === undefined) return undefined;
  // The state is the walk's own copy (readState): recorded as it is when it holds no secret.
  return context.redactor.redactCopy(state, context.paths, context.work);
}

function unavailableReason(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const reason = text(
    typeof value === 'string' ? value.trim() : value,
    AUDIT_EVENT_LIMITS.reasonBytes,
  );
  return reason === undefined || reason === '' ? DEFAULT_UNAVAILABLE_REASON : reason;
}

/**
 * The `changes` section of the event: the states and every diff value placed through the placer
 * (which caps them), the complete field list and its count.
 *
 * @param read - output of {@link readChanges}
 * @param placer - places and caps payload values
 */
export function placeChanges(read: ReadChanges, placer: PayloadPlacer): AuditChanges {
  const changes = {} as AuditChanges;
  const record = changes as unknown as Record<string, unknown>;
  placer.place(record, 'before', read.before, read.beforePartial, 'changes.before');
  placer.place(record, 'after', read.after, read.afterPartial, 'changes.after');
  const { recorded } = read;
  changes.diff = recorded.map((change, index) =>
    placeEntry(change, read.recordedPartial[index], placer),
  );
  // The entry that stands for an array's left-out changes names the array: the list of fields
  // stays complete.
  changes.fields = changedFieldPaths(recorded);
  changes.count = read.changeSet.diff.length;
  if (!read.changeSet.complete) changes.partial = true;
  if (read.unavailable !== undefined) changes.unavailable = read.unavailable;
  if (read.unserializable.length > 0) changes.unserializable = [...read.unserializable];
  return changes;
}

function placeEntry(
  change: AuditFieldChange,
  partial: readonly [boolean, boolean] | undefined,
  placer: PayloadPlacer,
): AuditFieldChange {
  const entry: AuditFieldChange = { path: change.path, op: change.op };
  const record = entry as unknown as Record<string, unknown>;
  placer.place(record, 'before', change.before, partial?.[0] === true);
  placer.place(record, 'after', change.after, partial?.[1] === true);
  return entry;
}
