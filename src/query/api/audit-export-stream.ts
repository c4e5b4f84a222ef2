import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { AuditEvent } from '../../event/audit-event';
import type { AuditQueryResult } from '../audit-query';
import { csvHeader, csvRecord, ndjsonLine } from '../export-format';
import { AuditError } from '../../common/audit-error';

/** An export format of the HTTP API: how the file is named, typed and written. */
export interface AuditExportFormat {
  /** File extension and route suffix (`export.<extension>`). */
  extension: 'csv' | 'ndjson';
  /** `Content-Type` of the response. */
  contentType: string;
  /** Text before the first event (the CSV header record), or ''. */
  header(): string;
  /** One event as text, with its terminator. */
  row(event: AuditEvent): string;
}

/** The formats of `GET /<path>/export.csv` and `GET /<path>/export.ndjson`. */
export const AUDIT_EXPORT_FORMATS: Readonly<Record<'csv' | 'ndjson', AuditExportFormat>> = {
  csv: {
    extension: 'csv',
    contentType: 'text/csv; charset=utf-8',
    header: csvHeader,
    row: csvRecord,
  },
  ndjson: {
    extension: 'ndjson',
    contentType: 'application/x-ndjson',
    header: () => '',
    row: ndjsonLine,
  },
};

/** Events read from the store per page of an export (keyset paging). */
export const EXPORT_PAGE_SIZE = 1000;

/**
 * Characters of export text written between two yields to the event loop (and sent as one
 * chunk): a page of large events (up to `maxEventBytes` each) is written a slice at a time, so
 * other requests are served while an export runs.
 */
export const EXPORT_CHUNK_CHARS = 256 * 1024;

/** How an export stream ended, reported once to `onEnd`. */
export interface AuditExportEnd {
  /** Events handed to the response. */
  count: number;
  /**
   * `complete`: every matching event was written; `failed`: reading a page failed; `over-limit`:
   * more events matched than the export limit; `aborted`: the response closed before the end
   * (the client went away).
   */
  status: 'complete' | 'failed' | 'over-limit' | 'aborted';
  /** The error behind `failed` or `over-limit`. */
  error?: unknown;
}

/** Thrown into an export stream that matches more events than the export limit allows. */
export class AuditExportLimitError extends AuditError {
  override readonly name = 'AuditExportLimitError';
  override readonly code = 'AUDIT_EXPORT_LIMIT_EXCEEDED';
}

/** Where an export reads its pages: the first one already read, the rest on demand. */
export interface AuditExportSource {
  /** The first page, read before the response starts so its errors get a proper status. */
  first: AuditQueryResult;
  /** Reads the page after `cursor`. */
  next(cursor: string): Promise<AuditQueryResult>;
}

/**
 * The body of an export as a byte stream that reads one page per chunk, only when the response
 * asks for more (backpressure): a slow client holds one page in memory, not the whole trail.
 * A page that fails to load fails the stream, so the adapter aborts the response instead of
 * ending it, and a truncated file never looks complete. Destroying the stream (the client went
 * away) stops the reads.
 *
 * @param limit most events the export may contain; one more fails the stream.
 * @param onEnd called exactly once, before the stream ends, errors or closes.
 */
export function auditExportStream(
  format: AuditExportFormat,
  source: AuditExportSource,
  limit: number,
  onEnd: (end: AuditExportEnd) => Promise<void>,
): Readable {
  async function* chunks(): AsyncGenerator<string> {
    const end: AuditExportEnd = { count: 0, status: 'aborted' };
    try {
      let page = source.first;
      let head = format.header();
      for (;;) {
        if (end.count + page.items.length > limit) {
          throw new AuditExportLimitError(
            `the export matches more than ${limit} events (api.exportLimit)`,
          );
        }
        let chunk = head;
        let rows = 0;
        head = '';
        for (const event of page.items) {
          chunk += format.row(event);
          rows += 1;
          if (chunk.length >= EXPORT_CHUNK_CHARS) {
            end.count += rows;
            rows = 0;
            yield chunk;
            chunk = '';
            await nextTurn();
          }
        }
        end.count += rows;
        // An empty chunk would end nothing and send nothing: skip it.
        if (chunk !== '') yield chunk;
        if (page.nextCursor === undefined) break;
        // A store may answer without a turn of the event loop: give one before the next page.
        await nextTurn();
        page = await source.next(page.nextCursor);
      }
      end.status = 'complete';
    } catch (error) {
      end.status = error instanceof AuditExportLimitError ? 'over-limit' : 'failed';
      end.error = error;
      throw error;
    } finally {
      await onEnd(end);
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}
