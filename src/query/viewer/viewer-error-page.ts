import { HttpException, HttpStatus, type Logger } from '@nestjs/common';
import type { AuditRouteAnswer } from '../audit-route-responder';
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
 * The viewer's answer to an error, as an HTML page in the viewer's look and headers: the page a
 * `ViewerPageException` carries, a page that explains an `HttpException` (a guard's refusal
 * included), or, for anything else, a generic page that leaks no internals (the error is logged).
 *
 * @param exception - what was thrown
 * @param logger - where an unexpected error is logged
 */
export function viewerErrorAnswer(exception: unknown, logger: Logger): AuditRouteAnswer {
  if (exception instanceof ViewerPageException) {
    return { body: exception.page, status: exception.getStatus(), headers: VIEWER_HEADERS };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const advice = ADVICE[status];
    const page = renderMessagePage({
      title: TITLES[status] ?? 'The request was refused',
      message: advice === undefined ? exception.message : `${exception.message}. ${advice}`,
    });
    return { body: page, status, headers: VIEWER_HEADERS };
  }
  logger.error(
    `nestjs-audit: the audit viewer could not render a page: ${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}`,
  );
  const page = renderMessagePage({
    title: 'The audit trail could not be shown',
    message:
      'Something went wrong while reading the audit trail. Try again in a moment; if it keeps failing, tell your administrator (the details are in the server log).',
  });
  return { body: page, status: HttpStatus.INTERNAL_SERVER_ERROR, headers: VIEWER_HEADERS };
}
