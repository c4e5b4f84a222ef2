/**
 * The detail page of one event: the changes in plain language first (that is what the reader came
 * for), then who, what, and where/how, then the raw record for specialists.
 */
import type { AuditEvent } from '../../event/audit-event';
import { clippedSpan, markup, type HtmlInput, type SafeHtml } from './html';
import { renderChanges } from './render-changes';
import { renderOutcome, renderTime } from './render-facts';
import { renderIntegrityBanner, renderSequence, type ViewerIntegrity } from './render-integrity';
import { renderPage } from './render-layout';
import { renderValue } from './render-value';
import type { ViewerLinks } from './viewer-links';
import { readableDuration } from './viewer-time';
import { actionLabel, actorLabel, targetLabel } from './viewer-words';

/** What the detail page shows. */
export interface EventPageInput {
  /** Links as seen from the detail page. */
  links: ViewerLinks;
  /** The event. */
  event: AuditEvent;
  /** The integrity banner's facts; no banner when absent. */
  integrity?: ViewerIntegrity;
}

/** Most characters of one fact shown in place. */
const FACT_CHARS = 600;
/** Most characters of the raw JSON shown; events are size-capped when recorded, so rarely hit. */
const RAW_JSON_CHARS = 200_000;

const ACTOR_TYPES: Readonly<Record<AuditEvent['actor']['type'], string>> = {
  user: 'Person',
  service: 'Service or job',
  anonymous: 'Anonymous',
};

type Fact = readonly [label: string, value: HtmlInput];

function text(value: string | undefined, className = 'text'): SafeHtml | undefined {
  return value === undefined || value === ''
    ? undefined
    : clippedSpan(value, FACT_CHARS, className);
}

function copyable(value: string | undefined, label: string): SafeHtml | undefined {
  if (value === undefined || value === '') return undefined;
  return markup`<code data-copy="${value}" data-copy-label="${label}">${value}</code>`;
}

function factList(facts: readonly Fact[]): SafeHtml {
  const shown = facts.filter(
    ([, value]) => value !== undefined && value !== null && value !== false,
  );
  if (shown.length === 0) return markup`<p class="muted">Not recorded.</p>`;
  return markup`<dl class="facts">
    ${shown.map(([label, value]) => markup`<dt>${label}</dt><dd>${value}</dd>`)}
  </dl>`;
}

function section(id: string, title: string, facts: readonly Fact[]): SafeHtml {
  return markup`<section class="card" aria-labelledby="${id}">
    <h2 id="${id}">${title}</h2>
    ${factList(facts)}
  </section>`;
}

function who(event: AuditEvent, links: ViewerLinks): SafeHtml {
  const actor = event.actor;
  const kind = actor.type === 'service' ? 'service' : 'person';
  const impersonator = actor.impersonator;
  const impersonatorName =
    impersonator && (impersonator.name ?? impersonator.email ?? impersonator.id);
  return section('who', 'Who', [
    ['Name', text(actor.name) ?? markup`${actorLabel(actor).name}`],
    [
      'User id',
      actor.id !== undefined &&
        markup`${copyable(actor.id, 'user id')}
          <a href="${links.list({ actor: actor.id })}">All events by this ${kind}</a>`,
    ],
    ['E-mail', text(actor.email)],
    ['Kind', ACTOR_TYPES[actor.type] ?? actor.type],
    ['Signed in', actor.authenticated ? 'Yes' : 'No'],
    ['Roles', actor.roles !== undefined && actor.roles.length > 0 && text(actor.roles.join(', '))],
    ['Identity provider', text([actor.provider, actor.realm].filter(Boolean).join(' · '))],
    [
      'On behalf of',
      impersonatorName !== undefined &&
        markup`${text(impersonatorName)} <span class="muted">(impersonating this user)</span>`,
    ],
  ]);
}

function what(event: AuditEvent, links: ViewerLinks): SafeHtml {
  const target = event.target;
  const labels = event.labels === undefined ? [] : Object.entries(event.labels);
  return section('what', 'What', [
    ['Action', markup`${actionLabel(event.action)} <code>${event.action}</code>`],
    [
      'Record',
      target !== undefined &&
        (target.id === undefined
          ? text(target.type)
          : markup`${text(targetLabel(target))}
              <a href="${links.history(target.type, target.id)}">Timeline of this record</a>`),
    ],
    ['Outcome', renderOutcome(event.outcome)],
    ['Message', text(event.message)],
    ['Error', event.error !== undefined && text(`${event.error.type}: ${event.error.message}`)],
    ['Tenant', text(event.tenant)],
    [
      'Labels',
      labels.length > 0 &&
        markup`${labels.map(([key, value], i) => markup`${i > 0 ? ', ' : ''}${key}: ${text(value)}`)}`,
    ],
    ['Event id', copyable(event.id, 'event id')],
  ]);
}

function whereHow(event: AuditEvent, links: ViewerLinks): SafeHtml {
  const request = event.request;
  const requestLine = [request?.method, request?.path].filter(Boolean).join(' ');
  return section('where', 'When, where and how', [
    [
      'When',
      markup`${renderTime(event.timestamp)}<code class="sub-line">${event.timestamp}</code>`,
    ],
    ['Duration', event.durationMs !== undefined && readableDuration(event.durationMs)],
    ['IP address', text(event.source?.ip, 'code')],
    ['Browser or client', text(event.source?.userAgent)],
    ['Request', text(requestLine, 'code')],
    ['Route', text(request?.route, 'code')],
    [
      'Response status',
      event.response?.statusCode !== undefined && String(event.response.statusCode),
    ],
    [
      'Request id',
      request?.id !== undefined &&
        markup`${copyable(request.id, 'request id')}
          <a href="${links.list({ requestId: request.id })}">All events of this request</a>`,
    ],
    ['Trace id', copyable(request?.traceId, 'trace id')],
  ]);
}

function readDetails(event: AuditEvent): SafeHtml | undefined {
  if (event.filter === undefined && event.results === undefined) return undefined;
  return markup`<h2>What was looked up</h2>
    <div class="card">
      ${factList([
        ['Search criteria', event.filter !== undefined && renderValue(event.filter, FACT_CHARS)],
        ['Returned', event.results !== undefined && renderValue(event.results, FACT_CHARS)],
      ])}
    </div>`;
}

/**
 * The detail page as a whole document.
 *
 * @param input - links and the event
 */
export function renderEventPage(input: EventPageInput): string {
  const { event, links } = input;
  const title = actionLabel(event.action);
  const target = event.target;
  const json = JSON.stringify(event, null, 2);
  const body = markup`<nav class="crumbs" aria-label="Breadcrumb">
      <a href="${links.list()}">All events</a> › Event
    </nav>
    <h1>
      ${title}${target !== undefined && markup` <span class="muted">· ${targetLabel(target)}</span>`}
    </h1>
    <div class="headline">
      ${renderTime(event.timestamp, false)} ${renderOutcome(event.outcome)}
      <span>by <strong>${actorLabel(event.actor).name}</strong></span>
      ${renderSequence(event.sequence, input.integrity?.chained ?? true)}
    </div>
    <h2>Changes</h2>
    ${renderChanges(event.changes)}
    <div class="grid">${who(event, links)} ${what(event, links)} ${whereHow(event, links)}</div>
    ${readDetails(event)}
    <details class="raw">
      <summary>Technical details (the full record as JSON)</summary>
      <pre>${json.length > RAW_JSON_CHARS ? `${json.slice(0, RAW_JSON_CHARS)}\n…` : json}</pre>
    </details>`;
  return renderPage({
    title,
    home: links.list(),
    banner: renderIntegrityBanner(input.integrity),
    body,
  });
}
