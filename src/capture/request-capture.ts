import { AuditLogger } from '../common/audit-logger';
import {
  Inject,
  Injectable,
  Optional,
  type CallHandler,
  type NestInterceptor,
} from '@nestjs/common';
import { ApplicationConfig, type HttpAdapterHost, type ModulesContainer } from '@nestjs/core';
import { Observable } from 'rxjs';
import { finalize } from 'rxjs/operators';
import { AUDIT_RESOLVED_OPTIONS } from '../audit.constants';
import type { ResolvedAuditOptions } from '../audit.options';
import { AuditShutdownError } from '../common/audit-shutdown.error';
import { AuditPipeline } from '../pipeline/audit-pipeline';
import { AuditCommitError } from '../pipeline/audit-writer.contract';
import type { AuditRowChange } from '../event/row-change';
import { AuditContextStorage, type AuditContext } from './audit-context';
import { attemptDraft } from './attempt-draft';
import { requestPath, setResponseHeader, type AuditHttpRequest } from './http-adapter';
import {
  compilePathPatterns,
  routePrefixesOf,
  unmatchablePathPatterns,
  type PathMatcher,
} from './path-patterns';
import { installArrivalHooks, platformRouteOf } from './platform-hooks';
import { RequestRecord, rawResponseOf } from './request-record';
import { bindRouteInterceptor } from './route-interceptor';
import {
  holdResponse,
  type HoldDecision,
  type RawResponse,
  type ResponseStart,
} from './response-hold';
import { RouteCatalog, type RouteOwner } from './route-catalog';
import { isMutatingMethod, unroutedPlan, type RoutePlan } from './route-plan';
import { targetIdOf } from './target-id';

const RELEASE: HoldDecision = { kind: 'release' };

function isRawResponse(res: unknown): res is RawResponse {
  const r = res as Partial<RawResponse> | null;
  return (
    !!r &&
    typeof r.writeHead === 'function' &&
    typeof r.end === 'function' &&
    typeof r.write === 'function' &&
    typeof r.once === 'function'
  );
}

/**
 * Owns each audited request's record from its arrival to the first byte of its response, so that
 * every attempt is recorded once with the status actually sent — also when a guard, a pipe, the
 * body parser, a middleware or an exception filter refuses it, or the client goes away. The
 * interceptor only adds what the handler knows.
 */
@Injectable()
export class RequestCapture {
  private readonly logger = new AuditLogger();
  private platform: unknown;
  /** Whether the arrival hooks are installed (an app on Express or Fastify). */
  private hooked = false;
  /** `exclude`, compiled at the first request: the global prefix is known by then. */
  private excluded?: PathMatcher;
  /** The module's interceptor, run by each audited route's bound interceptor. */
  private enricher?: NestInterceptor;

  constructor(
    @Inject(AUDIT_RESOLVED_OPTIONS) private readonly options: ResolvedAuditOptions,
    private readonly pipeline: AuditPipeline,
    private readonly contexts: AuditContextStorage,
    /** Which routes are audited, decided as Nest registers them. */
    readonly catalog: RouteCatalog,
    /** Where the global prefix and versioning are (optional: unit tests build it by hand). */
    @Optional() private readonly appConfig?: ApplicationConfig,
  ) {}

  /**
   * Hooks into the HTTP adapter before Nest registers the routes (from `AuditModule.configure`).
   * An app without an HTTP adapter (a microservice) is left alone.
   */
  install(adapterHost: HttpAdapterHost, modules: ModulesContainer): void {
    for (const warning of unmatchablePathPatterns(this.options.exclude)) this.logger.warn(warning);
    const adapter = adapterHost.httpAdapter as unknown as
      { getInstance?: () => unknown } | undefined;
    if (!adapter || typeof adapter.getInstance !== 'function') return;
    this.platform = adapter.getInstance();
    this.catalog.stampControllers(modules);
    if (this.options.interceptor) {
      for (const method of this.catalog.enrichedMethods(modules)) bindRouteInterceptor(method);
    }
    this.catalog.interceptRegistration(adapter, (req, res, route) =>
      this.enterRoute(req, res, route),
    );
    this.hooked = installArrivalHooks(this.platform, {
      everyRequest: this.options.scope === 'all',
      isAuditedRoute: (method, url) => !!this.catalog.planForPath(method, url),
      arrive: (req, res) => this.arrive(req, res),
      finishedUnseen: (req, res) => this.finishedUnseen(req, res),
    });
  }

  /**
   * Names the interceptor that enriches this app's audited requests (the module's own instance,
   * when the `interceptor` option is on).
   */
  useEnricher(interceptor: NestInterceptor): void {
    if (this.options.interceptor) this.enricher ??= interceptor;
  }

  /**
   * Opens the record of a request that met no arrival hook (an adapter the library does not
   * hook, or a test calling the interceptor directly); its event is then settled by the
   * interceptor with the status the response is about to get.
   */
  openFromInterceptor(req: AuditHttpRequest, res: unknown): RequestRecord {
    const record = RequestRecord.of(req) ?? this.open(req, res, true);
    if (!record.held) this.hold(record, res);
    // No hook sees this response: echo the request id now, while the headers are not sent.
    if (!record.response)
      setResponseHeader(res, this.options.requestIdHeader, record.ctx.requestId);
    return record;
  }

  /**
   * Settles the event of a record: builds it from what the request did and what was sent, and
   * commits it.
   * @returns what to do with the held response
   */
  async settle(record: RequestRecord, start: ResponseStart | undefined): Promise<HoldDecision> {
    if (record.state !== 'open') return RELEASE;
    record.state = 'settling';
    try {
      if (record.interceptor === 'running') record.respondedEarly = true;
      const plan = this.planOf(record);
      if (!plan || !this.records(plan, start) || this.isExcluded(record.req)) return RELEASE;
      if (record.ctx.isSkipped) return RELEASE;
      if (plan.refusalsOnly) record.ctx.addLabels(plan.refusalsOnly.labels);
      if (record.response) {
        setResponseHeader(record.response, this.options.requestIdHeader, record.ctx.requestId);
      }
      await this.pipeline.submit(attemptDraft(record, plan, start, this.options));
      return RELEASE;
    } catch (error) {
      return this.onRecordError(record, start, error);
    } finally {
      record.finish();
    }
  }

  /**
   * Gives a committed ORM change to the `@Audited` event of the request `ctx` belongs to, when
   * it is a change of that event's target and the event is not settled yet. `soleOfType`: the
   * transaction wrote no other row of the change's type (a target not known yet is then it).
   * @returns false when the change is to be recorded as an event of its own.
   */
  joinRowChange(ctx: AuditContext, change: AuditRowChange, soleOfType: boolean): boolean {
    const record = RequestRecord.of(ctx.request);
    if (!record || record.state !== 'open' || ctx.isSkipped) return false;
    if (change.id === undefined || change.bulk) return false;
    const plan = this.planOf(record);
    if (!plan || plan.refusalsOnly) return false;
    if (change.resourceType !== (ctx.targetType ?? plan.resourceType)) return false;
    const known =
      ctx.targetId ??
      (typeof plan.meta?.id === 'function' ? undefined : targetIdOf(plan, record.req, undefined));
    // Without a known target, only the one row of its type the transaction wrote is the target.
    if (known === undefined ? !soleOfType : known !== change.id) return false;
    return record.joinRowChange(change);
  }

  /**
   * A request arrived. A request that may change something is held from here (so a body parser's
   * refusal is committed before it is answered); a read is held only once it reaches an audited
   * route, so reads of routes that are not audited never wait.
   */
  private arrive(req: object, res: object): void {
    const method = (req as { method?: string }).method?.toUpperCase() ?? 'GET';
    const all = this.options.scope === 'all';
    if (!all && !this.catalog.mayAudit(method)) return;
    if (RequestRecord.of(req)) return;
    // Express has not routed yet: what the router would say is found only if it is refused.
    const platformRoute = platformRouteOf(this.platform, req, false);
    let hold = all || isMutatingMethod(method);
    if (platformRoute.path !== undefined) {
      // Fastify has routed already: hold exactly the audited routes.
      const plan = this.catalog.planForPath(method, platformRoute.path);
      if (plan === undefined && !all) return;
      hold = plan === undefined ? all : plan !== null;
    }
    this.open(req as AuditHttpRequest, res, hold);
  }

  private enterRoute(req: unknown, res: unknown, route: RouteOwner): void {
    const record = RequestRecord.of(req) ?? this.open(req as AuditHttpRequest, res, false);
    record.route = route;
    if (!record.held) this.hold(record, res);
  }

  /** A response that finished without a record (Fastify: refused by a middleware). */
  private finishedUnseen(req: object, reply: object): void {
    if (RequestRecord.of(req)) return;
    const method = (req as { method?: string }).method?.toUpperCase() ?? 'GET';
    if (this.options.scope !== 'all' && !this.catalog.mayAudit(method)) return;
    const record = this.open(req as AuditHttpRequest, undefined, false);
    const raw = rawResponseOf(reply) as { statusCode?: number } | undefined;
    void this.settle(record, { statusCode: raw?.statusCode ?? 200 });
  }

  private open(req: AuditHttpRequest, res: unknown, hold: boolean): RequestRecord {
    const record = new RequestRecord(req, this.options);
    record.enricher = this.enricher;
    record.attachTo(req);
    const raw = rawResponseOf(res);
    if (!this.hooked || !isRawResponse(raw)) return record;
    record.response = raw;
    raw.once('close', () => this.onClose(record));
    if (hold) this.hold(record, raw);
    return record;
  }

  private hold(record: RequestRecord, res: unknown): void {
    const raw = rawResponseOf(res);
    if (!isRawResponse(raw) || raw.headersSent || !this.hooked) return;
    record.held = true;
    // Shutdown waits for held requests: a handler still writing when SIGTERM came is recorded.
    void this.pipeline.track(record.whenFinished());
    holdResponse(raw, (start) => this.settle(record, start));
  }

  /**
   * The response closed. Before its first byte: the client went away — recorded as `unknown`
   * once the handler (if running) is done. A response that was not held ends here too.
   */
  private onClose(record: RequestRecord): void {
    if (record.state !== 'open') return;
    const raw = record.response;
    if (raw?.writableFinished) {
      void this.settle(record, { statusCode: raw.statusCode });
      return;
    }
    record.aborted = true;
    // A running handler may still change something: its part settles the record when done.
    if (record.interceptor === 'running') return;
    void this.settle(record, undefined);
  }

  private planOf(record: RequestRecord): RoutePlan | null {
    if (record.plan !== undefined) return record.plan;
    const method = (record.req.method ?? 'GET').toUpperCase();
    if (record.route) return this.catalog.planOf(record.route, method);
    const platformRoute = platformRouteOf(this.platform, record.req);
    if (platformRoute.path !== undefined) {
      return this.catalog.planForPath(method, platformRoute.path) ?? null;
    }
    return this.options.scope === 'all' && !platformRoute.matched ? unroutedPlan(method) : null;
  }

  /** Whether a plan records this response: a refusals-only route records only 401 and 403. */
  private records(plan: RoutePlan, start: ResponseStart | undefined): boolean {
    if (!plan.refusalsOnly) return true;
    return start?.statusCode === 401 || start?.statusCode === 403;
  }

  private isExcluded(req: AuditHttpRequest): boolean {
    if (this.options.exclude.length === 0) return false;
    this.excluded ??= compilePathPatterns(this.options.exclude, routePrefixesOf(this.appConfig));
    return this.excluded(requestPath(req));
  }

  private onRecordError(
    record: RequestRecord,
    start: ResponseStart | undefined,
    error: unknown,
  ): HoldDecision {
    // Under the 'fail' policy a change must not be confirmed with a 2xx when its event could be
    // neither committed nor spooled (the writer has logged it with the event ids).
    if (error instanceof AuditCommitError) {
      if (!start || start.statusCode >= 400) return RELEASE;
      return {
        kind: 'replace',
        statusCode: 503,
        body: JSON.stringify({
          statusCode: 503,
          error: 'Service Unavailable',
          code: 'AUDIT_UNAVAILABLE',
          message:
            'The audit trail could not record this request, so its result is not confirmed. Retry later; if it persists, the audit store is down.',
          requestId: record.ctx.requestId,
        }),
        keepHeaders: [this.options.requestIdHeader],
      };
    }
    if (error instanceof AuditShutdownError) {
      this.logger.warn(`${error.message} (request id ${record.ctx.requestId})`);
      return RELEASE;
    }
    // Anything else (a bug, an unexpected value) must never break the request: log it.
    this.logger.error(
      `nestjs-audit: could not record a request (request id ${record.ctx.requestId}): ${error instanceof Error ? error.name : typeof error}. This is a bug in nestjs-audit or in a function given to its options.`,
    );
    return RELEASE;
  }

  /**
   * Runs the handler of a request whose attempt is recorded already (its client went away before
   * the handler was reached; Nest runs it anyway): in the request's context, so what it changes is
   * credited to its actor, and tracked, so that shutdown waits for it (and for its ORM commits)
   * before the application's connections close.
   */
  afterSettled(record: RequestRecord, next: CallHandler): Observable<unknown> {
    record.enrichmentStarted();
    return new Observable<unknown>((subscriber) => {
      let end!: () => void;
      void this.pipeline.track(new Promise<void>((resolve) => (end = resolve)));
      const ended = (): void => {
        record.enrichmentDone();
        this.contexts.release();
        end();
      };
      // handle() is called inside the context: Nest binds the handler to the context it is
      // called in.
      return this.contexts.run(record.ctx, () =>
        next.handle().pipe(finalize(ended)).subscribe(subscriber),
      );
    });
  }

  /** Runs `fn` with the record's context as the current audit context. */
  runInContext<T>(record: RequestRecord, fn: () => T): T {
    const result = this.contexts.run(record.ctx, fn);
    record.releaseWhenDone(() => this.contexts.release());
    return result;
  }
}
