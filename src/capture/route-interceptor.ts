import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { RequestRecord } from './request-record';

const INTERCEPTORS_METADATA = '__interceptors__';

/**
 * The interceptor bound to each audited controller method in place of a global one: Nest runs a
 * route's interceptors only when it has some, so a route that is not audited skips the whole
 * interceptor chain (rxjs, and on Nest 11 an `AsyncResource` per interceptor) instead of
 * entering a global interceptor that returns at once.
 *
 * It keeps no state: the request's record, opened by the app's own capture before any guard
 * ran, names the interceptor of the app that audits it. So one binding serves every app in the
 * process that shares the controller class (tests, an app and its admin app), request-scoped
 * controllers (whose interceptors are resolved per request) included, and a request of an app
 * that does not audit it passes through.
 */
export const ROUTE_INTERCEPTOR: NestInterceptor = {
  intercept(
    context: ExecutionContext,
    next: CallHandler,
  ): Observable<unknown> | Promise<Observable<unknown>> {
    if (context.getType() !== 'http') return next.handle();
    const enricher = RequestRecord.of(context.switchToHttp().getRequest())?.enricher;
    return enricher ? enricher.intercept(context, next) : next.handle();
  },
};

/**
 * Appends {@link ROUTE_INTERCEPTOR} to a controller method's interceptors, once; innermost, so
 * the handler's own result is what the record sees. Nest reads the list when it registers the
 * route, so this runs before (from `AuditModule.configure`).
 */
export function bindRouteInterceptor(method: object): void {
  const list = (Reflect.getMetadata(INTERCEPTORS_METADATA, method) ?? []) as unknown[];
  if (list.includes(ROUTE_INTERCEPTOR)) return;
  Reflect.defineMetadata(INTERCEPTORS_METADATA, [...list, ROUTE_INTERCEPTOR], method);
}
