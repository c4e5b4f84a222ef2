/**
 * Links from an alarm to the viewer page (`alarms.viewerUrl`), so a reader goes from the e-mail
 * or the Slack line to the event, or to the list of the events a digest counts, in one click.
 */
import { AuditConfigurationError } from '../common/audit-configuration.error';
import { describe } from '../common/option-checks';

/**
 * Normalises `alarms.viewerUrl`: an absolute http(s) URL without query or fragment, ending with
 * `/` so that the viewer's relative paths (`view/events/<id>`) resolve under it.
 *
 * @param value - the option as given
 * @throws AuditConfigurationError for anything else
 * @example normalizeViewerUrl('https://admin.acme.test/audit') // 'https://admin.acme.test/audit/'
 */
export function normalizeViewerUrl(value: unknown): string {
  let url: URL | undefined;
  if (typeof value === 'string') {
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new AuditConfigurationError(
      `nestjs-audit: option "alarms.viewerUrl" must be an absolute http(s) URL of the viewer page, e.g. "https://admin.example.com/audit/" (got ${describe(value)}).`,
    );
  }
  url.search = '';
  url.hash = '';
  const text = url.toString();
  return text.endsWith('/') ? text : `${text}/`;
}

/**
 * Link to one event's detail page.
 *
 * @param viewerUrl - output of {@link normalizeViewerUrl}
 * @param eventId - the event id
 */
export function viewerEventUrl(viewerUrl: string, eventId: string): string {
  return `${viewerUrl}view/events/${encodeURIComponent(eventId)}`;
}

/** Filters of a link to the viewer's event list (names of `AuditQueryParams`). */
export interface ViewerListFilter {
  /** Exact action. */
  action?: string;
  /** Actor id. */
  actor?: string;
  /** `type` or `type:id`. */
  resource?: string;
  /** ISO-8601 instant, inclusive. */
  from: string;
  /** ISO-8601 instant, exclusive. */
  to: string;
}

/**
 * Link to the viewer's event list with filters (the shared vocabulary of `query-params.ts`).
 *
 * @param viewerUrl - output of {@link normalizeViewerUrl}
 * @param filter - the filters; `from`/`to` bound the period
 */
export function viewerListUrl(viewerUrl: string, filter: ViewerListFilter): string {
  const params = new URLSearchParams();
  if (filter.actor !== undefined) params.set('actor', filter.actor);
  if (filter.resource !== undefined) params.set('resource', filter.resource);
  if (filter.action !== undefined) params.set('action', filter.action);
  params.set('from', filter.from);
  params.set('to', filter.to);
  return `${viewerUrl}?${params.toString()}`;
}
