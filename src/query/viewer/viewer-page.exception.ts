import { HttpException } from '@nestjs/common';

/**
 * A whole HTML page to answer with, and its status: how a viewer handler answers 400 or 404
 * without touching the platform's response object (see `ViewerPageFilter`).
 */
export class ViewerPageException extends HttpException {
  /**
   * @param page - the HTML document
   * @param status - the HTTP status code
   */
  constructor(
    readonly page: string,
    status: number,
  ) {
    // The JSON body is what another exception filter would send if this one were bypassed.
    super({ statusCode: status, message: 'See the audit viewer page for details.' }, status);
  }
}
