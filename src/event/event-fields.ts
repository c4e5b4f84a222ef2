/**
 * The scalar facts of an event (actor, source, target, request, error, labels), read from
 * whatever the application handed over and bounded by {@link AUDIT_EVENT_LIMITS}: a getter that
 * throws or a value of the wrong type costs the field, never the record.
 */
import { types } from 'node:util';
import type { AuditActor, AuditEvent, AuditRequestInfo, AuditSource } from './audit-event';
import { REDACTED, type Redactor } from './redact';
import {
  capString,
  sanitizeString,
  setJsonProperty,
  toJsonSafe,
  unserializableMarker,
} from './serialize';
import { WalkBudget } from './walk-budget';

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
  /** `changes.unavailable`, the reason the states were not compared, in UTF-8 bytes. */
  reasonBytes: 512,
});

/**
 * The raw facts of one audited action. Values may come straight from requests, entities and
 * exceptions: {@link buildAuditEvent} normalises, redacts and bounds all of them.

/** Target type recorded when the application gave a target without one. */
export const UNKNOWN_TARGET_TYPE = 'unknown';

const ACTOR_TYPES: ReadonlySet<string> = new Set<AuditActor['type']>([
  'user',
  'service',
  'anonymous',
]);

type JsonRecord = Record<string, unknown>;

/**
 * A JSON-safe copy for a text field of at most `maxBytes`: read no further than the text can
 * show, so a huge object thrown or passed as an id costs no more than the field it ends up in.
 */
function boundedCopy(value: unknown, maxBytes: number): unknown {
  return toJsonSafe(value, { budget: new WalkBudget(maxBytes), maxBytes });
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

/** A scalar as sanitised text of at most `maxBytes`; `undefined` for anything else. */
export function text(value: unknown, maxBytes: number): string | undefined {
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

/**
 * An identifier as text: ids may be numbers, BigInts or objects such as a MongoDB ObjectId
 * (whose toJSON is the hex).
 */
export function idText(value: unknown, maxBytes: number): string | undefined {
  const direct = text(value, maxBytes);
  if (direct !== undefined || !isObject(value)) return direct;
  const safe = boundedCopy(value, maxBytes);
  if (safe === null || safe === undefined) return undefined;
  return capString(typeof safe === 'string' ? safe : JSON.stringify(safe), maxBytes);
}

/** The actor, from the known fields only; `type` and `authenticated` inferred when absent. */
export function buildActor(input: unknown): AuditActor {
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

/** IP and user agent, when given. */
export function buildSource(input: unknown): AuditSource | undefined {
  const source: AuditSource = {};
  const ip = text(read(input, 'ip'), AUDIT_EVENT_LIMITS.identityBytes);
  if (ip !== undefined) source.ip = ip;
  const userAgent = text(read(input, 'userAgent'), AUDIT_EVENT_LIMITS.longTextBytes);
  if (userAgent !== undefined) source.userAgent = userAgent;
  return Object.keys(source).length > 0 ? source : undefined;
}

/** The target with its id as text; `unknown` stands for a missing type. */
export function buildTarget(input: unknown): AuditEvent['target'] {
  if (!isObject(input)) return undefined;
  const type = text(read(input, 'type'), AUDIT_EVENT_LIMITS.identityBytes);
  const target: NonNullable<AuditEvent['target']> = {
    type: type === undefined || type === '' ? UNKNOWN_TARGET_TYPE : type,
  };
  const id = idText(read(input, 'id'), AUDIT_EVENT_LIMITS.identityBytes);
  if (id !== undefined) target.id = id;
  return target;
}

/** Request facts; a query string left in the path is cut off. */
export function buildRequest(input: unknown): AuditRequestInfo | undefined {
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

/** Anything thrown, as `{ type, message }`; a thrown plain object is redacted first. */
export function buildError(
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
        const limit = AUDIT_EVENT_LIMITS.errorMessageBytes;
        const options = { budget: new WalkBudget(limit), maxBytes: limit };
        message = JSON.stringify(redactor.redact(input, paths, options)) ?? '';
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
    message: capString(
      redactor.scrubText(sanitizeString(message)),
      AUDIT_EVENT_LIMITS.errorMessageBytes,
    ),
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
  const safe = boundedCopy(value, AUDIT_EVENT_LIMITS.labelValueBytes);
  return typeof safe === 'string' ? safe : JSON.stringify(safe);
}

/** Labels as strings: at most 64, sensitive keys redacted, each value capped. */
export function buildLabels(
  input: unknown,
  redactor: Redactor,
): Record<string, string> | undefined {
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
      if (value !== undefined) value = redactor.scrubText(value);
    }
    if (value === undefined) continue;
    setJsonProperty(labels, key, capString(value, AUDIT_EVENT_LIMITS.labelValueBytes));
    count += 1;
  }
  return count > 0 ? labels : undefined;
}

/** The string entries of a draft's per-event redaction paths. */
export function cleanPaths(paths: unknown): readonly string[] | undefined {
  if (!Array.isArray(paths) || paths.length === 0) return undefined;
  return (paths as unknown[]).every((path) => typeof path === 'string')
    ? (paths as string[])
    : (paths as unknown[]).filter((path): path is string => typeof path === 'string');
}
