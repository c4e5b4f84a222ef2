/**
 * A page that only says something: an unknown event, a denied access, a store that does not
 * answer. It keeps the viewer's look, so the reader is not dropped onto a JSON error.
 */
import { markup } from './html';
import { renderPage } from './render-layout';
import type { ViewerLinks } from './viewer-links';

/** What a message page says. */
export interface MessagePageInput {
  /** Heading and document title. */
  title: string;
  /** What happened and what to do. */
  message: string;
  /** Links as seen from the page, for the way back; none when unknown. */
  links?: ViewerLinks;
}

/**
 * A message page as a whole document; the message is in an alert region.
 *
 * @param input - title, message, and links when known
 */
export function renderMessagePage(input: MessagePageInput): string {
  const home = input.links?.list();
  const body = markup`<h1>${input.title}</h1>
    <div class="alert" role="alert"><p>${input.message}</p></div>
    ${home !== undefined && markup`<p><a href="${home}">Back to all events</a></p>`}`;
  return renderPage({ title: input.title, ...(home === undefined ? {} : { home }), body });
}
