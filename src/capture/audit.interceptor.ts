import {
  HttpException,
  Inject,
  Injectable,
  ServiceUnavailableException,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Observable } from 'rxjs';
import { AUDIT_RESOLVED_OPTIONS } from '../audit.constants';
import type { ResolvedAuditOptions } from '../audit.options';
import { AuditLoaders } from './audit-loaders';
import { responseStatus, type AuditHttpRequest } from './http-adapter';
import { RequestCapture } from './request-capture';
import type { RequestRecord } from './request-record';
import type { RoutePlan } from './route-plan';
import { targetIdOf } from './target-id';

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

const NO_AFTER_STATE = 'the change failed and its after-state could not be loaded';

/** A failed change with a before-state and no after-state: its changes cannot be known. */
function markNoAfterState(record: RequestRecord): void {
  if (record.failure !== undefined && record.ctx.hasBefore) {
    record.changesUnavailable = NO_AFTER_STATE;
  }
}

/**
 * `next.handle()` once `before()` has resolved, or its error: what `from(before()).pipe(mergeMap(
 * () => next.handle()))` does, with one promise reaction instead of rxjs's two and no merge.
 */
function handleOnceSettled(before: () => Promise<void>, next: CallHandler): Observable<unknown> {
  return new Observable<unknown>((subscriber) => {
    before().then(
      () => {
        // Unsubscribed while loading: the handler never runs, as with mergeMap.
        if (subscriber.closed) return;
        try {
          // Given the subscriber itself, rxjs ties the handler's subscription to it.
          next.handle().subscribe(subscriber);
        } catch (error) {
          subscriber.error(error);
        }
      },
      (error: unknown) => subscriber.error(error),
    );
  });
}

/**
 * Adds to an audited request's record what only the handler knows: the before-state (loader),
 * the handler's result or error, the after-state (loaded again after a failure, so a refused
 * change never looks like a change), and the `AuditService.current()` context. The record itself
 * is owned by {@link RequestCapture}, which settles it when the response starts — so refusals
 * that never reach an interceptor (guards, body parser, middleware) are recorded too.
 *
 * `AuditModule` binds it to every audited route as the app starts (unless `interceptor: false`),
 * so routes that are not audited run no interceptor of the library at all. Exported for
 * `@UseInterceptors(AuditInterceptor)`. A route that is not audited gets `next.handle()` untouched.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    @Inject(AUDIT_RESOLVED_OPTIONS) protected readonly options: ResolvedAuditOptions,
    private readonly capture: RequestCapture,
    private readonly loaders: AuditLoaders,
  ) {
    capture.useEnricher(this);
  }

  /** @inheritdoc */
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const req = http.getRequest<AuditHttpRequest>();
    const method = (req.method ?? 'GET').toUpperCase();
    const controller = context.getClass<unknown>();
    const plan = this.capture.catalog.planFor(context.getHandler(), controller, method);
    // The library's own read routes record themselves: nothing to add here.
    if (plan === null || plan.refusalsOnly) return next.handle();
    const record = this.capture.openFromInterceptor(req, http.getResponse<unknown>());
    // Global and @UseInterceptors instances must not enrich (or record) the same request twice.
    if (record.interceptor !== 'none') return next.handle();
    if (record.state !== 'open') return this.capture.afterSettled(record, next);
    record.plan = plan;
    record.enrichmentStarted();
    return this.enrich(plan, record, http.getResponse<unknown>(), next);
  }

  private enrich(
    plan: RoutePlan,
    record: RequestRecord,
    res: unknown,
    next: CallHandler,
  ): Observable<unknown> {
    return new Observable<unknown>((subscriber) =>
      this.capture.runInContext(record, () => {
        // Most routes have no loader: skip the extra hop (and its subscriptions) for them.
        const handled =
          plan.meta?.load && plan.verb !== 'create'
            ? handleOnceSettled(() => this.loadBefore(plan, record), next)
            : next.handle();
        // Streams (SSE) emit many values; the record describes the call, so it is completed once,
        // before the first value (or the error) is passed on. What arrives meanwhile waits, in order.
        let completed = false;
        let completing = false;
        const held: unknown[] = [];
        let ended: { error: unknown } | 'complete' | undefined;
        const flush = (): void => {
          for (const value of held.splice(0)) subscriber.next(value);
          if (ended === 'complete') subscriber.complete();
          else if (ended) subscriber.error(ended.error);
        };
        const complete = (outcome: { value: unknown } | { error: unknown }, then: () => void) => {
          completed = true;
          completing = true;
          this.complete(plan, record, res, outcome).then(
            () => {
              completing = false;
              then();
              flush();
            },
            (error: unknown) => {
              completing = false;
              subscriber.error(error);
            },
          );
        };
        return handled.subscribe({
          next: (value) => {
            if (completing) held.push(value);
            else if (completed) subscriber.next(value);
            else complete({ value }, () => subscriber.next(value));
          },
          error: (error: unknown) => {
            if (completing) ended = { error };
            else if (completed) subscriber.error(error);
            else complete({ error }, () => (ended = { error }));
          },
          complete: () => {
            if (completing) ended = 'complete';
            else if (completed) subscriber.complete();
            else complete({ value: undefined }, () => (ended = 'complete'));
          },
        });
      }),
    );
  }

  // The loads below chain with `then` rather than being async functions: each async frame and
  // await is a promise more, and while the request context is on every promise runs its hooks.

  private loadBefore(plan: RoutePlan, record: RequestRecord): Promise<void> {
    const id = targetIdOf(plan, record.req, undefined);
    if (id === undefined) return Promise.resolve();
    return this.loaders.load(plan, record.req, id, 'before').then((loaded) => {
      if (loaded.ok && !record.ctx.hasBefore) record.ctx.setBefore(loaded.value);
    });
  }

  /**
   * Loads the after-state; after a failure, too (a failed handler may have changed something).
   * @returns the load in progress, or `undefined` when there is nothing to load
   */
  private loadAfter(plan: RoutePlan, record: RequestRecord): Promise<void> | undefined {
    const { ctx } = record;
    const failed = record.failure !== undefined;
    if (ctx.hasAfter) return undefined;
    const wanted = plan.meta?.load && (failed ? plan.verb !== 'create' : plan.verb !== 'delete');
    const id = ctx.targetId ?? targetIdOf(plan, record.req, failed ? undefined : record.result);
    if (wanted && id !== undefined) {
      return this.loaders.load(plan, record.req, id, 'after').then((loaded) => {
        if (loaded.ok) ctx.setAfter(loaded.value);
        else markNoAfterState(record);
      });
    }
    markNoAfterState(record);
    return undefined;
  }

  /**
   * The handler is done: completes the record. When no response hold settles it (the request met
   * no adapter hook), it is settled here with the status the response is about to get.
   */
  private async complete(
    plan: RoutePlan,
    record: RequestRecord,
    res: unknown,
    outcome: { value: unknown } | { error: unknown },
  ): Promise<void> {
    try {
      if ('error' in outcome) record.failure = { error: outcome.error };
      else record.result = outcome.value;
      if (record.ctx.isSkipped) return;
      const loading = this.loadAfter(plan, record);
      if (loading) await loading;
    } finally {
      record.enrichmentDone();
    }
    if (record.held && !record.aborted) return;
    const statusCode =
      'error' in outcome ? statusOfError(outcome.error) : (responseStatus(res) ?? 200);
    const decision = await this.capture.settle(record, record.aborted ? undefined : { statusCode });
    if (decision.kind === 'replace' && !('error' in outcome)) {
      throw new ServiceUnavailableException(JSON.parse(decision.body) as object);
    }
  }
}
