import { AuditLogger } from '../../common/audit-logger';
import { Catch, Inject, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { AuditRouteResponder } from '../audit-route-responder';
import { viewerErrorAnswer } from './viewer-error-page';

/**
 * Answers every error raised around a viewer handler (a guard's refusal, an app interceptor that
 * throws or times out) with an HTML page in the viewer's look and headers, whatever exception
 * filters the app registers: scoped to the viewer's routes, it is chosen before any global
 * filter. The handlers answer their own errors the same way (see `viewerErrorAnswer`).
 */
@Catch()
export class ViewerPageFilter implements ExceptionFilter {
  private readonly logger = new AuditLogger();

  constructor(@Inject(AuditRouteResponder) private readonly responder: AuditRouteResponder) {}

  /** @inheritdoc */
  catch(exception: unknown, host: ArgumentsHost): void {
    const response: unknown = host.switchToHttp().getResponse();
    if (this.responder.isAnswered(response)) return;
    this.responder.send(response, viewerErrorAnswer(exception, this.logger));
  }
}
