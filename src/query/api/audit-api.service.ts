import { AuditLogger } from '../../common/audit-logger';
import {
  BadRequestException,
  Inject,
  Injectable,
  NotFoundException,
  StreamableFile,
} from '@nestjs/common';
import { AUDIT_RESOLVED_OPTIONS } from '../../audit.constants';
import type { ResolvedAuditOptions } from '../../audit.options';
import { AuditService } from '../../audit.service';
import { AuditContextStorage } from '../../capture/audit-context';
import { setResponseHeader, type AuditHttpRequest } from '../../capture/http-adapter';
import {
  READ_SLICE_EVENTS,
  readInSlices,
  withinReadBudget,
  type AuditPageEvent,
} from '../read-budget';
import { readerTenantOf, tenantMaySee, type ReaderTenant } from './audit-api-tenant';
import { messageOf } from '../../common/message-of';
import type { AuditEvent } from '../../event/audit-event';
import { parseAuditQuery, type AuditQuery } from '../audit-query';
import { AuditQueryError } from '../../common/audit-query.error';
import { auditIntegrityStatus, type AuditIntegrityStatus } from '../audit-integrity';
import { auditQueryFromParams } from '../query-params';
import { AUDIT_API_OPTIONS, type ResolvedAuditApiOptions } from './audit-api.options';
import { AuditApiReadRecorder, type ReadRecord } from './audit-api-read-recorder';
import {
  AUDIT_EXPORT_FORMATS,
  auditExportStream,
  EXPORT_PAGE_SIZE,
  type AuditExportEnd,
} from './audit-export-stream';

/** The body of `GET /<path>/events`: one page of events, newest first. */
export interface AuditApiPage {
  /** Events, newest first; one larger than 16 KiB is collapsed (see `INLINE_EVENT_BYTES`). */
  items: AuditPageEvent[];
  /** Pass as `cursor` to get the next page; `null` on the last page. */
  nextCursor: string | null;
}

/**
 * The body of `GET /<path>/history/:type/:id`: one page of the timeline of one resource, the
 * latest `limit` events (default 50) drawn oldest first.
 */
export interface AuditApiHistory {
  /** The page's events, oldest first; one larger than 16 KiB is collapsed. */
  items: AuditPageEvent[];
  /** Pass as `cursor` to get the page of older events; `null` when there is none. */
  nextCursor: string | null;
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/**
 * What the routes of the audit API do: read the trail through `AuditService`, answer bad filters
 * with 400 and unknown ids with 404, stream exports, and record every call as an `audit.read`
 * event with the filter used (the routes are `@AuditExempt()`, so the interceptor records none).
 * @internal
 */
@Injectable()
export class AuditApiService {
  private readonly logger = new AuditLogger();
  private readonly reads: AuditApiReadRecorder;

  constructor(
    private readonly audit: AuditService,
    contexts: AuditContextStorage,
    @Inject(AUDIT_RESOLVED_OPTIONS) private readonly options: ResolvedAuditOptions,
    @Inject(AUDIT_API_OPTIONS) private readonly api: ResolvedAuditApiOptions,
  ) {
    this.reads = new AuditApiReadRecorder(audit, contexts, options);
  }

  /**
   * Runs first on every route (before the app's guards): marks the response uncacheable and
   * echoes the request id, so denied answers carry both too.
   */
  prepare(req: AuditHttpRequest, res: unknown): void {
    const note = this.reads.noteOf(req);
    setResponseHeader(res, 'Cache-Control', 'no-store');
    setResponseHeader(res, this.options.requestIdHeader, note.requestId);
  }

  /** `GET /<path>/events`: one page of events matching the query-string filters. */
  async list(req: AuditHttpRequest, params: Record<string, unknown>): Promise<AuditApiPage> {
    const query = await this.parse(req, 'events', params);
    let page;
    try {
      page = await readInSlices(
        (slice) => this.audit.query({ ...query, ...slice }),
        query.limit,
        query.cursor,
      );
    } catch (error) {
      throw await this.reads.failed(
        req,
        { endpoint: 'events', filter: query, message: 'Audit events query failed' },
        error,
      );
    }
    await this.reads.succeeded(req, {
      endpoint: 'events',
      filter: query,
      results: { count: page.items.length, more: page.nextCursor !== undefined },
      message: `Read ${page.items.length} audit events`,
    });
    return { items: await withinReadBudget(page.items), nextCursor: page.nextCursor ?? null };
  }

  /** `GET /<path>/events/:id`: one event, or 404. */
  async one(req: AuditHttpRequest, id: string): Promise<AuditEvent> {
    const read = {
      endpoint: 'event' as const,
      filter: { id },
      target: { type: 'audit_event', id },
    };
    const tenant = await this.tenantOf(req, read);
    let event;
    try {
      event = await this.audit.get(id);
    } catch (error) {
      throw await this.reads.failed(req, { ...read, message: 'Audit event read failed' }, error);
    }
    // Another tenant's event is answered like a missing one: its existence is not the reader's.
    if (event === undefined || !tenantMaySee(tenant, event)) {
      throw await this.reads.failed(
        req,
        { ...read, results: { count: 0 }, message: 'Audit event not found' },
        new NotFoundException(
          `No audit event with id ${JSON.stringify(id.slice(0, 100))}. Take ids from GET events.`,
        ),
      );
    }
    await this.reads.succeeded(req, {
      ...read,
      results: { count: 1 },
      message: 'Read an audit event',
    });
    return event;
  }

  /**
   * `GET /<path>/history/:type/:id`: one page of the timeline of one resource (`limit`,
   * `cursor` in the query string), oldest first within the page.
   */
  async history(
    req: AuditHttpRequest,
    type: string,
    id: string,
    params: Record<string, unknown> = {},
  ): Promise<AuditApiHistory> {
    const { limit, cursor, tenant } = await this.parse(req, 'history', pagingOf(params));
    // No target on purpose: reading a resource's history must not add to that history.
    const read = { endpoint: 'history' as const, filter: { resourceType: type, resourceId: id } };
    let page;
    try {
      page = await readInSlices(
        (slice) => this.audit.historyPage(type, id, { ...slice, tenant }),
        limit,
        cursor,
      );
    } catch (error) {
      throw await this.reads.failed(req, { ...read, message: 'Audit history read failed' }, error);
    }
    await this.reads.succeeded(req, {
      ...read,
      results: { count: page.items.length, more: page.nextCursor !== undefined },
      message: `Read the audit history of ${type} ${id}`,
    });
    const items = await withinReadBudget([...page.items].reverse());
    return { items, nextCursor: page.nextCursor ?? null };
  }

  /** `GET /<path>/integrity`: what the latest `AuditService.verify()` of this process found. */
  async integrity(req: AuditHttpRequest): Promise<AuditIntegrityStatus> {
    const status = auditIntegrityStatus(this.audit.lastVerification());
    const { verified } = status;
    await this.reads.succeeded(req, {
      endpoint: 'integrity',
      filter: {},
      results: verified
        ? { verified, intact: status.intact, verifiedTo: status.verifiedTo }
        : { verified },
      message: 'Read the integrity of the audit trail',
    });
    return status;
  }

  /**
   * `GET /<path>/export.<format>`: every matching event, streamed page by page. Filter errors
   * and a store that fails on the first page are answered with a status; later failures abort
   * the response. The read is recorded once the stream ends, with the number of rows sent.
   */
  async export(
    req: AuditHttpRequest,
    res: unknown,
    params: Record<string, unknown>,
    formatName: 'csv' | 'ndjson',
  ): Promise<StreamableFile> {
    const format = AUDIT_EXPORT_FORMATS[formatName];
    const query = await this.parse(req, 'export', params, formatName);
    const base = { endpoint: 'export' as const, filter: query, format: formatName };
    const limit = this.api.exportLimit;
    // A page of large events parsed at once would block the event loop: read it in slices.
    const page = (size: number, cursor?: string) =>
      readInSlices((slice) => this.audit.query({ ...query, ...slice }), size, cursor);
    let first;
    try {
      // Read before answering, so a failing store gets a status: only as much as can tell an
      // export over a small limit, else one slice, so the response starts at once.
      first = await page(firstReadSize(limit));
    } catch (error) {
      throw await this.reads.failed(req, { ...base, message: 'Audit export failed' }, error);
    }
    if (
      first.items.length > limit ||
      (first.items.length === limit && first.nextCursor !== undefined)
    ) {
      throw await this.reads.failed(
        req,
        { ...base, results: { count: 0 }, message: 'Audit export refused: too many events' },
        new BadRequestException(
          `The export matches more than ${limit} events, the most one export may contain (api.exportLimit). Narrow it with since, from, to or other filters.`,
        ),
      );
    }
    const stream = auditExportStream(
      format,
      { first, next: (cursor) => page(EXPORT_PAGE_SIZE, cursor) },
      limit,
      (end) => this.exportEnded(req, base, end),
    );
    // Nest 12 also does this; older adapters leave the source paused when the client goes away.
    const raw = (res as { raw?: unknown }).raw ?? res;
    (raw as NodeJS.EventEmitter).once('close', () => {
      if (!stream.readableEnded) stream.destroy();
    });
    return new StreamableFile(stream, {
      type: format.contentType,
      disposition: `attachment; filename="audit-${today()}.${format.extension}"`,
    })
      .setErrorHandler((_error, response) => {
        // Already logged by exportEnded. Ending the response normally would make the truncated
        // file look complete, so it is cut instead.
        const target = response as { destroy?: () => void; destroyed?: boolean };
        if (!target.destroyed && typeof target.destroy === 'function') target.destroy();
      })
      .setErrorLogger(() => undefined);
  }

  private async exportEnded(
    req: AuditHttpRequest,
    base: Pick<ReadRecord, 'endpoint' | 'filter' | 'format'>,
    end: AuditExportEnd,
  ): Promise<void> {
    const results = { count: end.count };
    const what = `${end.count} audit events as ${base.format?.toUpperCase() ?? ''}`;
    if (end.status === 'complete') {
      await this.reads.recordQuietly(req, {
        ...base,
        outcome: 'success',
        results,
        message: `Exported ${what}`,
      });
      return;
    }
    let error: unknown = end.error;
    if (end.status === 'failed') {
      this.logger.error(
        `nestjs-audit: the audit export (request ${this.reads.noteOf(req).requestId}) failed after ${end.count} events and was aborted: ${messageOf(end.error)}`,
      );
    } else if (end.status === 'over-limit') {
      this.logger.warn(
        `nestjs-audit: the audit export (request ${this.reads.noteOf(req).requestId}) was aborted after ${end.count} events: ${messageOf(end.error)}. Narrow it with since, from, to or other filters, or raise api.exportLimit.`,
      );
    } else {
      error = new Error(`the client closed the connection after ${end.count} events`);
    }
    await this.reads.recordQuietly(req, {
      ...base,
      outcome: 'failure',
      results,
      error,
      message: `Audit export aborted after ${what}`,
    });
  }

  /** The reader's tenant (see `api.tenant`), or records the refusal and answers 403. */
  private async tenantOf(
    req: AuditHttpRequest,
    read: Pick<ReadRecord, 'endpoint' | 'filter'>,
  ): Promise<ReaderTenant> {
    try {
      const tenant = await readerTenantOf(this.api, req);
      if (tenant !== undefined) this.reads.noteOf(req).tenant = tenant;
      return tenant;
    } catch (error) {
      const message = 'Audit trail read refused: no tenant for the reader';
      throw await this.reads.failed(req, { ...read, message }, error);
    }
  }

  /** Turns query-string filters into a validated query, or records the failure and answers 400. */
  private async parse(
    req: AuditHttpRequest,
    endpoint: ReadRecord['endpoint'],
    params: Record<string, unknown>,
    format?: string,
  ): Promise<AuditQuery> {
    // Copied: Fastify hands a null-prototype object, and the event must hold plain data.
    const given: Record<string, unknown> = { ...params };
    try {
      const query = auditQueryFromParams(given);
      if (endpoint === 'export') {
        for (const key of ['limit', 'cursor'] as const) {
          if (query[key] !== undefined) {
            throw new AuditQueryError(
              `"${key}" does not apply to an export, which always contains every matching event (up to api.exportLimit). Remove it, and narrow the export with since, from, to or other filters.`,
            );
          }
        }
      }
      parseAuditQuery(query);
      // With pseudonyms on, the read is recorded with the pseudonym, never the raw id asked for.
      if (query.actorId !== undefined) query.actorId = this.audit.pseudonymOf(query.actorId);
      const tenant = await this.tenantOf(req, { endpoint, filter: given });
      // The reader's tenant wins over any "tenant" filter the reader gave.
      return tenant === undefined ? query : { ...query, tenant };
    } catch (error) {
      if (!(error instanceof AuditQueryError)) throw error;
      throw await this.reads.failed(
        req,
        {
          endpoint,
          filter: given,
          message: 'Audit trail read refused: invalid filter',
          ...(format === undefined ? {} : { format }),
        },
        new BadRequestException(error.message),
      );
    }
  }
}

/** Only the paging parameters of a history request: its filters are the route's type and id. */
function pagingOf(params: Record<string, unknown>): Record<string, unknown> {
  const paging: Record<string, unknown> = {};
  if (params.limit !== undefined) paging.limit = params.limit;
  if (params.cursor !== undefined) paging.cursor = params.cursor;
  return paging;
}

/**
 * Events an export reads before its response starts: one more than its limit when that fits in
 * a page (so an export known to be too large is refused with 400, not cut), else one slice.
 */
function firstReadSize(exportLimit: number): number {
  return exportLimit < EXPORT_PAGE_SIZE ? exportLimit + 1 : READ_SLICE_EVENTS;
}
