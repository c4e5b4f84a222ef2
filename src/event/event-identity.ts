/**
 * The identity of an event (id, time, action, classification) and the checks that reject
 * programming errors early: these throw, unlike the data fields, which never do.
 */
import { types } from 'node:util';
import { v7 as uuidv7 } from 'uuid';
import { AUDIT_EVENT_LIMITS } from './event-fields';
import { sanitizeString } from './serialize';
import { AuditRecordError } from '../common/audit-record.error';
import { AuditConfigurationError } from '../common/audit-configuration.error';
import { isoNow, isoTime } from '../common/iso-time';

/**
 * Checks that a size or work limit of the build settings is a positive whole number.
 *
 * @throws AuditConfigurationError naming the setting
 */
export function assertLimit(name: string, value: unknown, unit = 'bytes'): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new AuditConfigurationError(
      `buildAuditEvent: settings.${name} must be a positive integer number of ${unit}, got ${String(value)}.`,
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

/**
 * The action, trimmed and sanitised.
 * @throws AuditRecordError when it is not a 1-200 character string
 */
export function checkAction(value: unknown): string {
  if (typeof value !== 'string') {
    throw new AuditRecordError(
      `Audit event action must be a string like "user.update", got ${typeof value}.`,
    );
  }
  const action = sanitizeString(value.trim());
  if (action === '') {
    throw new AuditRecordError(
      'Audit event action is empty; name it "<resource>.<verb>", e.g. "user.update".',
    );
  }
  if (action.length > AUDIT_EVENT_LIMITS.actionChars) {
    throw new AuditRecordError(
      `Audit event action is ${action.length} characters long (${preview(action)}); ` +
        `the limit is ${AUDIT_EVENT_LIMITS.actionChars}: use a short "<resource>.<verb>" name ` +
        'and put details in message or labels.',
    );
  }
  return action;
}

/**
 * The given id, or a new UUIDv7.
 * @throws AuditRecordError when it is not a 1-200 character string
 */
export function checkId(value: unknown): string {
  if (value === undefined) return uuidv7();
  const id = typeof value === 'string' ? value.trim() : '';
  if (id === '' || id.length > AUDIT_EVENT_LIMITS.idChars) {
    throw new AuditRecordError(
      `Audit event id ${preview(value)} is invalid: give a non-empty string of at most ` +
        `${AUDIT_EVENT_LIMITS.idChars} characters, or leave it out to get a UUIDv7.`,
    );
  }
  return sanitizeString(id);
}

/**
 * The time as a UTC ISO-8601 string, now by default.
 * @throws AuditRecordError for an invalid date
 */
export function toTimestamp(value: unknown): string {
  if (value === undefined) return isoNow();
  let time = Number.NaN;
  if (types.isDate(value)) time = Date.prototype.getTime.call(value);
  else if (typeof value === 'string') time = Date.parse(value);
  else if (typeof value === 'number') time = value;
  // What a Date holds: NaN for a time too far from the epoch.
  time = new Date(time).getTime();
  if (Number.isNaN(time)) {
    throw new AuditRecordError(
      `Audit event timestamp ${preview(value)} is not a valid date: pass a valid Date, an ` +
        'ISO-8601 string (e.g. "2025-01-31T12:00:00.000Z") or epoch milliseconds, or leave it out.',
    );
  }
  return isoTime(time);
}

/** The allowed values of a list, once each, in order; `undefined` when none is left. */
export function allowedValues<T extends string>(
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
