/**
 * Alarm templates: `{actor.email} changed {target.type} {target.id}: {changes}`.
 *
 * A template is parsed once, at boot, into literal text and field readers, so a typo in a field
 * name fails the application start instead of producing a blank alarm in production. Values
 * come only from the event as the pipeline recorded it (already redacted).
 */
import type { AuditEvent } from '../event/audit-event';
import { changedFieldPaths } from '../event/diff';
import { ALARM_EVENT_PATHS, eventPathReader } from './alarm-event-paths';
import type { AlarmSeverity } from '../stores/alarm-message';
import {
  MISSING_VALUE,
  cutText,
  omittedChangeCount,
  renderChangedFields,
  renderChanges,
  renderValue,
} from './alarm-template-values';
import { toSlackMrkdwn, truncateMrkdwn, type AlarmTextPiece } from './notifiers/slack-mrkdwn';
import { AuditError } from '../common/audit-error';

/** Thrown for a template that cannot be parsed; the message says where and how to fix it. */
export class AlarmTemplateError extends AuditError {
  override readonly name = 'AlarmTemplateError';
  override readonly code = 'AUDIT_ALARM_TEMPLATE_INVALID';
}

/** What a template is rendered with. */
export interface AlarmTemplateContext {
  /** The event (absent for a manual alarm without one: its fields render as missing). */
  readonly event: AuditEvent | undefined;
  /** Rule name. */
  readonly rule: string;
  /** Severity of the alarm. */
  readonly severity: AlarmSeverity;
  /** Service that raises it. */
  readonly service: string;
  /** Events the alarm stands for (the threshold count, 1 otherwise). */
  readonly count: number;
  /** Threshold rules: the window in words (`1 minute`). */
  readonly window?: string;
  /** Threshold rules: the `groupBy` value that crossed the threshold. */
  readonly group?: string;
}

/** Fields every template may use (besides `labels.<name>`). */
export const ALARM_TEMPLATE_FIELDS: readonly string[] = Object.freeze([
  ...ALARM_EVENT_PATHS,
  'changes',
  'changed',
  'rule',
  'severity',
  'service',
  'count',
]);

/** Fields only the templates of threshold rules may use. */
export const THRESHOLD_TEMPLATE_FIELDS: readonly string[] = Object.freeze(['window', 'group']);

/** Longest rendered title, in characters. */
export const MAX_TITLE_CHARS = 300;
/** Longest rendered message body, in characters. */
export const MAX_TEXT_CHARS = 4000;

type Reader = (context: AlarmTemplateContext) => string | undefined;

function listText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) {
    return value.length === 0
      ? undefined
      : renderValue(value.map((item) => renderValue(item)).join(', '));
  }
  return renderValue(value);
}

function fieldReader(name: string, threshold: boolean): Reader | undefined {
  switch (name) {
    case 'changes':
      return ({ event }) => (event?.changes ? renderChanges(event.changes.diff ?? []) : undefined);
    case 'changed':
      return ({ event }) => {
        const changes = event?.changes;
        if (!changes) return undefined;
        const diff = changes.diff ?? [];
        const fields = Array.isArray(changes.fields) ? changes.fields : changedFieldPaths(diff);
        return renderChangedFields(fields, omittedChangeCount(diff));
      };
    case 'rule':
      return ({ rule }) => rule;
    case 'severity':
      return ({ severity }) => severity;
    case 'service':
      return ({ service }) => renderValue(service);
    case 'count':
      return ({ count }) => String(count);
    case 'window':
      return threshold ? ({ window }) => window : undefined;
    case 'group':
      return threshold
        ? ({ group }) => (group === undefined ? undefined : renderValue(group))
        : undefined;
    case 'actor.roles':
      return ({ event }) => (event ? listText(event.actor?.roles) : undefined);
    default: {
      const read = eventPathReader(name);
      if (read === undefined) return undefined;
      return ({ event }) => {
        if (event === undefined) return undefined;
        const value = read(event);
        return value === undefined || value === '' ? undefined : renderValue(value);
      };
    }
  }
}

/** A template rendered for one alarm, as plain text and as Slack mrkdwn. */
export interface RenderedAlarmText {
  /** Plain text, as {@link AlarmTemplate.render} returns it. */
  readonly text: string;
  /**
   * The same text as Slack mrkdwn: the template's own text with its markup kept, the values
   * neutralized. Cut where `text` is cut (then ending with `…`), and to the same limit at a
   * point that splits no escape or link.
   */
  readonly slack: string;
}

/** A parsed template. */
export interface AlarmTemplate {
  /** The template as written. */
  readonly source: string;
  /** Field names it uses, in order of appearance. */
  readonly fields: readonly string[];
  /** The text for one alarm; never throws. */
  render(context: AlarmTemplateContext): string;
  /**
   * The text for one alarm, plain and as Slack mrkdwn in which only the values are neutralized;
   * never throws.
   *
   * @example parseAlarmTemplate('*Phone changed* by {actor.name}').renderMarkup(context).slack // '*Phone changed* by ∗Eve∗'
   */
  renderMarkup(context: AlarmTemplateContext): RenderedAlarmText;
}

/** How a template is parsed. */
export interface AlarmTemplateOptions {
  /** Whether line breaks and tabs are allowed in the literal text (message bodies). */
  readonly multiline?: boolean;
  /** Whether the template belongs to a threshold rule (`{window}`, `{group}` allowed). */
  readonly threshold?: boolean;
}

// eslint-disable-next-line no-control-regex
const CONTROL_SINGLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// eslint-disable-next-line no-control-regex
const CONTROL_MULTI = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

function knownFieldsText(threshold: boolean): string {
  const fields = threshold
    ? [...ALARM_TEMPLATE_FIELDS, ...THRESHOLD_TEMPLATE_FIELDS]
    : ALARM_TEMPLATE_FIELDS;
  return `${fields.join(', ')}, labels.<name>`;
}

function checkControlCharacters(source: string, multiline: boolean): void {
  const control = (multiline ? CONTROL_MULTI : CONTROL_SINGLE).exec(source);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).padStart(4, '0');
    throw new AlarmTemplateError(
      `contains the control character U+${code} at position ${control.index + 1}; ` +
        (multiline
          ? 'only line breaks and tabs are allowed.'
          : 'a title must be one line of text.'),
    );
  }
}

/** One `{field}` of a template: its name, how to read it, and where the template goes on. */
interface TemplateField {
  readonly name: string;
  readonly reader: Reader;
  /** Index just past the closing brace. */
  readonly end: number;
}

/** Reads the field whose `{` is at `open`. */
function readField(source: string, open: number, threshold: boolean): TemplateField {
  const close = source.indexOf('}', open + 1);
  const nestedOpen = source.indexOf('{', open + 1);
  if (close < 0 || (nestedOpen >= 0 && nestedOpen < close)) {
    throw new AlarmTemplateError(
      `has an unclosed "{" at position ${open + 1}; close the field with "}" or write "{{" for a literal brace.`,
    );
  }
  const name = source.slice(open + 1, close).trim();
  if (name === '') {
    throw new AlarmTemplateError(
      `has an empty field "{}" at position ${open + 1}; name a field such as {actor.email}, or write "{{}}" for literal braces.`,
    );
  }
  const reader = fieldReader(name, threshold);
  if (reader === undefined) {
    const onlyThreshold = THRESHOLD_TEMPLATE_FIELDS.includes(name);
    throw new AlarmTemplateError(
      onlyThreshold
        ? `uses {${name}}, which exists only in rules with a threshold.`
        : `uses the unknown field {${name}} at position ${open + 1}; known fields: ${knownFieldsText(threshold)}.`,
    );
  }
  return { name, reader, end: close + 1 };
}

/** A template split into literal text and field readers, with the field names in order. */
interface TemplateParts {
  readonly parts: readonly (string | Reader)[];
  readonly fields: readonly string[];
}

function splitTemplate(source: string, threshold: boolean): TemplateParts {
  const parts: (string | Reader)[] = [];
  const fields: string[] = [];
  let literal = '';
  let i = 0;
  while (i < source.length) {
    const char = source[i] as string;
    const next = source[i + 1];
    if ((char === '{' || char === '}') && next === char) {
      literal += char;
      i += 2;
      continue;
    }
    if (char === '}') {
      throw new AlarmTemplateError(
        `has a lone "}" at position ${i + 1}; write "}}" for a literal brace.`,
      );
    }
    if (char !== '{') {
      literal += char;
      i += 1;
      continue;
    }
    const field = readField(source, i, threshold);
    if (literal !== '') parts.push(literal);
    literal = '';
    parts.push(field.reader);
    fields.push(field.name);
    i = field.end;
  }
  if (literal !== '') parts.push(literal);
  return { parts, fields };
}

/** The template's render functions, cutting at `max` characters. */
function templateOf(source: string, { parts, fields }: TemplateParts, max: number): AlarmTemplate {
  const pieces = (context: AlarmTemplateContext): AlarmTextPiece[] =>
    parts.map((part) =>
      typeof part === 'string'
        ? { text: part, user: false }
        : { text: valueOf(part, context), user: true },
    );
  return {
    source,
    fields: Object.freeze(fields),
    render(context: AlarmTemplateContext): string {
      return cutText(joined(pieces(context)), max);
    },
    renderMarkup(context: AlarmTemplateContext): RenderedAlarmText {
      const all = pieces(context);
      const full = joined(all);
      const text = cutText(full, max);
      if (text === full) return { text, slack: truncateMrkdwn(toSlackMrkdwn(all), max) };
      // Escaped after the cut, so the cut cannot split an escape or a link of the template.
      const slack = `${toSlackMrkdwn(clipPieces(all, text.length - 1))}\u2026`;
      return { text, slack: truncateMrkdwn(slack, max) };
    },
  };
}

/**
 * Parses a template once. `{field}` is replaced by the event's value, `{{` and `}}` stand for
 * literal braces. A value the event lacks renders as {@link MISSING_VALUE} (`—`).
 *
 * @param source - e.g. `'{actor.email} changed {target.type} {target.id}: {changes}'`
 * @throws AlarmTemplateError for an unknown field, an empty or unclosed brace, a lone `}`, or
 *   a control character (a line break is allowed in multi-line templates only)
 * @example parseAlarmTemplate('{actor.name} voided invoice {target.id}').render(context)
 */
export function parseAlarmTemplate(
  source: string,
  options: AlarmTemplateOptions = {},
): AlarmTemplate {
  if (typeof source !== 'string') {
    throw new AlarmTemplateError(
      `must be a string such as "{actor.name} changed {target.type} {target.id}" (got ${typeof source}).`,
    );
  }
  const multiline = options.multiline === true;
  checkControlCharacters(source, multiline);
  const parts = splitTemplate(source, options.threshold === true);
  return templateOf(source, parts, multiline ? MAX_TEXT_CHARS : MAX_TITLE_CHARS);
}

function valueOf(reader: Reader, context: AlarmTemplateContext): string {
  let value: string | undefined;
  try {
    value = reader(context);
  } catch {
    // A malformed hand-made event must not stop the alarm; the value shows as missing.
    value = undefined;
  }
  return value === undefined || value === '' ? MISSING_VALUE : value;
}

function joined(pieces: readonly AlarmTextPiece[]): string {
  return pieces.map((piece) => piece.text).join('');
}

/** The first `length` characters of the pieces' text, still in pieces. */
function clipPieces(pieces: readonly AlarmTextPiece[], length: number): AlarmTextPiece[] {
  const out: AlarmTextPiece[] = [];
  let room = length;
  for (const piece of pieces) {
    if (room <= 0) break;
    out.push(piece.text.length <= room ? piece : { ...piece, text: piece.text.slice(0, room) });
    room -= piece.text.length;
  }
  return out;
}
