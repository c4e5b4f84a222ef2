import { HttpException } from '@nestjs/common';

/**
 * A whole HTML page to answer with, and its status: how the code that builds a viewer page
 * answers 400 or 404 instead of the page it was asked for (see `viewerErrorAnswer`).
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
