import { Catch, Inject, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { AuditRouteResponder } from '../audit-route-responder';

/**
 * Answers every error raised around an audit API handler (a guard's 401 or 403, an app
 * interceptor that throws or times out) in the API's own format, Nest's standard error body,
 * whatever exception filters the app registers: scoped to the API's controller, it is chosen
 * before any global filter. Errors of the handlers themselves never get here (they answer them).
 * @internal
 */
@Catch()
export class AuditApiExceptionFilter implements ExceptionFilter {
  constructor(@Inject(AuditRouteResponder) private readonly responder: AuditRouteResponder) {}

  /** @inheritdoc */
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    this.responder.sendError(http.getRequest<unknown>(), http.getResponse<unknown>(), exception);
  }
}
