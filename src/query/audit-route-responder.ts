/**
 * How the library's own routes (the HTTP API, its exports and the viewer) answer, so that the
 * app's global interceptors and exception filters cannot change a byte of what they send.
 *
 * Why this mechanism: every route handler takes the platform's response with `@Res()` (no
 * passthrough), catches its own errors, and writes its answer itself through Nest's HTTP adapter;
 * it returns nothing. An app's response mapper (`{ data }` envelope), `ClassSerializerInterceptor`
 * or error-mapping interceptor then only ever sees `undefined`, which Nest does not send for a
 * route that took the response, and no exception of a handler reaches an app-wide filter. Errors
 * raised around the handler (a guard's 401/403, an interceptor that throws or times out) reach a
 * route-scoped catch-all filter first, which Nest prefers over global ones, and it answers in the
 * library's own format through the same class. The routes stay ordinary Nest controllers, so the
 * configured `api.guard`, the app's global guards, global prefix, `RouterModule` paths, versioning
 * and middleware apply exactly as before; mounting the routes on the HTTP adapter directly would
 * have escaped the app's interceptors too, but also its guards and prefix, which it must not.
 *
 * The bytes are Nest's: answers go through the adapter's `reply()` (as Nest's own response
 * handling does) and errors through Nest's `BaseExceptionFilter`, so a page or an error looks the
 * same as it did with no app interceptors or filters, on Express and Fastify, Nest 11 and 12.
 * Handlers read the query and route parameters from the request rather than with `@Query()` or
 * `@Param()`, which would run the app's global pipes on them.
 *
 * A handler resolves once its answer is handed to the adapter, not before (Fastify would send an
 * empty reply for an async handler that resolves before answering) and not after (an export
 * resolves once its stream has started, so an app's timeout interceptor cannot cut a download).
 */
import { Injectable, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
import { AuditInternalError } from '../common/audit-internal.error';

/** What a route answers. */
export interface AuditRouteAnswer {
  /** A JSON value, a text (an HTML page), or a `StreamableFile`. */
  body: unknown;
  /**
   * HTTP status code.
   * @default 200
   */
  status?: number;
  /** Headers to set before the body (e.g. the viewer's `Content-Type` and CSP). */
  headers?: Readonly<Record<string, string>>;
}

/** The arguments host of one HTTP request, as an exception filter is given it. */
function httpArgumentsHost(req: unknown, res: unknown): ArgumentsHost {
  const args: unknown[] = [req, res, undefined];
  const http: ReturnType<ArgumentsHost['switchToHttp']> = {
    getRequest: <T>() => req as T,
    getResponse: <T>() => res as T,
    getNext: <T>() => undefined as T,
  };
  const notHttp = (): never => {
    throw new AuditInternalError('nestjs-audit: the audit routes are HTTP routes only.');
  };
  return {
    getArgs: <T extends unknown[]>() => args as T,
    getArgByIndex: <T>(index: number) => args[index] as T,
    switchToHttp: () => http,
    switchToRpc: notHttp,
    switchToWs: notHttp,
    getType: <T extends string>() => 'http' as T,
  };
}

/**
 * Writes the answers of the library's routes, once per response, through Nest's HTTP adapter.
 * Whoever answers first wins: a handler that finds its response already answered (an app's
 * timeout interceptor fired while it read the store) does not answer again, and an error that an
 * interceptor raises after the handler answered (e.g. one that refuses `undefined` results) does
 * not cut a response that is already on its way, such as an export being streamed.
 * @internal
 */
@Injectable()
export class AuditRouteResponder {
  // Keyed by the response object (Express `res`, Fastify `reply`), which lives as long as the
  // request: Fastify marks a reply sent only once its onSend hooks have run.
  private readonly answered = new WeakSet<object>();

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  /** Whether `res` has been answered here or its headers are already on the wire. */
  isAnswered(res: unknown): boolean {
    if (this.answered.has(res as object)) return true;
    return this.adapterHost.httpAdapter.isHeadersSent(res) === true;
  }

  /**
   * Answers `res` unless it has been answered.
   * @returns whether this call answered it
   */
  send(res: unknown, answer: AuditRouteAnswer): boolean {
    if (this.isAnswered(res)) return false;
    const adapter = this.adapterHost.httpAdapter;
    this.answered.add(res as object);
    try {
      for (const [name, value] of Object.entries(answer.headers ?? {})) {
        adapter.setHeader(res, name, value);
      }
      adapter.reply(res, answer.body, answer.status ?? 200);
    } catch (error) {
      // Nothing was sent: let the caller answer the error instead.
      this.answered.delete(res as object);
      throw error;
    }
    return true;
  }

  /**
   * Answers `error` as Nest does when no filter of the app is in the way: an `HttpException` with
   * its status and response body, anything else as a logged 500 that leaks nothing.
   */
  sendError(req: unknown, res: unknown, error: unknown): void {
    if (this.isAnswered(res)) return;
    this.answered.add(res as object);
    try {
      new BaseExceptionFilter(this.adapterHost.httpAdapter).catch(
        error,
        httpArgumentsHost(req, res),
      );
    } catch (failure) {
      this.answered.delete(res as object);
      throw failure;
    }
  }

  /**
   * Runs a route's work and answers with its result; an error of the work (or of writing the
   * answer) is given to `fail`, which answers it. Resolves once the answer is handed to the
   * adapter (for a stream: once it started); rejects only if `fail` throws.
   */
  async answer(
    res: unknown,
    work: () => Promise<AuditRouteAnswer>,
    fail: (error: unknown) => void,
  ): Promise<void> {
    try {
      this.send(res, await work());
    } catch (error) {
      fail(error);
    }
  }
}
