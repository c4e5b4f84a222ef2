/**
 * The frame of every viewer page: document head, site bar, `<main>` and the inline assets.
 */
import { markup, type HtmlInput, type SafeHtml } from './html';
import { VIEWER_SCRIPT_ELEMENT, VIEWER_STYLE_ELEMENT } from './viewer-assets';

/** What a page puts in the frame. */
export interface PageFrame {
  /** The document title, before " · Audit trail". */
  title: string;
  /** Href of the list page (the site name links to it); none on pages that cannot know it. */
  home?: string;
  /** The page content, inside `<main>`. */
  body: HtmlInput;
  /** Shown above the content (the integrity banner), when given. */
  banner?: HtmlInput;
}

// A small shield drawn inline: the page may load no file, and the favicon would be one.
const ICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Cpath d='M8 1 2 3.5v4C2 11 4.6 14 8 15c3.4-1 6-4 6-7.5v-4z' fill='%231849b8'/%3E%3C/svg%3E";

/**
 * A whole HTML document.
 *
 * @param frame - title, home link and content
 * @returns the document, starting with `<!doctype html>`
 */
export function renderPage(frame: PageFrame): string {
  const brand =
    frame.home === undefined
      ? markup`<span class="brand">Audit trail</span>`
      : markup`<a class="brand" href="${frame.home}">Audit trail</a>`;
  const page: SafeHtml = markup`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <meta name="robots" content="noindex, nofollow" />
        <title>${frame.title} · Audit trail</title>
        <link rel="icon" href="${ICON}" />
        ${VIEWER_STYLE_ELEMENT}
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <div class="wrap">
            ${brand}<span class="tagline">Who changed what, when, and from where</span>
          </div>
        </header>
        <main id="main" class="wrap" tabindex="-1">${frame.banner}${frame.body}</main>
        ${VIEWER_SCRIPT_ELEMENT}
      </body>
    </html> `;
  return page.toString();
}
