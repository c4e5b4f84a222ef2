import type {
  AuditActor,
  AuditEvent,
  AuditFieldChange,
  AuditTarget,
} from '../../event/audit-event';
import { isDiffTruncationEntry } from '../../event/diff';
import { REDACTED } from '../../event/redact';
import { isBinaryMarker, isTruncatedMarker } from '../../event/serialize';
import type { TableColumn } from './table';
import { sanitize, type Paint, type Style } from './terminal';

/**
 * How events read on a terminal: the short forms used in tables and timelines, and the full
 * layout of one event with its before/after diff.
 */

/** `2026-03-01T12:34:56Z`: UTC, to the second (the full value is in `show` and the exports). */
export function shortTime(timestamp: string): string {
  const ms = Date.parse(timestamp);
  if (Number.isNaN(ms)) return timestamp;
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** `Ada (u-1)`, `u-1`, `billing-job`, or `anonymous`. */
export function actorLabel(actor: AuditActor | undefined): string {
  if (actor === undefined) return 'anonymous';
  const name = actor.name ?? actor.email;
  if (name !== undefined && actor.id !== undefined && name !== actor.id) {
    return `${name} (${actor.id})`;
  }
  return name ?? actor.id ?? actor.type;
}

/** `user:42`, or the type alone when the target has no id. */
export function targetLabel(target: AuditTarget | undefined): string {
  if (target === undefined) return '';
  return target.id === undefined ? target.type : `${target.type}:${target.id}`;
}

/** The style of an outcome: green success, red failure, yellow unknown. */
export function outcomeStyle(outcome: string): Style | undefined {
  if (outcome === 'success') return 'green';
  if (outcome === 'failure') return 'red';
  if (outcome === 'unknown') return 'yellow';
  return undefined;
}

/** Columns of the event table (`query`, `tail`). */
export const EVENT_TABLE_COLUMNS: readonly TableColumn[] = [
  { header: 'TIME', shrink: false },
  { header: 'ACTOR', minWidth: 10 },
  { header: 'ACTION', minWidth: 12 },
  { header: 'TARGET', minWidth: 10 },
  { header: 'OUTCOME', shrink: false, style: outcomeStyle },
  { header: 'CHANGED', minWidth: 10 },
  { header: 'ID', shrink: false, style: () => 'dim' },
];

/** The cells of one event in {@link EVENT_TABLE_COLUMNS} order. */
export function eventRow(event: AuditEvent): string[] {
  return [
    shortTime(event.timestamp),
    actorLabel(event.actor),
    event.action,
    targetLabel(event.target),
    event.outcome,
    changedFields(event),
    event.id,
  ];
}

/** Dotted paths of the changed fields, comma-separated (`(whole value)` for a root change). */
export function changedFields(event: AuditEvent): string {
  const fields = event.changes?.fields ?? [];
  return fields.map((field) => (field === '' ? '(whole value)' : field)).join(', ');
}

/** A JSON value on one line (stored events hold JSON values only). */
function compact(value: unknown): string {
  return JSON.stringify(value) ?? 'undefined';
}

/**
 * One value of a diff or a fact, as text. Strings are quoted (so `""` differs from nothing),
 * except the redaction marker, which shows as it is stored; the size/digest markers that
 * replace binary or oversized values are spelled out.
 */
export function valueText(value: unknown): string {
  if (value === REDACTED) return REDACTED;
  if (isBinaryMarker(value)) {
    return `[binary: ${value.bytes} bytes, sha256 ${value.sha256.slice(0, 12)}…]`;
  }
  if (isTruncatedMarker(value)) {
    return `[too large, not stored: ${value.bytes} bytes, sha256 ${value.sha256.slice(0, 12)}…]`;
  }
  if (value === undefined) return '(absent)';
  return compact(value);
}

function fieldName(change: AuditFieldChange): string {
  return change.path.length === 0 ? '(whole value)' : change.path.join('.');
}

/**
 * The diff as lines: `~ field: old → new` for a change, `+ field: value` for an added field and
 * `- field: value` for a removed one. A diff cut to keep the event small ends with a line saying
 * how many entries were left out.
 * @param indent prefix of every line.
 */
export function diffLines(
  diff: readonly AuditFieldChange[],
  paint: Paint,
  indent = '  ',
): string[] {
  const lines: string[] = [];
  for (const change of diff) {
    if (isDiffTruncationEntry(change)) {
      const marker = change.after as { entries?: number; bytes: number };
      lines.push(
        `${indent}${paint('dim', `… ${marker.entries ?? '?'} more changes not stored (${marker.bytes} bytes)`)}`,
      );
      continue;
    }
    const name = sanitize(fieldName(change));
    if (change.op === 'added') {
      lines.push(`${indent}${paint('green', '+')} ${name}: ${sanitize(valueText(change.after))}`);
    } else if (change.op === 'removed') {
      lines.push(`${indent}${paint('red', '-')} ${name}: ${sanitize(valueText(change.before))}`);
    } else {
      const before = sanitize(valueText(change.before));
      const after = sanitize(valueText(change.after));
      lines.push(`${indent}${paint('yellow', '~')} ${name}: ${before} → ${after}`);
    }
  }
  return lines;
}

function joinDefined(parts: readonly (string | undefined | false)[], separator = ' · '): string {
  return parts
    .filter((part): part is string => typeof part === 'string' && part !== '')
    .join(separator);
}

function personLabel(person: { id?: string; name?: string; email?: string }): string {
  return joinDefined(
    [
      person.name,
      person.email === undefined ? undefined : `<${person.email}>`,
      person.id === undefined
        ? undefined
        : person.name === undefined && person.email === undefined
          ? person.id
          : `(${person.id})`,
    ],
    ' ',
  );
}

function actorFacts(actor: AuditActor): string[] {
  const lines = [
    joinDefined([
      personLabel(actor) || actor.type,
      `${actor.type}, ${actor.authenticated ? 'authenticated' : 'not authenticated'}`,
      actor.roles && actor.roles.length > 0 ? `roles ${actor.roles.join(', ')}` : undefined,
      joinDefined([actor.provider, actor.realm], '/') || undefined,
    ]),
  ];
  if (actor.impersonator !== undefined) {
    lines.push(`impersonated by ${personLabel(actor.impersonator) || 'an unknown person'}`);
  }
  return lines;
}

/** A labelled fact of the detail view: its text, or `undefined` when the event has none. */
type FactOf = (event: AuditEvent, paint: Paint) => string | string[] | undefined;

/** The facts of the detail view, in the order shown. */
const EVENT_FACTS: readonly (readonly [string, FactOf])[] = [
  ['id', (event) => event.id],
  ['time', (event) => event.timestamp],
  [
    'action',
    (event) =>
      joinDefined([
        event.action,
        event.category?.length ? `category ${event.category.join(', ')}` : undefined,
        event.type?.length ? `type ${event.type.join(', ')}` : undefined,
      ]),
  ],
  [
    'outcome',
    (event, paint) =>
      joinDefined([
        paint(outcomeStyle(event.outcome) ?? 'bold', sanitize(event.outcome)),
        sanitize(`level ${event.level}`),
      ]),
  ],
  ['actor', (event) => (event.actor ? actorFacts(event.actor) : 'anonymous')],
  ['target', (event) => targetLabel(event.target) || undefined],
  ['tenant', (event) => event.tenant],
  [
    'source',
    ({ source }) => (source ? joinDefined([source.ip, source.userAgent]) || undefined : undefined),
  ],
  ['request', ({ request }) => (request ? requestFact(request) : undefined)],
  [
    'response',
    ({ response }) =>
      response?.statusCode === undefined ? undefined : `status ${response.statusCode}`,
  ],
  ['duration', ({ durationMs }) => (durationMs === undefined ? undefined : `${durationMs} ms`)],
  ['error', ({ error }) => (error ? `${error.type}: ${error.message}` : undefined)],
  ['message', (event) => event.message],
  [
    'labels',
    ({ labels }) =>
      labels && Object.keys(labels).length > 0
        ? Object.entries(labels)
            .map(([key, value]) => `${key}=${value}`)
            .join(', ')
        : undefined,
  ],
  ['filter', ({ filter }) => (filter === undefined ? undefined : compact(filter))],
  ['results', ({ results }) => (results === undefined ? undefined : compact(results))],
  ['body', ({ body }) => (body === undefined ? undefined : compact(body))],
  [
    'resp. body',
    ({ response }) => (response?.body === undefined ? undefined : compact(response.body)),
  ],
];

function requestFact(r: NonNullable<AuditEvent['request']>): string | undefined {
  return (
    joinDefined([
      joinDefined([r.method, r.path], ' ') || undefined,
      r.route === undefined ? undefined : `route ${r.route}`,
      r.id === undefined ? undefined : `request id ${r.id}`,
      r.traceId === undefined ? undefined : `trace ${r.traceId}`,
    ]) || undefined
  );
}

/**
 * The full layout of one event: facts (who, when, where, which request), then the changes.
 * @returns text ending with a newline.
 */
export function eventDetails(event: AuditEvent, paint: Paint): string {
  const facts: [string, string[]][] = [];
  for (const [label, factOf] of EVENT_FACTS) {
    const value = factOf(event, paint);
    if (value === undefined) continue;
    const lines = Array.isArray(value) ? value : [value];
    if (lines.length > 0 && lines.some((line) => line !== '')) facts.push([label, lines]);
  }
  const labelWidth = Math.max('changes'.length, ...facts.map(([label]) => label.length));
  const out: string[] = [];
  for (const [label, lines] of facts) {
    lines.forEach((line, i) => {
      const head = i === 0 ? paint('bold', label.padEnd(labelWidth)) : ' '.repeat(labelWidth);
      // Styled parts were built from sanitised data or fixed words; sanitise the rest here.
      out.push(`${head}  ${label === 'outcome' ? line : sanitize(line)}`);
    });
  }
  if (event.changes !== undefined) out.push('', ...changesLines(event.changes, labelWidth, paint));
  return `${out.join('\n')}\n`;
}

/** The `changes` section of the detail view: how many fields changed, then the diff. */
function changesLines(
  changes: NonNullable<AuditEvent['changes']>,
  labelWidth: number,
  paint: Paint,
): string[] {
  // `count` stays complete when the list of names was cut to fit the event.
  const count = changes.count ?? changes.fields.length;
  const unavailable = changes.unavailable;
  let summary = count === 0 ? 'none' : `${count} field${count === 1 ? '' : 's'}`;
  if (unavailable !== undefined) summary = `unknown (${sanitize(unavailable)})`;
  return [
    `${paint('bold', 'changes'.padEnd(labelWidth))}  ${summary}`,
    ...diffLines(changes.diff, paint),
  ];
}

/**
 * One step of a timeline (`history`): a header line (time, action, outcome, actor, id) and the
 * step's changes below it.
 */
export function timelineStep(event: AuditEvent, paint: Paint): string {
  const head = [
    paint('bold', shortTime(event.timestamp)),
    sanitize(event.action),
    paint(outcomeStyle(event.outcome) ?? 'bold', event.outcome),
    `by ${sanitize(actorLabel(event.actor))}`,
    paint('dim', sanitize(event.id)),
  ].join('  ');
  const lines = [head, ...diffLines(event.changes?.diff ?? [], paint, '    ')];
  if (event.error)
    lines.push(
      `    ${paint('red', 'error')} ${sanitize(`${event.error.type}: ${event.error.message}`)}`,
    );
  return `${lines.join('\n')}\n`;
}
