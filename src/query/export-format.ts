import { escapeControlCharacters } from '../common/control-characters';
import type { AuditEvent } from '../event/audit-event';

/**
 * The flat, one-row-per-event shape of exports (CSV) and of terminal tables, shared by the CLI
 * and the HTTP API so a file exported from either reads the same.
 */

/** Column names of a CSV export, in order. */
export const EXPORT_COLUMNS = [
  'id',
  'timestamp',
  'action',
  'outcome',
  'actor_id',
  'actor_name',
  'actor_email',
  'actor_type',
  'target_type',
  'target_id',
  'changed_fields',
  'source_ip',
  'user_agent',
  'http_method',
  'url_path',
  'status_code',
  'request_id',
  'tenant',
  'message',
  'error',
] as const;

/** One exported column name. */
export type ExportColumn = (typeof EXPORT_COLUMNS)[number];

/** The values of {@link EXPORT_COLUMNS} for one event, as text ('' when absent). */
export function exportCells(event: AuditEvent): string[] {
  const row: Record<ExportColumn, string | number | undefined> = {
    id: event.id,
    timestamp: event.timestamp,
    action: event.action,
    outcome: event.outcome,
    actor_id: event.actor.id,
    actor_name: event.actor.name,
    actor_email: event.actor.email,
    actor_type: event.actor.type,
    target_type: event.target?.type,
    target_id: event.target?.id,
    changed_fields: event.changes?.fields.join(' '),
    source_ip: event.source?.ip,
    user_agent: event.source?.userAgent,
    http_method: event.request?.method,
    url_path: event.request?.path,
    status_code: event.response?.statusCode,
    request_id: event.request?.id,
    tenant: event.tenant,
    message: event.message,
    error: event.error ? `${event.error.type}: ${event.error.message}` : undefined,
  };
  return EXPORT_COLUMNS.map((column) => {
    const value = row[column];
    return value === undefined || value === null ? '' : String(value);
  });
}

/**
 * Where a spreadsheet program may start a formula (CSV injection): at the start of a cell, and,
 * in a program whose list separator is `;` or that splits on tabs, after any `;`, `,` or tab
 * inside one; spaces before the sign do not stop it, and full-width signs count too.
 */
const FORMULA = /(^|[;,\t])(\s*)(?=[=+\-@|\uff1d\uff0b\uff0d\uff20\uff5c])/gu;
/** A cell starting with a tab or carriage return is read as a formula by some programs. */
const BLANK_START = /^[\t\r]/;

/**
 * One CSV cell, safe to open in a spreadsheet:
 * - control characters (escape sequences and the like) are written as `\uXXXX` text;
 * - every place a formula could start gets a single quote before it (OWASP's advice for CSV
 *   injection): `'=1`, `' =1`, `x;'=HYPERLINK(…)`;
 * - the cell is quoted when it holds a comma, quote or line break (RFC 4180).
 */
export function csvCell(value: string): string {
  const visible = escapeControlCharacters(value, true);
  const neutral = visible.replace(
    FORMULA,
    (_match, before: string, space: string) => `${before}'${space}`,
  );
  const safe = BLANK_START.test(neutral) ? `'${neutral}` : neutral;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** One CSV record with its CRLF terminator (RFC 4180). */
export function csvLine(cells: readonly string[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/** The header record of a CSV export. */
export function csvHeader(): string {
  return csvLine(EXPORT_COLUMNS);
}

/** One event as a CSV record. */
export function csvRecord(event: AuditEvent): string {
  return csvLine(exportCells(event));
}

/** One event as an NDJSON line (the full event, as stored). */
export function ndjsonLine(event: AuditEvent): string {
  return `${JSON.stringify(event)}\n`;
}
