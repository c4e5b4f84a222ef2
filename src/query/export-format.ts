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

// Spreadsheet programs run a cell that starts with one of these as a formula (CSV injection).
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV cell: a leading formula character is neutralised with a single quote (OWASP's advice
 * for CSV injection), and the cell is quoted when it holds a comma, quote or line break (RFC 4180).
 */
export function csvCell(value: string): string {
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
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
