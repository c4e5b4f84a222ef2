import { Get, Inject, Param, Query, Req, Res, type StreamableFile } from '@nestjs/common';
import type { AuditHttpRequest } from '../../capture/http-adapter';
import type { AuditEvent } from '../../event/audit-event';
import { AuditApiService, type AuditApiHistory, type AuditApiPage } from './audit-api.service';

/**
 * The routes of the audit API, without a path or guards: `auditApiModuleParts()` mounts a
 * subclass of it per registration with `@Controller(path)`, the configured guards and
 * `@AuditExempt()`, since the path is only known from the module options.
 * @internal
 */
export class AuditApiRoutes {
  constructor(@Inject(AuditApiService) private readonly api: AuditApiService) {}

  /** One page of events, newest first; filters and paging in the query string. */
  @Get('events')
  events(
    @Req() req: AuditHttpRequest,
    @Query() params: Record<string, unknown>,
  ): Promise<AuditApiPage> {
    return this.api.list(req, params);
  }

  /** One event by id, or 404. */
  @Get('events/:id')
  event(@Req() req: AuditHttpRequest, @Param('id') id: string): Promise<AuditEvent> {
    return this.api.one(req, id);
  }

  /** The timeline of one resource, oldest first. */
  @Get('history/:type/:id')
  history(
    @Req() req: AuditHttpRequest,
    @Param('type') type: string,
    @Param('id') id: string,
  ): Promise<AuditApiHistory> {
    return this.api.history(req, type, id);
  }

  /** Every matching event as CSV, streamed. */
  @Get('export.csv')
  exportCsv(
    @Req() req: AuditHttpRequest,
    @Res({ passthrough: true }) res: unknown,
    @Query() params: Record<string, unknown>,
  ): Promise<StreamableFile> {
    return this.api.export(req, res, params, 'csv');
  }

  /** Every matching event as NDJSON (one event per line), streamed. */
  @Get('export.ndjson')
  exportNdjson(
    @Req() req: AuditHttpRequest,
    @Res({ passthrough: true }) res: unknown,
    @Query() params: Record<string, unknown>,
  ): Promise<StreamableFile> {
    return this.api.export(req, res, params, 'ndjson');
  }
}
