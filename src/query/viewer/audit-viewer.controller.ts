import { AuditLogger } from '../../common/audit-logger';
import { messageOf } from '../../common/message-of';
import { Get, HttpStatus, Inject, Req, Res, SetMetadata, UseFilters } from '@nestjs/common';
import { AUDIT_RESOLVED_OPTIONS } from '../../audit.constants';
import type { ResolvedAuditOptions } from '../../audit.options';
import type { AuditRecordInput } from '../../audit-record-input';
import { AuditService } from '../../audit.service';
import { AuditContextStorage } from '../../capture/audit-context';
import { requestPath, type AuditHttpRequest } from '../../capture/http-adapter';
import { requestIdOf } from '../../capture/request-facts';
import { chainSourceOf } from '../../integrity/chain-source';
import { AuditStore } from '../../stores/audit-store';
import { auditIntegrityStatus } from '../audit-integrity';
import { type AuditQuery, type AuditQueryResult } from '../audit-query';
import { AuditQueryError } from '../../common/audit-query.error';
import { recordAuditRead } from '../audit-read';
import { AuditRouteResponder } from '../audit-route-responder';
import { readerTenantOf, tenantMaySee, type ReaderTenant } from '../api/audit-api-tenant';
import { AUDIT_API_OPTIONS, type ResolvedAuditApiOptions } from '../api/audit-api.options';
import { auditQueryFromParams } from '../query-params';
import { readInSlices, withinReadBudget } from '../read-budget';
import { renderEventPage } from './render-event';
import { MAX_TIMELINE_EVENTS, renderHistoryPage } from './render-history';
import type { ViewerIntegrity } from './render-integrity';
import { renderListPage } from './render-list';
import { renderMessagePage } from './render-message';
import {
  queryWithoutOwnReads,
  SHOW_READS_PARAM,
  showsOwnReads,
  type PageWithoutReads,
} from './own-reads';
import { VIEWER_HEADERS } from './viewer-assets';
import { VIEWER_ENTRY_METADATA } from './viewer-entry.module';
import { viewerErrorAnswer } from './viewer-error-page';
import { viewerLinksFor, type ViewerLinks } from './viewer-links';
import { ViewerPageException } from './viewer-page.exception';
import { ViewerPageFilter } from './viewer-page.filter';

/** Events per list page unless the URL gives `limit`. */
export const VIEWER_PAGE_SIZE = 50;

// Longer route parameters are no id this library wrote; answering "not found" is enough.
const MAX_PARAM_LENGTH = 512;

/** Which page a read was made through, as the `page` label of its `audit.read` event. */
type ViewerPageName = 'list' | 'event' | 'history';

/** HTML error pages for what is refused around every viewer route (guards, interceptors). */
function ViewerPage(): MethodDecorator {
  return UseFilters(ViewerPageFilter);
}

/** A route parameter as the platform decoded it: what `@Param(name)` would give. */
function paramOf(req: AuditHttpRequest, name: string): string {
  const value = req.params?.[name];
  return typeof value === 'string' ? value : '';
}

/** The first text value of each query parameter, for refilling the form and building links. */
function textParams(query: unknown): Record<string, string> {
  // No prototype: a parameter named "__proto__" must stay a plain key.
  const out = Object.create(null) as Record<string, string>;
  if (query === null || typeof query !== 'object') return out;
  for (const [key, value] of Object.entries(query as Record<string, unknown>)) {
    const first: unknown = Array.isArray(value) ? value[0] : value;
    out[key] = typeof first === 'string' ? first : '';
  }
  return out;
}

/**
 * The audit viewer: server-rendered HTML pages for people who are not developers (support,
 * compliance) to find who changed what, from a browser. Every page read is itself recorded as an
 * `audit.read` event labelled `via: viewer`.
 *
 * Deliberately undecorated: `AuditModule` mounts it with `@Controller(path)`, the configured
 * guards and `@AuditExempt()` on a subclass, so the path and access rules come from the options.
 *
 * Routes, below the mount path: `` (the list), `view/events/:id` (one event),
 * `view/history/:type/:id` (the timeline of one record). Every handler writes its own page (see
 * `AuditRouteResponder` for why), so the app's global interceptors and exception filters cannot
 * wrap or rewrite it.
 */
export class AuditViewerController {
  private readonly logger = new AuditLogger();
  private readonly readerTenants = new WeakMap<AuditHttpRequest, string>();

  constructor(
    protected readonly audit: AuditService,
    protected readonly contexts: AuditContextStorage,
    @Inject(AUDIT_RESOLVED_OPTIONS) protected readonly options: ResolvedAuditOptions,
    @Inject(AuditRouteResponder) protected readonly responder: AuditRouteResponder,
    @Inject(AuditStore) protected readonly store: AuditStore,
    @Inject(AUDIT_API_OPTIONS) protected readonly api: ResolvedAuditApiOptions,
  ) {}

  /**
   * The reader's tenant by `api.tenant`, remembered so the page view is recorded under it; a
   * reader without one gets a 403 page (recorded as a failed read, as every refused page is).
   */
  private async readerTenant(req: AuditHttpRequest, links: ViewerLinks): Promise<ReaderTenant> {
    try {
      const tenant = await readerTenantOf(this.api, req);
      if (tenant !== undefined) this.readerTenants.set(req, tenant);
      return tenant;
    } catch (error) {
      throw new ViewerPageException(
        renderMessagePage({ title: 'No tenant', message: messageOf(error), links }),
        HttpStatus.FORBIDDEN,
      );
    }
  }

  /**
   * The event list: filter form, events newest first, keyset paging. Filters use the shared
   * vocabulary (`actor`, `resource`, `action`, `outcome`, `since`, `from`, `to`, `requestId`,
   * `tenant`, `limit`, `cursor`); invalid ones answer 400 with the form and the reason. The
   * trail's own reads are hidden unless `reads=1` (see `own-reads.ts`).
   * Tagged as the viewer's entry, so that Fastify serves it with a trailing slash too.
   */
  @Get('')
  @ViewerPage()
  @SetMetadata(VIEWER_ENTRY_METADATA, true)
  list(@Req() req: AuditHttpRequest, @Res() res: unknown): Promise<void> {
    return this.answer(res, () => this.listPage(req, req.query));
  }

  /** One event: who, when, where, how, and its changes; 404 for an unknown id. */
  @Get('view/events/:id')
  @ViewerPage()
  event(@Req() req: AuditHttpRequest, @Res() res: unknown): Promise<void> {
    return this.answer(res, () => this.eventPage(req, paramOf(req, 'id')));
  }

  /** Every event of one record (`target.type` and `target.id`), newest first. */
  @Get('view/history/:type/:id')
  @ViewerPage()
  history(@Req() req: AuditHttpRequest, @Res() res: unknown): Promise<void> {
    return this.answer(res, () => this.historyPage(req, paramOf(req, 'type'), paramOf(req, 'id')));
  }

  /** The banner's facts: whether the store keeps a chain, and the latest verification. */
  private integrity(): ViewerIntegrity {
    return {
      chained: chainSourceOf(this.store) !== undefined,
      status: auditIntegrityStatus(this.audit.lastVerification()),
    };
  }

  /** Answers with the page `render` resolves to (200), or with the page of its error. */
  private answer(res: unknown, render: () => Promise<string>): Promise<void> {
    return this.responder.answer(
      res,
      async () => ({ body: await render(), headers: VIEWER_HEADERS }),
      (error) => this.responder.send(res, viewerErrorAnswer(error, this.logger)),
    );
  }

  private async listPage(req: AuditHttpRequest, query: unknown): Promise<string> {
    const links = viewerLinksFor(requestPath(req), 0);
    const params = textParams(query);
    let filter: AuditQuery & { limit: number };
    let page: PageWithoutReads;
    try {
      const parsed = auditQueryFromParams((query ?? {}) as Record<string, unknown>, Date.now(), [
        SHOW_READS_PARAM,
      ]);
      const tenant = await this.readerTenant(req, links);
      filter = {
        ...parsed,
        ...(tenant !== undefined && { tenant }),
        limit: parsed.limit ?? VIEWER_PAGE_SIZE,
      };
      const read = (f: AuditQuery): Promise<AuditQueryResult> =>
        readInSlices((slice) => this.audit.query({ ...f, ...slice }), f.limit, f.cursor);
      page = showsOwnReads(params, filter)
        ? { result: await read(filter), hidden: 0 }
        : await queryWithoutOwnReads(read, filter);
    } catch (error) {
      if (!(error instanceof AuditQueryError)) throw error;
      await this.recordRead(req, 'list', {
        filter: { ...params },
        error,
        message: 'Audit trail read refused: invalid filter',
      });
      throw new ViewerPageException(
        renderListPage({ links, params, error: error.message, integrity: this.integrity() }),
        HttpStatus.BAD_REQUEST,
      );
    }
    const { result, hidden } = page;
    await this.recordRead(req, 'list', {
      filter,
      results: {
        count: result.items.length,
        ids: result.items.map((event) => event.id),
        more: result.nextCursor !== undefined,
        ...(hidden > 0 ? { hiddenReads: hidden } : {}),
      },
      message: `Viewed ${result.items.length} audit events`,
    });
    const items = await withinReadBudget(result.items);
    return renderListPage({
      links,
      params,
      result: { items, ...(result.nextCursor !== undefined && { nextCursor: result.nextCursor }) },
      hiddenReads: hidden,
      integrity: this.integrity(),
    });
  }

  private async eventPage(req: AuditHttpRequest, id: string): Promise<string> {
    const links = viewerLinksFor(requestPath(req), 3);
    const tenant = await this.readerTenant(req, links);
    const found = id.length <= MAX_PARAM_LENGTH ? await this.audit.get(id) : undefined;
    // Another tenant's event is shown like a missing one.
    const event = found !== undefined && tenantMaySee(tenant, found) ? found : undefined;
    await this.recordRead(req, 'event', {
      filter: { id },
      results: { found: event !== undefined },
      target: { type: 'audit_event', id: id.slice(0, MAX_PARAM_LENGTH) },
      message: event === undefined ? 'Audit event not found' : 'Viewed an audit event',
    });
    if (event === undefined) {
      throw new ViewerPageException(
        renderMessagePage({
          title: 'Event not found',
          message: `There is no event with id "${id.slice(0, 200)}". Check the link, or find the event from the list.`,
          links,
        }),
        HttpStatus.NOT_FOUND,
      );
    }
    return renderEventPage({ links, event, integrity: this.integrity() });
  }

  private async historyPage(req: AuditHttpRequest, type: string, id: string): Promise<string> {
    const links = viewerLinksFor(requestPath(req), 4);
    const filter = { resourceType: type, resourceId: id };
    if (type.length > MAX_PARAM_LENGTH || id.length > MAX_PARAM_LENGTH) {
      const error = new AuditQueryError(
        `The record type and id must each be at most ${MAX_PARAM_LENGTH} characters long.`,
      );
      await this.recordRead(req, 'history', {
        filter,
        error,
        message: 'Audit trail read refused: record type or id too long',
      });
      throw new ViewerPageException(
        renderMessagePage({ title: 'No such record', message: error.message, links }),
        HttpStatus.BAD_REQUEST,
      );
    }
    const tenant = await this.readerTenant(req, links);
    const limit = MAX_TIMELINE_EVENTS;
    const page = await readInSlices(
      (slice) => this.audit.historyPage(type, id, { ...slice, tenant }),
      limit,
    );
    const more = page.nextCursor !== undefined;
    // No target on purpose: reading a record's history must not add to that history.
    await this.recordRead(req, 'history', {
      filter,
      results: { count: page.items.length, more },
      message: `Viewed the audit history of ${type} ${id}`,
    });
    const events = await withinReadBudget(page.items);
    return renderHistoryPage({ links, type, id, events, more, integrity: this.integrity() });
  }

  /**
   * Records the read as `audit.read`. The viewer's routes are exempt from the interceptor, so
   * there is no request context; one is opened here so the event carries the reader (actor),
   * source and request id like any audited request, instead of the service actor.
   */
  private async recordRead(
    req: AuditHttpRequest,
    page: ViewerPageName,
    read: {
      filter: unknown;
      message: string;
      results?: unknown;
      error?: unknown;
      target?: AuditRecordInput['target'];
    },
  ): Promise<void> {
    const input: Omit<AuditRecordInput, 'action'> = {
      filter: read.filter,
      message: `${read.message} (viewer)`,
      labels: { via: 'viewer', page },
    };
    if (read.results !== undefined) input.results = read.results;
    if (read.target !== undefined) input.target = read.target;
    const tenant = this.readerTenants.get(req);
    if (tenant !== undefined) input.tenant = tenant;
    if (read.error !== undefined) {
      input.outcome = 'failure';
      input.error = read.error;
    }
    await recordAuditRead(this.audit, this.contexts, req, requestIdOf(req, this.options), input);
  }
}
