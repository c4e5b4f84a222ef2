import {
  HttpException,
  Inject,
  ServiceUnavailableException,
  Injectable,
  Logger,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
  type Type,
} from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import { performance } from 'node:perf_hooks';
import { from, Observable } from 'rxjs';
import { mergeMap } from 'rxjs/operators';
import {
  AUDIT_EXEMPT_METADATA,
  AUDIT_LOGGER_CONTEXT,
  AUDIT_RESOLVED_OPTIONS,
  AUDITED_METADATA,
} from '../audit.constants';
import type { ResolvedAuditOptions } from '../audit.options';
import type { AuditOutcome } from '../event/audit-event';
import type { AuditEventDraft } from '../event/build-event';
import { verbForHttpMethod } from '../event/categorize';
import { AuditPipeline } from '../pipeline/audit-pipeline';
import { AuditCommitError } from '../pipeline/audit-writer';
import { AuditContext, AuditContextStorage } from './audit-context';
import type { AuditedMetadata, AuditLoader, AuditLoadFunction } from './audited.decorator';
import {
  requestPath,
  responseStatus,
  setResponseHeader,
  type AuditHttpRequest,
} from './http-adapter';
import { requestFacts, requestIdOf } from './request-facts';

/** How one route (handler + HTTP method) is audited; computed once and cached. */
interface RoutePlan {
  resourceType: string;
  verb: string;
  action: string;
  meta?: AuditedMetadata;
}

type RouteHandler = ReturnType<ExecutionContext['getHandler']>;

const MUTATING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const PATH_METADATA = 'path';

/** Status code an error will be answered with: an HttpException's own, anything else 500. */
function statusOfError(error: unknown): number {
  if (error instanceof HttpException) return error.getStatus();
  // Another copy of @nestjs/common (a linked package) makes instanceof fail; duck-type it.
  const candidate = error as { getStatus?: unknown } | null;
  if (candidate && typeof candidate.getStatus === 'function') {
    const status: unknown = (candidate.getStatus as () => unknown).call(error);
    if (typeof status === 'number' && status >= 100 && status <= 599) return status;
  }
  return 500;
}

function outcomeOf(status: number | undefined): AuditOutcome {
  if (status === undefined) return 'unknown';
  return status >= 400 ? 'failure' : 'success';
}

function resourceTypeOf(controller: Type<unknown>): string {
  const path: unknown = Reflect.getMetadata(PATH_METADATA, controller);
  const first = (Array.isArray(path) ? path[0] : path) as unknown;
  if (typeof first === 'string') {
    const segment = first.split('/').find((s) => /^[A-Za-z][\w-]*$/.test(s));
    if (segment) return segment;
  }
  const fromName = controller.name.replace(/Controller$/, '');
  return /^[A-Za-z][\w-]*$/.test(fromName) && fromName ? fromName.toLowerCase() : 'http';
}

/**
 * Records an audit event around each audited HTTP request: actor, request, target, before-state
 * (loader), handler, after-state, response, outcome and duration. Registered globally by
 * `AuditModule` (unless `interceptor: false`) and exported for `@UseInterceptors(AuditInterceptor)`.
 *
 * Requests that are not audited cost one cached lookup: `next.handle()` is returned untouched.
 * With `durability: 'ack'` the response is released once the event has been committed (or
 * spooled); when it can be neither, a successful request answers 503 instead of its 2xx.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  private readonly plans = new WeakMap<object, Map<string, RoutePlan | null>>();
  private readonly loaders = new Map<Type<AuditLoader>, AuditLoader>();
  private readonly logger = new Logger(AUDIT_LOGGER_CONTEXT);

  constructor(
    private readonly reflector: Reflector,
    @Inject(AUDIT_RESOLVED_OPTIONS) protected readonly options: ResolvedAuditOptions,
    private readonly pipeline: AuditPipeline,
    private readonly contexts: AuditContextStorage,
    private readonly moduleRef: ModuleRef,
  ) {}

  /** @inheritdoc */
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const req = http.getRequest<AuditHttpRequest>();
    const plan = this.planFor(context, (req.method ?? 'GET').toUpperCase());
    if (plan === null) return next.handle();
    if (this.options.exclude.length > 0 && this.isExcluded(requestPath(req))) return next.handle();
    // Global and @UseInterceptors instances must not record the same request twice.
    if (this.contexts.current()?.request === req) return next.handle();
    return this.audit(plan, req, http.getResponse<unknown>(), next);
  }

  private audit(
    plan: RoutePlan,
    req: AuditHttpRequest,
    res: unknown,
    next: CallHandler,
  ): Observable<unknown> {
    const started = performance.now();
    const requestId = requestIdOf(req, this.options.requestIdHeader);
    setResponseHeader(res, this.options.requestIdHeader, requestId);
    const ctx = new AuditContext(req, requestId);
    return new Observable<unknown>((subscriber) =>
      this.contexts.run(ctx, () => {
        // Most routes have no loader: skip the extra hop (and its subscriptions) for them.
        const handled =
          plan.meta?.load && plan.verb !== 'create'
            ? from(this.loadBefore(plan, req, ctx)).pipe(
                mergeMap((): Observable<unknown> => next.handle()),
              )
            : next.handle();
        // One plain subscriber instead of an operator chain: this runs on every audited request.
        // Streams (SSE) emit many values; the event describes the call, so it is recorded once,
        // before the first value (or the error) is passed on.
        let recorded = false;
        let recording = false;
        // Values and the end that arrive while the event is being committed wait, in order.
        const held: unknown[] = [];
        let ended: { error: unknown } | 'complete' | undefined;
        const settle = (): void => {
          for (const value of held.splice(0)) subscriber.next(value);
          if (ended === 'complete') subscriber.complete();
          else if (ended) subscriber.error(ended.error);
        };
        const record = (result: unknown, error: unknown, after: () => void): void => {
          recorded = true;
          recording = true;
          this.finish(plan, req, res, ctx, started, result, error).then(
            () => {
              recording = false;
              after();
              settle();
            },
            (recordError: unknown) => {
              recording = false;
              subscriber.error(recordError);
            },
          );
        };
        return handled.subscribe({
          next: (value) => {
            if (recording) held.push(value);
            else if (recorded) subscriber.next(value);
            else record(value, undefined, () => subscriber.next(value));
          },
          error: (error: unknown) => {
            if (recording) ended = { error };
            else if (recorded) subscriber.error(error);
            else record(undefined, error, () => (ended = { error }));
          },
          complete: () => {
            if (recording) ended = 'complete';
            else subscriber.complete();
          },
        });
      }),
    );
  }

  private planFor(context: ExecutionContext, method: string): RoutePlan | null {
    const handler = context.getHandler();
    let byMethod = this.plans.get(handler);
    if (!byMethod) {
      byMethod = new Map();
      this.plans.set(handler, byMethod);
    }
    let plan = byMethod.get(method);
    if (plan === undefined) {
      plan = this.computePlan(handler, context.getClass(), method);
      byMethod.set(method, plan);
    }
    return plan;
  }

  private computePlan(
    handler: RouteHandler,
    controller: Type<unknown>,
    method: string,
  ): RoutePlan | null {
    // Method level beats class level; at the same level @AuditExempt beats @Audited.
    let meta: AuditedMetadata | undefined;
    if (this.reflector.get<boolean | undefined>(AUDIT_EXEMPT_METADATA, handler)) return null;
    meta = this.reflector.get<AuditedMetadata | undefined>(AUDITED_METADATA, handler);
    if (!meta) {
      if (this.reflector.get<boolean | undefined>(AUDIT_EXEMPT_METADATA, controller)) return null;
      meta = this.reflector.get<AuditedMetadata | undefined>(AUDITED_METADATA, controller);
    }
    if (!meta) {
      const scope = this.options.scope;
      if (scope === 'decorated') return null;
      if (scope === 'mutations' && !MUTATING_METHODS.has(method)) return null;
    }
    const resourceType = meta?.resourceType ?? resourceTypeOf(controller);
    const configured = meta?.action;
    if (configured?.includes('.')) {
      return {
        resourceType,
        verb: configured.slice(configured.lastIndexOf('.') + 1),
        action: configured,
        meta,
      };
    }
    const verb = configured ?? verbForHttpMethod(method);
    return { resourceType, verb, action: `${resourceType}.${verb}`, ...(meta ? { meta } : {}) };
  }

  private isExcluded(path: string): boolean {
    for (const pattern of this.options.exclude) {
      if (typeof pattern === 'string') {
        if (pattern.endsWith('*') ? path.startsWith(pattern.slice(0, -1)) : path === pattern)
          return true;
      } else {
        pattern.lastIndex = 0;
        if (pattern.test(path)) return true;
      }
    }
    return false;
  }

  private resolveId(plan: RoutePlan, req: AuditHttpRequest, result: unknown): string | undefined {
    const option = plan.meta?.id ?? 'id';
    let id: unknown;
    if (typeof option === 'function') {
      try {
        id = option(req, result);
      } catch (error) {
        this.warn(`the "id" function of @Audited('${plan.resourceType}') threw`, error);
        return undefined;
      }
    } else {
      id = req.params?.[option];
      if (id === undefined && result !== null && typeof result === 'object') {
        id = (result as Record<string, unknown>)[option];
      }
    }
    if (typeof id === 'string') return id.length > 0 ? id.slice(0, 256) : undefined;
    if (typeof id === 'number' || typeof id === 'bigint') return String(id);
    return undefined;
  }

  private loaderFor(plan: RoutePlan): AuditLoadFunction | undefined {
    const load = plan.meta?.load;
    if (!load) return undefined;
    // A class (an injectable loader) has a prototype with a load method; a plain function does not.
    const proto = (load as { prototype?: { load?: unknown } }).prototype;
    if (proto && typeof proto.load === 'function') {
      const type = load as Type<AuditLoader>;
      const loader = this.loaders.get(type) ?? this.resolveLoader(type, plan.resourceType);
      return (id, context) => loader.load(id, context);
    }
    return load as AuditLoadFunction;
  }

  private resolveLoader(type: Type<AuditLoader>, resourceType: string): AuditLoader {
    let instance: AuditLoader;
    try {
      instance = this.moduleRef.get(type, { strict: false });
    } catch {
      throw new Error(
        `nestjs-audit: the loader ${type.name} of @Audited('${resourceType}') is not a provider. Add it to the "providers" of a module, or pass a function to "load".`,
      );
    }
    this.loaders.set(type, instance);
    return instance;
  }

  private async load(
    plan: RoutePlan,
    req: AuditHttpRequest,
    id: string,
    phase: 'before' | 'after',
  ): Promise<{ ok: boolean; value?: unknown }> {
    try {
      const loader = this.loaderFor(plan);
      if (!loader) return { ok: false };
      const value: unknown = await loader(id, {
        phase,
        resourceType: plan.resourceType,
        request: req,
      });
      return { ok: true, value };
    } catch (error) {
      this.warn(`loading the ${phase}-state of ${plan.resourceType} ${id} failed`, error);
      return { ok: false };
    }
  }

  private async loadBefore(
    plan: RoutePlan,
    req: AuditHttpRequest,
    ctx: AuditContext,
  ): Promise<void> {
    const id = this.resolveId(plan, req, undefined);
    if (id === undefined) return;
    const loaded = await this.load(plan, req, id, 'before');
    if (loaded.ok && !ctx.hasBefore) ctx.setBefore(loaded.value);
  }

  private async finish(
    plan: RoutePlan,
    req: AuditHttpRequest,
    res: unknown,
    ctx: AuditContext,
    started: number,
    result: unknown,
    error: unknown,
  ): Promise<void> {
    if (ctx.isSkipped) return;
    const failed = error !== undefined;
    try {
      const statusCode = failed ? statusOfError(error) : responseStatus(res);
      const outcome = outcomeOf(statusCode);
      const targetId = ctx.targetId ?? this.resolveId(plan, req, failed ? undefined : result);
      if (
        !failed &&
        plan.meta?.load &&
        plan.verb !== 'delete' &&
        !ctx.hasAfter &&
        targetId !== undefined
      ) {
        const loaded = await this.load(plan, req, targetId, 'after');
        if (loaded.ok) ctx.setAfter(loaded.value);
      }
      const facts = requestFacts(req, this.options, ctx.requestId);
      const meta = plan.meta;
      const action = ctx.action ?? plan.action;
      const draft: AuditEventDraft = {
        action,
        outcome,
        level: meta?.level ?? (outcome === 'failure' ? 'warn' : 'info'),
        actor: ctx.actor ? { ...facts.actor, ...ctx.actor } : facts.actor,
        source: facts.source,
        request: facts.request,
        target: {
          type: ctx.targetType ?? plan.resourceType,
          ...(targetId === undefined ? {} : { id: targetId }),
        },
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
        labels: ctx.labels,
      };
      if (meta?.category) draft.category = [meta.category];
      if (statusCode !== undefined) draft.response = { statusCode };
      if (facts.tenant !== undefined) draft.tenant = facts.tenant;
      if (ctx.hasBefore) draft.before = ctx.before;
      if (ctx.hasAfter) draft.after = ctx.after;
      if (failed) draft.error = error;
      const message = ctx.message ?? meta?.message;
      if (message !== undefined) draft.message = message;
      if (ctx.filter !== undefined) draft.filter = ctx.filter;
      if (ctx.results !== undefined) draft.results = ctx.results;
      if (meta?.captureBody && req.body !== undefined) draft.body = req.body;
      if (meta?.captureResult && !failed && result !== undefined) draft.responseBody = result;
      if (meta?.redact?.length) draft.redact = meta.redact;
      await this.pipeline.submit(draft);
    } catch (recordError) {
      // The store could not commit (and nothing could spool it): under the 'fail' policy a
      // change must not be confirmed with a 2xx. The writer has logged it with the event ids.
      if (recordError instanceof AuditCommitError) {
        if (failed) return;
        throw new ServiceUnavailableException({
          statusCode: 503,
          error: 'Service Unavailable',
          code: 'AUDIT_UNAVAILABLE',
          message:
            'The audit trail could not record this request, so its result is not confirmed. Retry later; if it persists, the audit store is down.',
          requestId: ctx.requestId,
        });
      }
      // Anything else (a bug, an unexpected value) must never break the request: log it.
      this.logger.error(
        `nestjs-audit: could not record ${ctx.action ?? plan.action} for request ${ctx.requestId}: ${recordError instanceof Error ? recordError.message : String(recordError)}`,
      );
    }
  }

  private warn(what: string, error: unknown): void {
    this.logger.warn(
      `nestjs-audit: ${what}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/**
 * The instance registered as `APP_INTERCEPTOR`; inert when the `interceptor` option is false, so
 * the option also works with `forRootAsync()` (whose options are only known at runtime).
 * @internal
 */
@Injectable()
export class GlobalAuditInterceptor extends AuditInterceptor {
  override intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return this.options.interceptor ? super.intercept(context, next) : next.handle();
  }
}
