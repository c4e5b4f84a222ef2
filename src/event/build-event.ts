/**
 * Builds the one {@link AuditEvent} that every store and sink receives, from the raw facts the
 * interceptor or `AuditService` gathered. Everything that makes an event safe to keep happens
 * here, once: JSON normalisation, diff, redaction, size limits.
 */
import { types } from 'node:util';
import { v7 as uuidv7 } from 'uuid';
import {
  AUDIT_EVENT_SCHEMA_VERSION,
  ECS_EVENT_CATEGORIES,
  isAuditLevel,
  isAuditOutcome,
  ECS_EVENT_TYPES,
  type AuditActor,
  type AuditActorInput,
  type AuditChanges,
  type AuditEvent,
  type AuditFieldChange,
  type AuditLevel,
  type AuditOutcome,
  type AuditRequestInfo,
  type AuditSource,
  type EcsEventCategory,
  type EcsEventType,
} from './audit-event';
import { categorize } from './categorize';
import { changedFieldPaths, diffStates, diffTruncationEntry } from './diff';
import { REDACTED, type Redactor } from './redact';
import {
  capString,
  capValueMeasured,
  sanitizeString,
  setJsonProperty,
  toJsonSafe,
  truncatedMarker,
  unserializableMarker,
} from './serialize';

/** Size limits applied to the scalar fields of an event (payloads use the settings instead). */
export const AUDIT_EVENT_LIMITS = Object.freeze({
  /** Longest `action`, in characters. */
  actionChars: 200,
  /** Longest caller-supplied `id`, in characters. */
  idChars: 200,
  /** `message`, in UTF-8 bytes. */
  messageBytes: 8 * 1024,
  /** `error.message`, in UTF-8 bytes. */
  errorMessageBytes: 2 * 1024,
  /** `error.type`, in UTF-8 bytes. */
  errorTypeBytes: 256,
  /** Number of labels kept (the first ones, in key order). */
  labelCount: 64,
  /** Label key, in UTF-8 bytes. */
  labelKeyBytes: 128,
  /** Label value, in UTF-8 bytes. */
  labelValueBytes: 1024,
  /** Identity strings: actor and target fields, tenant, request and trace ids, IP. */
  identityBytes: 512,
  /** Number of actor roles kept. */
  roleCount: 64,
  /** `request.path`, `request.route` and `source.userAgent`, in UTF-8 bytes. */
  longTextBytes: 2 * 1024,
});

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
  /** Raw state after the action; `undefined` means there is none (a deletion). */
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
}

/** How {@link buildAuditEvent} redacts and bounds an event. */
export interface BuildAuditEventSettings {
  /** Redactor applied to every payload and to the diff. */
  redactor: Redactor;
  /** Largest JSON size, in UTF-8 bytes, of one payload value or one diff value. */
  maxValueBytes: number;
  /** Largest JSON size, in UTF-8 bytes, of the whole event. */
  maxEventBytes: number;
}

const ACTOR_TYPES: ReadonlySet<string> = new Set<AuditActor['type']>([
  'user',
  'service',
  'anonymous',
]);
const CATEGORY_SET: ReadonlySet<string> = new Set(ECS_EVENT_CATEGORIES);
const TYPE_SET: ReadonlySet<string> = new Set(ECS_EVENT_TYPES);
const NULL_JSON_BYTES = 4;
const UNKNOWN_TARGET_TYPE = 'unknown';
// The largest the entry that marks a cut diff can be, so the cut is sized before it is made.
const DIFF_TRUNCATION_ENTRY_MAX_BYTES = Buffer.byteLength(
  JSON.stringify({
    path: ['$audit'],
    op: 'changed',
    after: {
      $audit: 'truncated',
      bytes: Number.MAX_SAFE_INTEGER,
      sha256: 'f'.repeat(64),
      entries: Number.MAX_SAFE_INTEGER,
    },
  }),
  'utf8',
);

type JsonRecord = Record<string, unknown>;

/** A payload value placed in the event, with its JSON measured once. */
interface PayloadSlot {
  readonly holder: JsonRecord;
  readonly key: string;
  readonly value: unknown;
  readonly json: string;
  readonly bytes: number;
}

/**
 * Builds a complete, JSON-safe, redacted and size-bounded event from a draft.
 *
 * Order matters and is fixed: payloads are made JSON-safe; the diff is computed on the safe
 * states; before, after, diff, body, response body, filter and results are redacted (with the
 * draft's extra paths); each payload value and each diff value larger than `maxValueBytes` is
 * replaced by a truncated marker (after redaction, so no digest is ever taken of a secret);
 * finally, while the event is larger than `maxEventBytes`, the largest payload values are
 * replaced by markers, and if that is not enough the diff list is cut and ends with an entry
 * marking the cut (see `diffTruncationEntry`).
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
 * @throws TypeError when `action`, `id` or `timestamp` is invalid, or a limit is not a positive
 *   integer: these are programming errors, not data problems
 */
export function buildAuditEvent(
  draft: AuditEventDraft,
  settings: BuildAuditEventSettings,
): AuditEvent {
  const { redactor, maxValueBytes, maxEventBytes } = settings;
  assertLimit('maxValueBytes', maxValueBytes);
  assertLimit('maxEventBytes', maxEventBytes);

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
  const record = event as unknown as JsonRecord;
  const slots: PayloadSlot[] = [];
  const place = (holder: JsonRecord, key: string, value: unknown): void => {
    if (value === undefined) return;
    const measured = capValueMeasured(value, maxValueBytes);
    if (measured.json === undefined) return;
    // `null` stands in until the event's skeleton is measured; the value goes back in after.
    holder[key] = null;
    slots.push({ holder, key, value: measured.value, json: measured.json, bytes: measured.bytes });
  };

  const paths = cleanPaths(draft.redact);
  const redactSafe = (safe: unknown): unknown =>
    safe === undefined ? undefined : redactor.redact(safe, paths);
  const redactPayload = (value: unknown): unknown =>
    value === undefined ? undefined : redactSafe(toJsonSafe(value));

  const source = buildSource(draft.source);
  if (source !== undefined) event.source = source;
  if (target !== undefined) event.target = target;

  const safeBefore = draft.before === undefined ? undefined : toJsonSafe(draft.before);
  const safeAfter = draft.after === undefined ? undefined : toJsonSafe(draft.after);
  if (safeBefore !== undefined || safeAfter !== undefined) {
    const diff = redactor.redactDiff(diffStates(safeBefore, safeAfter), paths);
    const changes = {} as AuditChanges;
    const changesRecord = changes as unknown as JsonRecord;
    place(changesRecord, 'before', redactSafe(safeBefore));
    place(changesRecord, 'after', redactSafe(safeAfter));
    changes.diff = diff.map((change) => {
      const entry: AuditFieldChange = { path: change.path, op: change.op };
      const entryRecord = entry as unknown as JsonRecord;
      place(entryRecord, 'before', change.before);
      place(entryRecord, 'after', change.after);
      return entry;
    });
    changes.fields = changedFieldPaths(diff);
    event.changes = changes;
  }

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
  place(response, 'body', redactPayload(draft.responseBody));
  if (Object.keys(response).length > 0) event.response = response;

  place(record, 'body', redactPayload(draft.body));
  const error = buildError(draft.error, redactor, paths);
  if (error !== undefined) event.error = error;
  const duration = draft.durationMs;
  if (typeof duration === 'number' && Number.isFinite(duration) && duration >= 0) {
    event.durationMs = duration + 0;
  }
  const tenant = idText(draft.tenant, AUDIT_EVENT_LIMITS.identityBytes);
  if (tenant !== undefined) event.tenant = tenant;
  place(record, 'filter', redactPayload(draft.filter));
  place(record, 'results', redactPayload(draft.results));
  const message = text(draft.message, AUDIT_EVENT_LIMITS.messageBytes);
  if (message !== undefined) event.message = message;
  const labels = buildLabels(draft.labels, redactor);
  if (labels !== undefined) event.labels = labels;

  // One serialisation of the small skeleton plus the sizes measured per payload gives the
  // exact size without serialising the whole event again.
  let total = Buffer.byteLength(JSON.stringify(event), 'utf8');
  for (const slot of slots) {
    slot.holder[slot.key] = slot.value;
    total += slot.bytes - NULL_JSON_BYTES;
  }
  if (total > maxEventBytes) total = truncateLargest(slots, total, maxEventBytes);
  if (total > maxEventBytes && event.changes !== undefined) {
    cutDiff(event.changes, total - maxEventBytes);
  }
  return event;
}

function assertLimit(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new TypeError(
      `buildAuditEvent: settings.${name} must be a positive integer number of bytes, got ${String(value)}.`,
    );
  }
}

function preview(value: unknown): string {
  let shown: string;
  try {
    shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    shown = typeof value;
  }
  return shown.length > 80 ? `${shown.slice(0, 80)}\u2026` : shown;
}

function checkAction(value: unknown): string {
  if (typeof value !== 'string') {
    throw new TypeError(
      `Audit event action must be a string like "user.update", got ${typeof value}.`,
    );
  }
  const action = sanitizeString(value.trim());
  if (action === '') {
    throw new TypeError(
      'Audit event action is empty; name it "<resource>.<verb>", e.g. "user.update".',
    );
  }
  if (action.length > AUDIT_EVENT_LIMITS.actionChars) {
    throw new TypeError(
      `Audit event action is ${action.length} characters long (${preview(action)}); ` +
        `the limit is ${AUDIT_EVENT_LIMITS.actionChars}: use a short "<resource>.<verb>" name ` +
        'and put details in message or labels.',
    );
  }
  return action;
}

function checkId(value: unknown): string {
  if (value === undefined) return uuidv7();
  const id = typeof value === 'string' ? value.trim() : '';
  if (id === '' || id.length > AUDIT_EVENT_LIMITS.idChars) {
    throw new TypeError(
      `Audit event id ${preview(value)} is invalid: give a non-empty string of at most ` +
        `${AUDIT_EVENT_LIMITS.idChars} characters, or leave it out to get a UUIDv7.`,
    );
  }
  return sanitizeString(id);
}

function toTimestamp(value: unknown): string {
  if (value === undefined) return new Date().toISOString();
  let time = Number.NaN;
  if (types.isDate(value)) time = Date.prototype.getTime.call(value);
  else if (typeof value === 'string') time = Date.parse(value);
  else if (typeof value === 'number') time = value;
  const date = new Date(time);
  if (Number.isNaN(date.getTime())) {
    throw new TypeError(
      `Audit event timestamp ${preview(value)} is not a valid date: pass a valid Date, an ` +
        'ISO-8601 string (e.g. "2025-01-31T12:00:00.000Z") or epoch milliseconds, or leave it out.',
    );
  }
  return date.toISOString();
}

function allowedValues<T extends string>(
  values: readonly T[] | undefined,
  allowed: ReadonlySet<string>,
): T[] | undefined {
  if (!Array.isArray(values)) return undefined;
  const kept: T[] = [];
  for (const value of values as readonly unknown[]) {
    if (typeof value === 'string' && allowed.has(value) && !kept.includes(value as T)) {
      kept.push(value as T);
    }
  }
  return kept.length > 0 ? kept : undefined;
}

function isObject(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null;
}

// A getter on an application's user or entity object must not cost the audit record.
function read(source: unknown, key: string): unknown {
  if (!isObject(source)) return undefined;
  try {
    return source[key];
  } catch {
    return undefined;
  }
}

function text(value: unknown, maxBytes: number): string | undefined {
  let raw: string;
  switch (typeof value) {
    case 'string':
      raw = value;
      break;
    case 'number':
      if (!Number.isFinite(value)) return undefined;
      raw = String(value);
      break;
    case 'bigint':
    case 'boolean':
      raw = String(value);
      break;
    default:
      return undefined;
  }
  return capString(sanitizeString(raw), maxBytes);
}

// Ids may be numbers, BigInts or objects such as a MongoDB ObjectId (whose toJSON is the hex).
function idText(value: unknown, maxBytes: number): string | undefined {
  const direct = text(value, maxBytes);
  if (direct !== undefined || !isObject(value)) return direct;
  const safe = toJsonSafe(value);
  if (safe === null || safe === undefined) return undefined;
  return capString(typeof safe === 'string' ? safe : JSON.stringify(safe), maxBytes);
}

function buildActor(input: unknown): AuditActor {
  const limit = AUDIT_EVENT_LIMITS.identityBytes;
  const id = idText(read(input, 'id'), limit);
  const declaredType = read(input, 'type');
  const type: AuditActor['type'] =
    typeof declaredType === 'string' && ACTOR_TYPES.has(declaredType)
      ? (declaredType as AuditActor['type'])
      : id !== undefined
        ? 'user'
        : 'anonymous';
  const declaredAuth = read(input, 'authenticated');
  const actor: AuditActor = {
    type,
    authenticated:
      typeof declaredAuth === 'boolean' ? declaredAuth : type !== 'anonymous' && id !== undefined,
  };
  if (id !== undefined) actor.id = id;
  for (const key of ['name', 'email', 'provider', 'realm'] as const) {
    const value = text(read(input, key), limit);
    if (value !== undefined) actor[key] = value;
  }
  const roles = read(input, 'roles');
  if (Array.isArray(roles)) {
    const kept: string[] = [];
    for (const role of roles.slice(0, AUDIT_EVENT_LIMITS.roleCount) as unknown[]) {
      const value = idText(role, limit);
      if (value !== undefined) kept.push(value);
    }
    actor.roles = kept;
  }
  const impersonatorInput = read(input, 'impersonator');
  if (isObject(impersonatorInput)) {
    const impersonator: NonNullable<AuditActor['impersonator']> = {};
    const impersonatorId = idText(read(impersonatorInput, 'id'), limit);
    if (impersonatorId !== undefined) impersonator.id = impersonatorId;
    for (const key of ['name', 'email'] as const) {
      const value = text(read(impersonatorInput, key), limit);
      if (value !== undefined) impersonator[key] = value;
    }
    if (Object.keys(impersonator).length > 0) actor.impersonator = impersonator;
  }
  return actor;
}

function buildSource(input: unknown): AuditSource | undefined {
  const source: AuditSource = {};
  const ip = text(read(input, 'ip'), AUDIT_EVENT_LIMITS.identityBytes);
  if (ip !== undefined) source.ip = ip;
  const userAgent = text(read(input, 'userAgent'), AUDIT_EVENT_LIMITS.longTextBytes);
  if (userAgent !== undefined) source.userAgent = userAgent;
  return Object.keys(source).length > 0 ? source : undefined;
}

function buildTarget(input: unknown): AuditEvent['target'] {
  if (!isObject(input)) return undefined;
  const type = text(read(input, 'type'), AUDIT_EVENT_LIMITS.identityBytes);
  const target: NonNullable<AuditEvent['target']> = {
    type: type === undefined || type === '' ? UNKNOWN_TARGET_TYPE : type,
  };
  const id = idText(read(input, 'id'), AUDIT_EVENT_LIMITS.identityBytes);
  if (id !== undefined) target.id = id;
  return target;
}

function buildRequest(input: unknown): AuditRequestInfo | undefined {
  const request: AuditRequestInfo = {};
  const method = text(read(input, 'method'), 32);
  if (method !== undefined) request.method = method.toUpperCase();
  const path = text(read(input, 'path'), AUDIT_EVENT_LIMITS.longTextBytes);
  // A query string can carry tokens (`?access_token=`); the path alone is what was promised.
  if (path !== undefined) request.path = path.split(/[?#]/, 1)[0] ?? '';
  const route = text(read(input, 'route'), AUDIT_EVENT_LIMITS.longTextBytes);
  if (route !== undefined) request.route = route;
  const id = text(read(input, 'id'), AUDIT_EVENT_LIMITS.identityBytes);
  if (id !== undefined) request.id = id;
  const traceId = text(read(input, 'traceId'), AUDIT_EVENT_LIMITS.identityBytes);
  if (traceId !== undefined) request.traceId = traceId;
  return Object.keys(request).length > 0 ? request : undefined;
}

function buildError(
  input: unknown,
  redactor: Redactor,
  paths: readonly string[] | undefined,
): AuditEvent['error'] {
  if (input === undefined || input === null) return undefined;
  let type = 'Error';
  let message: string;
  try {
    if (typeof input === 'string') {
      message = input;
    } else if (isObject(input)) {
      const name = read(input, 'name');
      if (typeof name === 'string' && name !== '') type = name;
      const inputMessage = read(input, 'message');
      if (typeof inputMessage === 'string') {
        message = inputMessage;
      } else if (input instanceof Error || types.isNativeError(input)) {
        message = '';
      } else {
        // A thrown plain object can carry request config and headers: redact before keeping it.
        message = JSON.stringify(redactor.redact(toJsonSafe(input), paths)) ?? '';
      }
    } else if (typeof input === 'function') {
      // Never the source text of a function: only its name.
      type = 'function';
      message = input.name;
    } else {
      type = typeof input;
      message = primitiveText(input);
    }
  } catch (err) {
    message = unserializableMarker(err);
  }
  return {
    type: capString(sanitizeString(type), AUDIT_EVENT_LIMITS.errorTypeBytes),
    message: capString(sanitizeString(message), AUDIT_EVENT_LIMITS.errorMessageBytes),
  };
}

function primitiveText(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'symbol':
      return value.toString();
    case 'number':
    case 'bigint':
    case 'boolean':
    case 'undefined':
      return String(value);
    default:
      return typeof value;
  }
}

function labelValue(value: unknown): string | undefined {
  if (value === null) return 'null';
  const direct = text(value, Number.MAX_SAFE_INTEGER);
  if (direct !== undefined) return direct;
  if (typeof value === 'number') return String(value);
  if (!isObject(value)) return undefined;
  const safe = toJsonSafe(value);
  return typeof safe === 'string' ? safe : JSON.stringify(safe);
}

function buildLabels(input: unknown, redactor: Redactor): Record<string, string> | undefined {
  if (!isObject(input) || Array.isArray(input)) return undefined;
  let keys: string[];
  try {
    keys = Object.keys(input);
  } catch {
    return undefined;
  }
  const labels: Record<string, string> = {};
  let count = 0;
  for (const rawKey of keys) {
    if (count >= AUDIT_EVENT_LIMITS.labelCount) break;
    const key = capString(sanitizeString(rawKey), AUDIT_EVENT_LIMITS.labelKeyBytes);
    if (key === '' || Object.prototype.hasOwnProperty.call(labels, key)) continue;
    let value: string | undefined;
    if (redactor.isSensitiveKey(rawKey)) {
      value = REDACTED;
    } else {
      let raw: unknown;
      try {
        raw = input[rawKey];
      } catch (err) {
        raw = unserializableMarker(err);
      }
      value = labelValue(raw);
    }
    if (value === undefined) continue;
    setJsonProperty(labels, key, capString(value, AUDIT_EVENT_LIMITS.labelValueBytes));
    count += 1;
  }
  return count > 0 ? labels : undefined;
}

function cleanPaths(paths: unknown): readonly string[] | undefined {
  if (!Array.isArray(paths) || paths.length === 0) return undefined;
  return (paths as unknown[]).every((path) => typeof path === 'string')
    ? (paths as string[])
    : (paths as unknown[]).filter((path): path is string => typeof path === 'string');
}

/** Replaces the largest payload values by markers until the event fits; returns the new size. */
function truncateLargest(slots: readonly PayloadSlot[], total: number, maxBytes: number): number {
  const bySize = [...slots].sort((a, b) => b.bytes - a.bytes);
  let size = total;
  for (const slot of bySize) {
    if (size <= maxBytes) break;
    const marker = truncatedMarker(slot.json);
    const markerBytes = Buffer.byteLength(JSON.stringify(marker), 'utf8');
    // Sorted by size: once a marker saves nothing, no later value is worth replacing either.
    if (markerBytes >= slot.bytes) break;
    slot.holder[slot.key] = marker;
    size -= slot.bytes - markerBytes;
  }
  return size;
}

/** Drops diff entries from the end, with their field paths, until `excess` bytes are freed. */
function cutDiff(changes: AuditChanges, excess: number): void {
  const { diff } = changes;
  if (diff.length === 0) return;
  let keep = diff.length;
  let freed = 0;
  // Each dropped entry frees its JSON, its field path's JSON and one comma in each list; the
  // marking entry and the commas around the cut take some of that back.
  while (keep > 0 && freed - 2 - DIFF_TRUNCATION_ENTRY_MAX_BYTES < excess) {
    keep -= 1;
    const entry = diff[keep] as AuditFieldChange;
    freed +=
      Buffer.byteLength(JSON.stringify(entry), 'utf8') +
      Buffer.byteLength(JSON.stringify(entry.path.join('.')), 'utf8') +
      2;
  }
  const kept = diff.slice(0, keep);
  kept.push(diffTruncationEntry(diff.slice(keep)));
  changes.diff = kept;
  changes.fields = changedFieldPaths(kept);
}
