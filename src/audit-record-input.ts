import { normaliseActor } from './capture/actor';
import type { AuditOrigin } from './capture/request-facts';
import {
  ACTION_RULE,
  isActionName,
  isResourceTypeName,
  quotedForError,
  RESOURCE_TYPE_RULE,
} from './event/action-name';
import type {
  AuditActorInput,
  AuditLevel,
  AuditOutcome,
  AuditSource,
  EcsEventCategory,
  EcsEventType,
} from './event/audit-event';
import { AUDIT_LEVELS, isAuditLevel, isAuditOutcome } from './event/audit-event';
import type { AuditEventDraft } from './event/build-event';
import { AuditRecordError } from './common/audit-record.error';
import { describe } from './common/option-checks';

/** A manual audit entry for {@link AuditService.record}. Only `action` is required. */
export interface AuditRecordInput {
  /** `<resource>.<verb>`, e.g. `invoice.void`. */
  action: string;
  /** The resource acted upon. */
  target?: { type: string; id?: string | number };
  /**
   * Outcome of the action.
   * @default 'success'
   */
  outcome?: AuditOutcome;
  /**
   * Who did it.
   * @default the current request's actor inside a request, else a service actor named after the service
   */
  actor?: AuditActorInput;
  /** State before the change. */
  before?: unknown;
  /** State after the change. */
  after?: unknown;
  /** Human-readable description. */
  message?: string;
  /** Free-form labels (values become strings). */
  labels?: Record<string, string | number | boolean>;
  /** Tenant; defaults to the current request's. */
  tenant?: string;
  /** What was asked for (a read's criteria). */
  filter?: unknown;
  /** What was returned. */
  results?: unknown;
  /**
   * Level of the ECS line.
   * @default 'info' on success, 'warn' otherwise
   */
  level?: AuditLevel;
  /** The error behind a failure (its type and message are recorded). */
  error?: unknown;
  /**
   * When it happened (backfills, imports).
   * @default now
   */
  timestamp?: Date | string | number;
  /** Network origin; defaults to the current request's. */
  source?: AuditSource;
  /** ECS `event.category` override. */
  category?: EcsEventCategory[];
  /** ECS `event.type` override. */
  type?: EcsEventType[];
  /** Extra keys or dotted paths to redact in this entry. */
  redact?: readonly string[];
}

/** Extra fields of {@link AuditService.recordUpdated}. */
export type AuditUpdateExtra = Partial<Omit<AuditRecordInput, 'before' | 'after' | 'message'>> & {
  /** Id of the updated record (`target.id`). @default `after.id ?? before.id` */
  id?: string | number;
};

// Declared in a file of its own so the event checks can throw it too; exported here as before.

/** Whether a value is an object with keys (not null, not an array). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Checks a manual entry before anything is built from it.
 * @throws AuditRecordError saying what to fix.
 */
export function checkRecordInput(input: unknown): asserts input is AuditRecordInput {
  if (!isPlainObject(input)) {
    throw new AuditRecordError(
      'record(input) expects an object such as { action: "invoice.void", target: { type: "invoice", id: 7 } }.',
    );
  }
  checkAction(input.action);
  const target = input.target as AuditRecordInput['target'];
  if (target?.type !== undefined && !isResourceTypeName(target.type)) {
    throw new AuditRecordError(
      `record(): target.type ${quotedForError(target.type)} is refused: ${RESOURCE_TYPE_RULE}.`,
    );
  }
  const outcome = input.outcome ?? 'success';
  if (!isAuditOutcome(outcome)) {
    throw new AuditRecordError(
      `record(): "outcome" must be success, failure or unknown (got ${describe(outcome)}).`,
    );
  }
  if (input.level !== undefined && !isAuditLevel(input.level)) {
    throw new AuditRecordError(
      `record(): "level" must be one of ${AUDIT_LEVELS.join(', ')} (got ${describe(input.level)}).`,
    );
  }
  if (
    target !== undefined &&
    (!isPlainObject(target) || typeof target.type !== 'string' || !target.type)
  ) {
    throw new AuditRecordError(
      'record(): "target" must be { type: string, id?: string | number }.',
    );
  }
}

function checkAction(action: unknown): void {
  if (typeof action !== 'string' || action.trim().length === 0) {
    throw new AuditRecordError(
      'record(): "action" is required, as "<resource>.<verb>", e.g. "invoice.void".',
    );
  }
  if (!isActionName(action)) {
    throw new AuditRecordError(
      `record(): action ${quotedForError(action)} is refused: ${ACTION_RULE}.`,
    );
  }
}

/**
 * The draft of a checked manual entry: what the entry leaves out (actor, source, request,
 * tenant) comes from where it is recorded, the current request or the service itself.
 */
export function draftOfRecord(input: AuditRecordInput, origin: AuditOrigin): AuditEventDraft {
  const { actor: baseActor, facts } = origin;
  const outcome = input.outcome ?? 'success';
  const draft: AuditEventDraft = {
    action: input.action,
    outcome,
    level: input.level ?? (outcome === 'success' ? 'info' : 'warn'),
    actor: input.actor ? normaliseActor(input.actor) : baseActor,
  };
  const source = input.source ?? facts?.source;
  if (source) draft.source = source;
  if (facts) draft.request = facts.request;
  const tenant = input.tenant ?? facts?.tenant;
  if (tenant !== undefined) draft.tenant = tenant;
  if (input.target) {
    draft.target = {
      type: input.target.type,
      ...(input.target.id === undefined ? {} : { id: String(input.target.id) }),
    };
  }
  copyRecordedValues(input, draft);
  return draft;
}

/** The entry's own values, each only when given ('before'/'after' also when given as undefined). */
function copyRecordedValues(input: AuditRecordInput, draft: AuditEventDraft): void {
  if ('before' in input) draft.before = input.before;
  if ('after' in input) draft.after = input.after;
  if (input.message !== undefined) draft.message = input.message;
  if (input.labels !== undefined) draft.labels = input.labels;
  if (input.filter !== undefined) draft.filter = input.filter;
  if (input.results !== undefined) draft.results = input.results;
  if (input.error !== undefined) draft.error = input.error;
  if (input.timestamp !== undefined) draft.timestamp = input.timestamp;
  if (input.category !== undefined) draft.category = input.category;
  if (input.type !== undefined) draft.type = input.type;
  if (input.redact !== undefined) draft.redact = input.redact;
}
