/**
 * The timeline of one record: every event on it, newest first (the latest change is usually the
 * one asked about), each with its changes.
 */
import { isCollapsed, type AuditPageEvent } from '../read-budget';
import { markup, type SafeHtml } from './html';
import { renderChanges } from './render-changes';
import { renderActor, renderOutcome, renderTime } from './render-facts';
import { renderIntegrityBanner, renderSequence, type ViewerIntegrity } from './render-integrity';
import { renderPage } from './render-layout';
import type { ViewerLinks } from './viewer-links';
import { actionLabel } from './viewer-words';

/**
 * Most events drawn on one timeline: with each event's changes drawn whole, this bounds the page
 * (50 events of at most the write-time event size cap); the list page pages through the rest.
 */
export const MAX_TIMELINE_EVENTS = 50;

/** What the timeline page shows. */
export interface HistoryPageInput {
  /** Links as seen from the timeline page. */
  links: ViewerLinks;
  /** Resource type. */
  type: string;
  /** Resource id. */
  id: string;
  /** The record's latest events, newest first, as `AuditService.historyPage()` returns them. */
  events: readonly AuditPageEvent[];
  /**
   * Whether the record has older events than these.
   * @default false
   */
  more?: boolean;
  /** The integrity banner's facts; no banner when absent. */
  integrity?: ViewerIntegrity;
}

function entry(event: AuditPageEvent, links: ViewerLinks, chained: boolean): SafeHtml {
  const heading = `entry-${event.id}`;
  return markup`<li>
    <article class="card" aria-labelledby="${heading}">
      <div class="entry-head">
        <h2 id="${heading}">
          <a class="row-link" href="${links.event(event.id)}">${actionLabel(event.action)}</a>
        </h2>
        ${renderTime(event.timestamp, false)} ${renderOutcome(event.outcome)}
        <span class="muted">by</span> <span>${renderActor(event.actor, 60)}</span>
        ${renderSequence(event.sequence, chained)}
      </div>
      ${
        isCollapsed(event)
          ? markup`<p class="muted">This event is too large to draw here (${Math.ceil(event.collapsed.bytes / 1024)} KiB):
              <a href="${links.event(event.id)}">open it</a>.</p>`
          : renderChanges(event.changes, `Changes of ${actionLabel(event.action)}`)
      }
    </article>
  </li>`;
}

/**
 * The timeline page as a whole document.
 *
 * @param input - links, the record, and its events
 */
export function renderHistoryPage(input: HistoryPageInput): string {
  const { links, type, id } = input;
  const shown = input.events.slice(0, MAX_TIMELINE_EVENTS);
  const name = `${type} ${id}`;
  const count = shown.length;
  const body = markup`<nav class="crumbs" aria-label="Breadcrumb">
      <a href="${links.list()}">All events</a> › Timeline
    </nav>
    <h1>Timeline of ${name}</h1>
    <p class="lead">
      ${
        count === 0
          ? 'No event has been recorded for this record.'
          : input.more
            ? `The latest ${count} events, newest first; older ones are in the event list.`
            : `${count} ${count === 1 ? 'event' : 'events'}, newest first.`
      }
      <a href="${links.list({ resource: `${type}:${id}` })}">Show in the event list</a>
    </p>
    ${
      count > 0 &&
      markup`<ol class="timeline">
        ${shown.map((event) => entry(event, links, input.integrity?.chained ?? true))}
      </ol>`
    }`;
  return renderPage({
    title: `Timeline of ${name}`,
    home: links.list(),
    banner: renderIntegrityBanner(input.integrity),
    body,
  });
}
