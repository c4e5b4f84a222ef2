/**
 * The viewer's main page: a filter form (a plain GET form, so a filtered view is a shareable URL
 * and works without script), the matching events newest first, and keyset paging links.
 */
import { isCollapsed, type AuditPageEvent } from '../read-budget';
import { clippedSpan, markup, titleAttr, type SafeHtml } from './html';
import { changedFieldsSummary } from './render-changes';
import { renderActor, renderOutcome, renderTime } from './render-facts';
import { renderIntegrityBanner, renderSequence, type ViewerIntegrity } from './render-integrity';
import { renderPage } from './render-layout';
import { SHOW_READS_PARAM } from './own-reads';
import type { ListLinkParams, ViewerLinks } from './viewer-links';
import { actionLabel, humanName, targetLabel } from './viewer-words';

/** What the list page shows. */
export interface ListPageInput {
  /** Links as seen from the list page. */
  links: ViewerLinks;
  /** Filter values as given in the URL (the first value of each parameter). */
  params: Readonly<Record<string, string>>;
  /**
   * The page of events, each larger than `INLINE_EVENT_BYTES` collapsed (`withinReadBudget`);
   * absent when the filters were rejected.
   */
  result?: ListPageResult;
  /** Why the filters were rejected; shown in an alert above the form. */
  error?: string;
  /** Reads of the trail itself left out of this page (see `own-reads.ts`). */
  hiddenReads?: number;
  /** The integrity banner's facts; no banner when absent. */
  integrity?: ViewerIntegrity;
}

/** A page of the list: its events (whole or collapsed) and the cursor of the next page. */
export interface ListPageResult {
  /** The events, newest first. */
  items: readonly AuditPageEvent[];
  /** Cursor of the older events, when there are more. */
  nextCursor?: string;
}

/** The periods offered by the "Period" menu, as `since` values. */
export const VIEWER_PERIODS: readonly { value: string; label: string }[] = [
  { value: '', label: 'Any time' },
  { value: '1h', label: 'Last hour' },
  { value: '24h', label: 'Last 24 hours' },
  { value: '7d', label: 'Last 7 days' },
  { value: '30d', label: 'Last 30 days' },
];

const OUTCOME_CHOICES: readonly { value: string; label: string }[] = [
  { value: '', label: 'Any outcome' },
  { value: 'success', label: 'Success' },
  { value: 'failure', label: 'Failed' },
  { value: 'unknown', label: 'Unknown' },
];

// Filters of the shared vocabulary that the form has no field for: kept as hidden inputs so
// that applying the form does not silently drop them, and named next to the buttons.
const CARRIED: readonly { name: string; label: string }[] = [
  { name: 'requestId', label: 'request id' },
  { name: 'tenant', label: 'tenant' },
  { name: 'limit', label: 'page size' },
];

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** The `type:id` text of the resource field, from `resource` or `resourceType` + `resourceId`. */
function resourceValue(params: Readonly<Record<string, string>>): string {
  if (params.resource !== undefined) return params.resource;
  const type = params.resourceType;
  if (type === undefined) return '';
  return params.resourceId === undefined ? type : `${type}:${params.resourceId}`;
}

function options(
  choices: readonly { value: string; label: string }[],
  selected: string,
  custom: (value: string) => string,
): SafeHtml {
  const known = choices.some((choice) => choice.value === selected);
  const all = known ? choices : [...choices, { value: selected, label: custom(selected) }];
  return markup`${all.map((choice) => {
    const chosen = choice.value === selected ? markup` selected` : '';
    return markup`<option value="${choice.value}"${chosen}>${choice.label}</option>`;
  })}`;
}

function dateField(name: 'from' | 'to', label: string, value: string): SafeHtml {
  // A full instant from a shared URL would not fit a date input; keep it editable as text.
  const type = value === '' || DATE_ONLY.test(value) ? 'date' : 'text';
  return markup`<div class="field">
    <label for="f-${name}">${label} <span class="hint">(UTC)</span></label>
    <input id="f-${name}" name="${name}" type="${type}" value="${value}" />
  </div>`;
}

function textField(
  name: string,
  label: string,
  hint: string,
  value: string,
  placeholder: string,
): SafeHtml {
  return markup`<div class="field">
    <label for="f-${name}">${label} <span class="hint">${hint}</span></label>
    <input id="f-${name}" name="${name}" type="text" value="${value}" placeholder="${placeholder}"
      autocomplete="off" spellcheck="false" />
  </div>`;
}

/** The box that shows the trail's own reads (page views and API calls) in the list. */
function readsToggle(checked: boolean): SafeHtml {
  return markup`<label class="toggle" for="f-${SHOW_READS_PARAM}">
    <input id="f-${SHOW_READS_PARAM}" name="${SHOW_READS_PARAM}" type="checkbox" value="1"${checked ? markup` checked` : ''} />
    Show reads of the audit trail <span class="hint">(viewer and API)</span>
  </label>`;
}

function filterForm(links: ViewerLinks, params: Readonly<Record<string, string>>): SafeHtml {
  const value = (name: string): string => params[name] ?? '';
  const carried = [...CARRIED];
  if (params.resourceType === undefined && params.resourceId !== undefined) {
    carried.push({ name: 'resourceId', label: 'record id' });
  }
  const kept = carried.filter((entry) => value(entry.name) !== '');
  const alsoList = kept.map(
    (entry, i) => markup`${i > 0 ? ', ' : ''}${entry.label} <code>${value(entry.name)}</code>`,
  );
  return markup`<form class="filters card" method="get" action="${links.list()}" role="search"
    aria-label="Filter events">
    ${textField('actor', 'Who', '(user id)', value('actor'), 'e.g. u-42')}
    ${textField('resource', 'Record', '(type:id)', resourceValue(params), 'e.g. user:42')}
    ${textField('action', 'Action', '', value('action'), 'e.g. user.update')}
    <div class="field">
      <label for="f-outcome">Outcome</label>
      <select id="f-outcome" name="outcome">
        ${options(OUTCOME_CHOICES, value('outcome'), (v) => v)}
      </select>
    </div>
    <div class="field">
      <label for="f-since">Period</label>
      <select id="f-since" name="since">
        ${options(VIEWER_PERIODS, value('since'), (v) => `Custom: ${v}`)}
      </select>
    </div>
    ${dateField('from', 'From', value('from'))} ${dateField('to', 'Before', value('to'))}
    <div class="form-foot">
      ${readsToggle(value(SHOW_READS_PARAM) === '1')}
      <button class="button" type="submit">Apply filters</button>
      <a href="${links.list()}">Clear filters</a>
      ${kept.map((entry) => markup`<input type="hidden" name="${entry.name}" value="${value(entry.name)}" />`)}
      ${kept.length > 0 && markup`<span class="also">Also filtering by ${alsoList}</span>`}
    </div>
  </form>`;
}

/** The "Changed fields" cell: names of the first fields, or a link for an event too large to list. */
function fieldsCell(event: AuditPageEvent, links: ViewerLinks): SafeHtml {
  if (isCollapsed(event)) {
    const kib = Math.ceil(event.collapsed.bytes / 1024);
    return markup`<a class="muted" href="${links.event(event.id)}" data-collapsed>Too large to list (${kib} KiB): open it</a>`;
  }
  const fields = changedFieldsSummary(event.changes);
  return fields.text === ''
    ? markup`<span class="muted">—</span>`
    : markup`<span class="clip"${titleAttr(fields.all)}>${fields.text}</span>`;
}

function eventRow(event: AuditPageEvent, links: ViewerLinks, chained: boolean): SafeHtml {
  const target = event.target;
  const targetCell =
    target === undefined
      ? markup`<span class="muted">—</span>`
      : target.id === undefined
        ? clippedSpan(humanName(target.type), 40, 'clip')
        : markup`<a class="target-link clip" href="${links.history(target.type, target.id)}"
            title="Timeline of ${targetLabel(target)}">${targetLabel(target)}</a>`;
  return markup`<tr data-row>
    <td>${renderTime(event.timestamp, true)}${renderSequence(event.sequence, chained, 'sub-line')}</td>
    <td>${renderActor(event.actor, 40)}</td>
    <td>
      <a class="row-link clip" href="${links.event(event.id)}">${actionLabel(event.action)}</a>
      ${clippedSpan(event.action, 60, 'sub-line clip code')}
      ${event.message !== undefined && clippedSpan(event.message, 80, 'sub-line clip')}
    </td>
    <td>${targetCell}</td>
    <td>${renderOutcome(event.outcome)}</td>
    <td class="col-fields">${fieldsCell(event, links)}</td>
  </tr>`;
}

function eventTable(
  items: readonly AuditPageEvent[],
  links: ViewerLinks,
  chained: boolean,
): SafeHtml {
  return markup`<table class="events">
    <caption class="sr-only">Events, newest first</caption>
    <colgroup>
      <col class="c-when" />
      <col class="c-who" />
      <col class="c-what" />
      <col class="c-target" />
      <col class="c-outcome" />
      <col class="c-fields col-fields" />
    </colgroup>
    <thead>
      <tr>
        <th scope="col">When</th>
        <th scope="col">Who</th>
        <th scope="col">What</th>
        <th scope="col">Record</th>
        <th scope="col">Outcome</th>
        <th scope="col" class="col-fields">Changed fields</th>
      </tr>
    </thead>
    <tbody>
      ${items.map((event) => eventRow(event, links, chained))}
    </tbody>
  </table>`;
}

function withoutCursor(params: Readonly<Record<string, string>>): ListLinkParams {
  const rest: Record<string, string> = { ...params };
  delete rest.cursor;
  return rest;
}

/** Says how many reads of the trail were left out, with a link that shows them. */
function hiddenReadsNote(input: ListPageInput): SafeHtml | false {
  const hidden = input.hiddenReads ?? 0;
  if (hidden === 0) return false;
  const noun = hidden === 1 ? 'read' : 'reads';
  const show = input.links.list({ ...withoutCursor(input.params), [SHOW_READS_PARAM]: '1' });
  return markup`<p class="hidden-reads muted" data-hidden-reads="${String(hidden)}">
    ${hidden} ${noun} of the audit trail hidden · <a href="${show}">Show them</a>
  </p>`;
}

function results(input: ListPageInput, result: ListPageResult): SafeHtml {
  const { links, params } = input;
  const filtered = Object.keys(withoutCursor(params)).some(
    (key) => key !== SHOW_READS_PARAM && params[key] !== '',
  );
  const paged = params.cursor !== undefined && params.cursor !== '';
  const hiddenNote = hiddenReadsNote(input);
  if (result.items.length === 0) {
    return markup`<div class="card empty" role="status">
      <h2>No events found</h2>
      <p class="muted">
        ${
          result.nextCursor !== undefined
            ? 'Only reads of the audit trail here; older events may match.'
            : paged
              ? 'There are no older events for these filters.'
              : filtered
                ? 'No event matches these filters. Try a longer period or remove a filter.'
                : (input.hiddenReads ?? 0) > 0
                  ? 'Nothing but reads of the audit trail has been recorded yet.'
                  : 'Nothing has been recorded yet.'
        }
      </p>
      ${hiddenNote}
      ${paged && markup`<p><a href="${links.list(withoutCursor(params))}">Back to the newest events</a></p>`}
      ${
        result.nextCursor !== undefined &&
        markup`<p><a href="${links.list({ ...withoutCursor(params), cursor: result.nextCursor })}" rel="next">Older →</a></p>`
      }
    </div>`;
  }
  const count = result.items.length;
  const noun = count === 1 ? 'event' : 'events';
  const onPage = result.nextCursor !== undefined ? ' on this page' : '';
  const summary = `${paged ? `${count} older ${noun}` : `${count} ${noun}`}${onPage}, newest first`;
  return markup`<div class="bar">
      <p role="status">${summary}</p>
      ${hiddenNote}
      <p class="keys" data-keys hidden>
        <kbd>j</kbd> / <kbd>k</kbd> move between rows · <kbd>Enter</kbd> opens ·
        <kbd>/</kbd> filters
      </p>
    </div>
    ${eventTable(result.items, links, input.integrity?.chained ?? true)}
    <nav class="paging" aria-label="Pages">
      ${paged && markup`<a href="${links.list(withoutCursor(params))}">← Newest</a>`}
      ${
        result.nextCursor !== undefined &&
        markup`<a href="${links.list({ ...withoutCursor(params), cursor: result.nextCursor })}" rel="next">Older →</a>`
      }
    </nav>`;
}

/**
 * The list page as a whole document.
 *
 * @param input - links, filter values, and the page of events or the error
 */
export function renderListPage(input: ListPageInput): string {
  const body = markup`<h1>Events</h1>
    <p class="lead">Find who changed what: filter by person, record, action, outcome or period.</p>
    ${
      input.error !== undefined &&
      markup`<div class="alert" role="alert">
        <h2>These filters cannot be used</h2>
        <p>${input.error}</p>
      </div>`
    }
    ${filterForm(input.links, input.params)}
    ${input.result !== undefined && results(input, input.result)}`;
  return renderPage({
    title: 'Events',
    home: input.links.list(),
    banner: renderIntegrityBanner(input.integrity),
    body,
  });
}
