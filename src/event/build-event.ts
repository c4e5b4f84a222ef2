/**
 * Builds the one {@link AuditEvent} that every store and sink receives, from the raw facts the
 * interceptor or `AuditService` gathered. Everything that makes an event safe to keep happens
 * here, once: JSON normalisation, diff, redaction, size limits, within a bounded amount of work.
 */
import {
  AUDIT_EVENT_SCHEMA_VERSION,
  ECS_EVENT_CATEGORIES,
  ECS_EVENT_TYPES,
  isAuditLevel,
  isAuditOutcome,
  type AuditActorInput,
  type AuditEvent,
  type AuditLevel,
  type AuditOutcome,
  type AuditRequestInfo,
  type AuditSource,
  type EcsEventCategory,
  type EcsEventType,
} from './audit-event';
import { categorize } from './categorize';
import { attachAuditChangeSet, type AuditChangeSet } from './change-set';
import { placeChanges, readChanges } from './event-changes';
import {
  AUDIT_EVENT_LIMITS,
  UNKNOWN_TARGET_TYPE,
  buildActor,
  buildError,
  buildLabels,
  buildRequest,
  buildSource,
  buildTarget,
  cleanPaths,
  idText,
  text,
} from './event-fields';
import { DEFAULT_ARRAY_IDENTITY_KEYS } from './array-identity';
import { allowedValues, assertLimit, checkAction, checkId, toTimestamp } from './event-identity';
import { PayloadPlacer, type PayloadLocation } from './event-size';
import type { AuditPrivacy } from './privacy';
import type { Redactor } from './redact';
import type { SerializationWarnings } from './serialization-warnings';
import { WalkBudget } from './walk-budget';

export { AUDIT_EVENT_LIMITS } from './event-fields';

/**
 * Default of {@link BuildAuditEventSettings.maxNodes}: values read from one draft's payloads.
 * Enough for a diff of states of up to 10,000 fields each; building an event from any input
 * then visits at most a few times this many values (tens of milliseconds).
 */
export const AUDIT_EVENT_MAX_NODES = 20_000;

/** Default of {@link BuildAuditEventSettings.maxArrayChanges}. */
export const AUDIT_MAX_ARRAY_CHANGES = 100;

// The diff and the redaction walk the copies, which the read budget bounds; their own budget is
// a safety net sized so that it never runs out first.
const WORK_PER_READ = 8;

/**
 * The raw facts of one audited action. Values may come straight from requests, entities and
 * exceptions: {@link buildAuditEvent} normalises, redacts and bounds all of them.
 */
export interface AuditEventDraft {
  /** Event id. @default a new UUIDv7 */
  id?: string;
  /** When the action happened: a Date, an ISO-8601 string or epoch milliseconds. @default now */
  timestamp?: Date | string | number;
  /** `<resource>.<verb>`, e.g. `user.update`; trimmed, 1 to 200 characters. */
  action: string;
  /** ECS `event.category`; values ECS does not allow are dropped. @default from {@link categorize} */
  category?: readonly EcsEventCategory[];
  /** ECS `event.type`; values ECS does not allow are dropped. @default from {@link categorize} */
  type?: readonly EcsEventType[];
  /** Outcome of the action; an unknown value becomes `unknown`. */
  outcome: AuditOutcome;
  /** Level of the ECS line; an unknown value becomes `info`. */
  level: AuditLevel;
  /**
   * Who acted. Only the known fields are read. `type` defaults to `user` when an id is given,
   * else `anonymous`; `authenticated` defaults to "has an id and is not anonymous".
   */
  actor: AuditActorInput;
  /** Network origin. */
  source?: AuditSource;
  /** The resource acted upon; `id` may be any value and is turned into a string. */
  target?: { type: string; id?: unknown };
  /** Raw state before the action; `undefined` means there was none (a creation). */
  before?: unknown;
  /**
   * Raw state after the action; `undefined` means there is none (a deletion), unless
   * `changesUnavailable` says it could not be loaded.
   */
  after?: unknown;
  /** HTTP request facts; a query string left in `path` is cut off. */
  request?: AuditRequestInfo;
  /** HTTP response facts; a status code outside 100-999 is dropped. */
  response?: { statusCode?: number };
  /** Raw response body, when it is to be recorded. */
  responseBody?: unknown;
  /** Raw request body, when it is to be recorded. */
  body?: unknown;
  /** What made the action fail: an Error or anything thrown. */
  error?: unknown;
  /** Duration of the action in milliseconds; dropped unless a finite number >= 0. */
  durationMs?: number;
  /** Tenant the action belongs to. */
  tenant?: string;
  /** What was asked for (search criteria of a read). */
  filter?: unknown;
  /** What was returned (ids or a summary of a read). */
  results?: unknown;
  /** Human-readable description; capped at 8 KiB. */
  message?: string;
  /**
   * Free-form labels; values become strings (objects as JSON). At most 64 are kept; a label
   * under a sensitive key is redacted.
   */
  labels?: Record<string, unknown>;
  /** Redaction paths for this event only, added to the redactor's (see `Redactor.redact`). */
  redact?: readonly string[];
  /**
   * Set when the states must not be compared, with the reason as text, e.g. `'after-state could
   * not be loaded after the failure'`: the event then records `before` (and `after`, if given)
   * with an empty diff and says why in `changes.unavailable`, instead of a diff claiming that
   * every field was removed.
   */
  changesUnavailable?: string;
}

/** How {@link buildAuditEvent} redacts and bounds an event. */
export interface BuildAuditEventSettings {
  /** Redactor applied to every payload and to the diff. */
  redactor: Redactor;
  /** Largest JSON size, in UTF-8 bytes, of one payload value or one diff value. */
  maxValueBytes: number;
  /** Largest JSON size, in UTF-8 bytes, of the whole event. */
  maxEventBytes: number;
  /**
   * Most values (objects, arrays and each of their entries) read from the draft's payloads, all
   * together: the states first, then body, response body, filter and results. What is left
   * past it is not read; the values cut short become markers that say `partial`.
   * @default {@link AUDIT_EVENT_MAX_NODES}
   */
  maxNodes?: number;
  /**
   * Keys that identify an entity and the items of an array: arrays whose items all carry a
   * unique one are diffed by identity (`items.[id=7].quantity`), and an entity held by another
   * one's property (a relation) is recorded as `{ id }`. @default `['id']`
   */
  arrayIdentityKeys?: readonly string[];
  /**
   * Most diff entries recorded per array; the rest become one entry at the array's path that
   * counts them (alarm rules still see every entry). @default {@link AUDIT_MAX_ARRAY_CHANGES}
   */
  maxArrayChanges?: number;
  /**
   * `id`: a relation (an entity instance held by a property of another object of the state) is
   * recorded as its identity; `full`: it is recorded whole. @default `'id'`
   */
  entityRelations?: 'id' | 'full';
  /** Warned, once per kind and class, about state values that could not be serialised. */
  warnings?: SerializationWarnings;
  /**
   * Pseudonyms, IP truncation and hashed fields (see `AuditPrivacyOptions`), applied before
   * the event leaves the build. @default none
   */
  privacy?: AuditPrivacy;
}

/** An event with its complete change set and what building it cost. */
export interface BuiltAuditEvent {
  /** The event, as {@link buildAuditEvent} returns it. */
  event: AuditEvent;
  /** Every change before any size cut, for the alarm rules; `undefined` without states. */
  changes: AuditChangeSet | undefined;
  /**
   * Values visited by every walk of the build (copies, diff, redaction): bounded by a constant
   * times `maxNodes`, whatever the size of the draft.
   */
  visited: number;
}

/**
 * Builds a complete, JSON-safe, redacted and size-bounded event from a draft.
 *
 * Order matters and is fixed: the states are copied JSON-safe (within the work budget, before
 * any other payload) and diffed before redaction, so a secret that changed still shows as
 * changed; the diff, the states and the other payloads are redacted (the latter while they are
 * read, so a secret is never read and a payload is read no further than `maxValueBytes`); each
 * value larger than `maxValueBytes` becomes a truncated marker (after redaction, so no digest is
 * ever taken of a secret); finally, while the event is larger than `maxEventBytes`, the largest
 * values become markers, then diff entries are left out from the end (the last entry marks the
 * cut), and only if the names alone do not fit, field paths are left out from the end.
 *
 * Nothing hides by size: `changes.fields` and `changes.count` list every changed field (up to
 * the hard cap above, which `changes.fieldsTruncated` reports), every marker describes the
 * original value (its size and digest, or `partial` when it was not read in full), and
 * `event.truncated` says what was cut. The complete change set, redacted but uncut, is attached
 * to the returned event (never serialised; see `takeAuditChangeSet`) for the alarm rules.
 *
 * The work is bounded by `maxNodes`, not by the size of the draft: a state larger than the
 * budget is read in its own key order up to it, and the diff then lists only what is certain
 * (`changes.partial`).
 *
 * `maxEventBytes` bounds what payloads and the diff may add; the scalar fields are bounded by
 * {@link AUDIT_EVENT_LIMITS} instead (up to about 100 KiB with every label and role at its
 * maximum), so a limit below that is met only as far as payloads and the diff allow.
 *
 * Optional fields that are absent are left out entirely (no `undefined` keys). The result
 * survives `JSON.parse(JSON.stringify(event))` unchanged.
 *
 * @param draft - the raw facts
 * @param settings - redactor and size limits
 * @throws AuditRecordError when `action`, `id` or `timestamp` is invalid;
 *   AuditConfigurationError when a limit is not a positive integer: these are programming
 *   errors, not data problems
 */
export function buildAuditEvent(
  draft: AuditEventDraft,
  settings: BuildAuditEventSettings,
): AuditEvent {
  return buildAuditEventWithChanges(draft, settings).event;
}

/**
 * {@link buildAuditEvent}, also returning the complete change set and the work done.
 *
 * @param draft - the raw facts
 * @param settings - redactor, size limits and work budget
 * @throws as {@link buildAuditEvent}
 */
export function buildAuditEventWithChanges(
  draft: AuditEventDraft,
  settings: BuildAuditEventSettings,
): BuiltAuditEvent {
  const { redactor, maxValueBytes, maxEventBytes } = settings;
  assertLimit('maxValueBytes', maxValueBytes);
  assertLimit('maxEventBytes', maxEventBytes);
  const maxNodes = settings.maxNodes ?? AUDIT_EVENT_MAX_NODES;
  assertLimit('maxNodes', maxNodes, 'values');
  const privacy = settings.privacy;
  const event = buildSkeleton(draft);
  if (privacy !== undefined) {
    privacy.applyToActor(event.actor);
    if (event.source !== undefined) privacy.applyToSource(event.source);
  }
  const paths = cleanPaths(draft.redact);
  const reads = new WalkBudget(maxNodes);
  const work = new WalkBudget(Math.min(maxNodes * WORK_PER_READ, Number.MAX_SAFE_INTEGER));

  const maxArrayChanges = settings.maxArrayChanges ?? AUDIT_MAX_ARRAY_CHANGES;
  assertLimit('maxArrayChanges', maxArrayChanges, 'entries');
  const read = readChanges(draft, {
    redactor,
    paths,
    reads,
    work,
    entities: {
      identityKeys: settings.arrayIdentityKeys ?? DEFAULT_ARRAY_IDENTITY_KEYS,
      relations: settings.entityRelations ?? 'id',
    },
    maxArrayChanges,
    warnings: settings.warnings,
    hashFields: privacy?.hashesFields === true ? privacy : undefined,
  });
  // Read before the placer is made, so it knows whether the budget ran out.
  const payloads = readPayloads(draft, redactor, paths, reads, maxValueBytes);
  if (privacy?.hashesFields === true) hashPayloadFields(payloads, privacy);
  const placer = new PayloadPlacer(maxValueBytes, reads.exhausted || work.exhausted);
  if (read !== undefined) event.changes = placeChanges(read, placer);
  addFacts(event, draft, redactor, paths, payloads, placer);
  placer.fit(event, read?.recorded ?? [], maxEventBytes);
  if (read !== undefined) attachAuditChangeSet(event, read.changeSet);
  return { event, changes: read?.changeSet, visited: reads.visited + work.visited };
}

const CATEGORY_SET: ReadonlySet<string> = new Set(ECS_EVENT_CATEGORIES);
const TYPE_SET: ReadonlySet<string> = new Set(ECS_EVENT_TYPES);

/** The identity, classification, actor, source and target: everything that comes first. */
function buildSkeleton(draft: AuditEventDraft): AuditEvent {
  const action = checkAction(draft.action);
  const id = checkId(draft.id);
  const timestamp = toTimestamp(draft.timestamp);
  const target = buildTarget(draft.target);
  // A target without a type says nothing about the resource: let the action name decide.
  const classification = categorize(
    action,
    target?.type === UNKNOWN_TARGET_TYPE ? undefined : target?.type,
  );
  const event: AuditEvent = {
    schemaVersion: AUDIT_EVENT_SCHEMA_VERSION,
    id,
    timestamp,
    action,
    category: allowedValues(draft.category, CATEGORY_SET) ?? classification.category,
    type: allowedValues(draft.type, TYPE_SET) ?? classification.type,
    outcome: isAuditOutcome(draft.outcome) ? draft.outcome : 'unknown',
    level: isAuditLevel(draft.level) ? draft.level : 'info',
    actor: buildActor(draft.actor),
  };
  const source = buildSource(draft.source);
  if (source !== undefined) event.source = source;
  if (target !== undefined) event.target = target;
  return event;
}

/** A payload other than the states, redacted while read, and whether it was read in part. */
interface ReadPayload {
  readonly value: unknown;
  readonly partial: boolean;
}

type OtherPayload = Exclude<PayloadLocation, 'changes.before' | 'changes.after'>;

/** Body, response body, filter and results, in that order of priority for the budget. */
function readPayloads(
  draft: AuditEventDraft,
  redactor: Redactor,
  paths: readonly string[] | undefined,
  reads: WalkBudget,
  maxValueBytes: number,
): Record<OtherPayload, ReadPayload | undefined> {
  const readOne = (value: unknown): ReadPayload | undefined => {
    if (value === undefined) return undefined;
    // Read no further than certainly too large to keep: it would become a marker anyway.
    const copy = redactor.redact(value, paths, { budget: reads, maxBytes: maxValueBytes });
    return { value: copy, partial: reads.isPartial(copy) };
  };
  return {
    body: readOne(draft.body),
    'response.body': readOne(draft.responseBody),
    filter: readOne(draft.filter),
    results: readOne(draft.results),
  };
}

/** The hashed fields of the payloads other than the states, in their own copies. */
function hashPayloadFields(
  payloads: Record<OtherPayload, ReadPayload | undefined>,
  privacy: AuditPrivacy,
): void {
  for (const location of Object.keys(payloads) as OtherPayload[]) {
    const payload = payloads[location];
    if (payload !== undefined) {
      payloads[location] = { ...payload, value: privacy.hashFieldsOf(payload.value) };
    }
  }
}

/** Everything after the changes, in the event's field order. */
function addFacts(
  event: AuditEvent,
  draft: AuditEventDraft,
  redactor: Redactor,
  paths: readonly string[] | undefined,
  payloads: Record<OtherPayload, ReadPayload | undefined>,
  placer: PayloadPlacer,
): void {
  const record = event as unknown as Record<string, unknown>;
  const place = (holder: Record<string, unknown>, key: string, location: OtherPayload): void => {
    const payload = payloads[location];
    if (payload !== undefined) placer.place(holder, key, payload.value, payload.partial, location);
  };
  const request = buildRequest(draft.request);
  if (request !== undefined) event.request = request;
  const response: { statusCode?: number; body?: unknown } = {};
  const statusCode = draft.response?.statusCode;
  if (
    Number.isInteger(statusCode) &&
    (statusCode as number) >= 100 &&
    (statusCode as number) <= 999
  ) {
    response.statusCode = statusCode;
  }
  place(response, 'body', 'response.body');
  if (Object.keys(response).length > 0) event.response = response;
  place(record, 'body', 'body');
  const error = buildError(draft.error, redactor, paths);
  if (error !== undefined) event.error = error;
  const duration = draft.durationMs;
  if (typeof duration === 'number' && Number.isFinite(duration) && duration >= 0) {
    event.durationMs = duration + 0;
  }
  const tenant = idText(draft.tenant, AUDIT_EVENT_LIMITS.identityBytes);
  if (tenant !== undefined) event.tenant = tenant;
  place(record, 'filter', 'filter');
  place(record, 'results', 'results');
  const message = text(draft.message, AUDIT_EVENT_LIMITS.messageBytes);
  if (message !== undefined) event.message = redactor.scrubText(message);
  const labels = buildLabels(draft.labels, redactor);
  if (labels !== undefined) event.labels = labels;
}
