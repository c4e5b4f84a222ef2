import { Get, Inject, Req, Res } from '@nestjs/common';
import type { AuditHttpRequest } from '../../capture/http-adapter';
import { AuditRouteResponder } from '../audit-route-responder';
import { AuditApiService } from './audit-api.service';

/**
 * The query string as the platform parsed it: what `@Query()` would give. Read from the request
 * because `@Query()` would also run the app's global pipes on it.
 */
function queryOf(req: AuditHttpRequest): Record<string, unknown> {
  const query = req.query;
  return query !== null && typeof query === 'object' ? (query as Record<string, unknown>) : {};
}

/** A route parameter as the platform decoded it: what `@Param(name)` would give. */
function paramOf(req: AuditHttpRequest, name: string): string {
  const value = req.params?.[name];
  return typeof value === 'string' ? value : '';
}

/**
 * The routes of the audit API, without a path or guards: `auditApiModuleParts()` mounts a
 * subclass of it per registration with `@Controller(path)`, the configured guards, the API's
 * exception filter and `@AuditExempt()`, since the path is only known from the module options.
 *
 * Every handler writes its own answer (see `AuditRouteResponder` for why), so the app's global
 * interceptors and exception filters cannot wrap or rewrite it.
 * @internal
 */
export class AuditApiRoutes {
  constructor(
    @Inject(AuditApiService) private readonly api: AuditApiService,
    @Inject(AuditRouteResponder) private readonly responder: AuditRouteResponder,
  ) {}

  /** One page of events, newest first, as `AuditApiPage`; filters and paging in the query string. */
  @Get('events')
  events(@Req() req: AuditHttpRequest, @Res() res: unknown): Promise<void> {
    return this.answer(req, res, () => this.api.list(req, queryOf(req)));
  }

  /** One event by id, or 404. */
  @Get('events/:id')
  event(@Req() req: AuditHttpRequest, @Res() res: unknown): Promise<void> {
    return this.answer(req, res, () => this.api.one(req, paramOf(req, 'id')));
  }

  /** One page of the timeline of one resource (`limit`, `cursor`), as `AuditApiHistory`. */
  @Get('history/:type/:id')
  history(@Req() req: AuditHttpRequest, @Res() res: unknown): Promise<void> {
    return this.answer(req, res, () =>
      this.api.history(req, paramOf(req, 'type'), paramOf(req, 'id'), queryOf(req)),
    );
  }

  /**
   * What the latest `AuditService.verify()` of this process found, as `AuditIntegrityStatus`
   * (`{ verified: false }` when none ran).
   */
  @Get('integrity')
  integrity(@Req() req: AuditHttpRequest, @Res() res: unknown): Promise<void> {
    return this.answer(req, res, () => this.api.integrity(req));
  }

  /** Every matching event as CSV, streamed. */
  @Get('export.csv')
  exportCsv(@Req() req: AuditHttpRequest, @Res() res: unknown): Promise<void> {
    return this.answer(req, res, () => this.api.export(req, res, queryOf(req), 'csv'));
  }

  /** Every matching event as NDJSON (one event per line), streamed. */
  @Get('export.ndjson')
  exportNdjson(@Req() req: AuditHttpRequest, @Res() res: unknown): Promise<void> {
    return this.answer(req, res, () => this.api.export(req, res, queryOf(req), 'ndjson'));
  }

  /** Answers with the body `read` resolves to (200), or with its error as Nest would. */
  private answer(req: AuditHttpRequest, res: unknown, read: () => Promise<unknown>): Promise<void> {
    return this.responder.answer(
      res,
      async () => ({ body: await read() }),
      (error) => this.responder.sendError(req, res, error),
    );
  }
}
