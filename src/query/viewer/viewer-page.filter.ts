import {
  Catch,
  HttpException,
  HttpStatus,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AUDIT_LOGGER_CONTEXT } from '../../audit.constants';
import { renderMessagePage } from './render-message';
import { VIEWER_HEADERS } from './viewer-assets';
import { ViewerPageException } from './viewer-page.exception';

const TITLES: Readonly<Record<number, string>> = {
  [HttpStatus.UNAUTHORIZED]: 'Sign-in required',
  [HttpStatus.FORBIDDEN]: 'Access denied',
  [HttpStatus.NOT_FOUND]: 'Page not found',
  [HttpStatus.TOO_MANY_REQUESTS]: 'Too many requests',
};

const ADVICE: Readonly<Record<number, string>> = {
  [HttpStatus.UNAUTHORIZED]: 'Sign in, then open this page again.',
  [HttpStatus.FORBIDDEN]: 'Ask your administrator for access to the audit trail.',
  [HttpStatus.TOO_MANY_REQUESTS]: 'Wait a moment, then try again.',
};

/**
 * Answers every error of a viewer route, a guard's refusal included, with an HTML page in the
 * viewer's look and headers, through Nest's HTTP adapter (so Express and Fastify alike).
 * Unexpected errors are logged and shown as a generic page that leaks no internals.
 */
@Catch()
export class ViewerPageFilter implements ExceptionFilter {
  private readonly logger = new Logger(AUDIT_LOGGER_CONTEXT);

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  /** @inheritdoc */
  catch(exception: unknown, host: ArgumentsHost): void {
    const response: unknown = host.switchToHttp().getResponse();
    const adapter = this.adapterHost.httpAdapter;
    let status: number;
    let page: string;
    if (exception instanceof ViewerPageException) {
      status = exception.getStatus();
      page = exception.page;
    } else if (exception instanceof HttpException) {
      status = exception.getStatus();
      const advice = ADVICE[status];
      page = renderMessagePage({
        title: TITLES[status] ?? 'The request was refused',
        message: advice === undefined ? exception.message : `${exception.message}. ${advice}`,
      });
    } else {
      status = HttpStatus.INTERNAL_SERVER_ERROR;
      this.logger.error(
        `nestjs-audit: the audit viewer could not render a page: ${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}`,
      );
      page = renderMessagePage({
        title: 'The audit trail could not be shown',
        message:
          'Something went wrong while reading the audit trail. Try again in a moment; if it keeps failing, tell your administrator (the details are in the server log).',
      });
    }
    if (adapter.isHeadersSent(response)) return;
    for (const [name, value] of Object.entries(VIEWER_HEADERS)) {
      adapter.setHeader(response, name, value);
    }
    adapter.reply(response, page, status);
  }
}
