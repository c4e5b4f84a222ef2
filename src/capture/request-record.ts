import { performance } from 'node:perf_hooks';
import type { NestInterceptor } from '@nestjs/common';
import { foldRowChanges, type AuditRowChange } from '../event/row-change';
import { AuditContext } from './audit-context';
import type { ResolvedAuditOptions } from '../audit.options';
import type { AuditHttpRequest } from './http-adapter';
import { requestIdOf } from './request-facts';
import type { RawResponse } from './response-hold';
import type { RouteOwner } from './route-catalog';
import type { RoutePlan } from './route-plan';

const RECORD = Symbol.for('nestjs-audit.request-record');

/**
 * The one record of one HTTP request, from its arrival to the first byte of its response. The
 * adapter hooks open it, the route wrapper names the route, the interceptor adds what only the
 * handler knows (loaded states, result, error), and the response's first byte settles it.
 */
export class RequestRecord {
  /** The route the request reached, once its handler was entered. */
  route?: RouteOwner;
  /** The exact plan, set by the interceptor (which knows the controller class for sure). */
  plan?: RoutePlan | null;
  /** `performance.now()` at arrival. */
  readonly started = performance.now();
  /** The interceptor's part: not entered, running the handler, or done. */
  interceptor: 'none' | 'running' | 'done' = 'none';
  /** The handler's result (the first value it emitted). */
  result?: unknown;
  /** Set when the handler (or a pipe) threw. */
  failure?: { error: unknown };
  /** Why the change set is unknown (a failed change whose after-state could not be loaded). */
  changesUnavailable?: string;
  /** The client went away before the response started. */
  aborted = false;
  /**
   * The response began while the handler was still running (a `@Res()` handler writing, or
   * piping a file and awaiting it): the event is built then, without the after-state, since
   * waiting for the handler could wait for the very response being held.
   */
  respondedEarly = false;
  /** `open` until its event is being built; each record makes at most one event. */
  state: 'open' | 'settling' | 'done' = 'open';
  /** True when the response's first byte waits for the event (see `holdResponse`). */
  held = false;
  /** The raw response, when the platform hooks see it. */
  response?: RawResponse;
  /**
   * The change an ORM integration captured for the event's target, in the write's transaction:
   * it replaces loaded states, since it is exactly what the write replaced and left.
   */
  rowChange?: AuditRowChange;
  /**
   * The interceptor of the app that audits this request, run by the route's bound interceptor
   * (see `ROUTE_INTERCEPTOR`); unset when that app applies `AuditInterceptor` itself.
   */
  enricher?: NestInterceptor;
  private context?: AuditContext;
  /** Called once when the record is settled and the handler is done (see `releaseWhenDone`). */
  private release?: () => void;
  private finished?: { promise: Promise<void>; resolve: () => void };

  constructor(
    /** The request as the framework gives it (Express `Request`, `FastifyRequest`). */
    readonly req: AuditHttpRequest,
    /** Where an incoming request id is read from, and whether it is trusted. */
    private readonly requestIdOptions: Pick<
      ResolvedAuditOptions,
      'requestIdHeader' | 'trustRequestId'
    >,
  ) {}

  /**
   * The context handlers see through `AuditService.current()`. Made on first use: a record of a
   * request that turns out not to be audited never makes a request id.
   */
  get ctx(): AuditContext {
    this.context ??= new AuditContext(this.req, requestIdOf(this.req, this.requestIdOptions));
    return this.context;
  }

  /** The record of a request, if one was opened (framework or raw request). */
  static of(req: unknown): RequestRecord | undefined {
    const raw = rawRequestOf(req) as { [RECORD]?: RequestRecord } | undefined;
    return raw?.[RECORD];
  }

  /** Attaches the record to the raw request, where every later stage finds it. */
  attachTo(req: unknown): void {
    const raw = rawRequestOf(req) as { [RECORD]?: RequestRecord } | undefined;
    if (raw) raw[RECORD] = this;
  }

  /**
   * Takes a committed change of the event's target (several writes of the same row fold into
   * one: first before-state, last after-state).
   * @returns false when the record holds a change of another row already.
   */
  joinRowChange(change: AuditRowChange): boolean {
    const held = this.rowChange;
    if (held === undefined) {
      this.rowChange = change;
      return true;
    }
    if (held.id !== change.id) return false;
    this.rowChange = foldRowChanges(held, change);
    return true;
  }

  /** Resolves once the record's event is settled (see {@link RequestRecord.finish}). */
  whenFinished(): Promise<void> {
    if (!this.finished) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.finished = { promise, resolve };
      if (this.state === 'done') resolve();
    }
    return this.finished.promise;
  }

  /** Marks the record settled: its event is committed, or will never be. */
  finish(): void {
    this.state = 'done';
    this.finished?.resolve();
    this.releaseIfDone();
  }

  /** Marks the interceptor's part as running (the handler has been called). */
  enrichmentStarted(): void {
    this.interceptor = 'running';
  }

  /** Marks the interceptor's part as done. */
  enrichmentDone(): void {
    this.interceptor = 'done';
    this.releaseIfDone();
  }

  /**
   * Calls `release` once, when the record is settled and its handler (if entered) is done: the
   * end of the request's use of its audit context.
   */
  releaseWhenDone(release: () => void): void {
    this.release = release;
    this.releaseIfDone();
  }

  private releaseIfDone(): void {
    if (!this.release || this.state !== 'done' || this.interceptor === 'running') return;
    const release = this.release;
    this.release = undefined;
    release();
  }
}

/** The Node.js `IncomingMessage` behind a framework request (Fastify keeps it in `raw`). */
export function rawRequestOf(req: unknown): object | undefined {
  if (req === null || typeof req !== 'object') return undefined;
  const raw = (req as { raw?: unknown }).raw;
  return raw !== null && typeof raw === 'object' && 'headers' in raw ? raw : req;
}

/** The Node.js `ServerResponse` behind a framework response (Fastify keeps it in `raw`). */
export function rawResponseOf(res: unknown): object | undefined {
  if (res === null || typeof res !== 'object') return undefined;
  const raw = (res as { raw?: unknown }).raw;
  return raw !== null && typeof raw === 'object' ? raw : res;
}
