import { unicodeEscape } from '../common/control-characters';
import type { AuditEvent } from '../event/audit-event';
import { largeValuesTail, withTail } from '../event/event-json';
import type { EcsDocument } from './ecs.formatter';
import type { EcsCheckpointDocument } from './checkpoint.formatter';
import type { EcsPipelineFailureDocument } from './pipeline-failure.formatter';

/** One line for a sink: its ECS document and, for an audit event, the event it was made from. */
export interface SinkLine {
  doc: EcsDocument | EcsPipelineFailureDocument | EcsCheckpointDocument;
  /** Present for event lines: their large values are spliced in from the event's JSON. */
  event?: AuditEvent;
}

/**
 * The text of one line, newline included. An event's line reuses the JSON fragments of its
 * large values (states, diff, body, filter, results) that the store's payload was made of, so
 * they are stringified once per event; `audit` is the document's last key and those values go
 * last in it.
 */
export function lineText(line: SinkLine): string {
  return escapeLineSeparators(jsonLine(line));
}

const HAS_LINE_SEPARATOR = /[\u0085\u2028\u2029]/;
const LINE_SEPARATORS = /[\u0085\u2028\u2029]/g;

/**
 * NEL (U+0085), U+2028 and U+2029 as JSON escapes: JSON allows them raw, and a line splitter that follows
 * Unicode (some log shippers and viewers do) would break the line there, letting a user's text
 * start a line of its own. The escaped line parses to the same document.
 */
export function escapeLineSeparators(text: string): string {
  if (!HAS_LINE_SEPARATOR.test(text)) return text;
  return text.replace(LINE_SEPARATORS, unicodeEscape);
}

function jsonLine(line: SinkLine): string {
  // JSON.stringify escapes every control character (newlines included) and lone surrogates,
  // so a line is always one valid JSON document.
  if (!line.event) return `${JSON.stringify(line.doc)}\n`;
  const doc = line.doc as EcsDocument;
  const { changes, body, filter, results, ...audit } = doc.audit;
  const present = { changes, body, filter, results };
  const head = JSON.stringify({ ...doc, audit });
  const tail = largeValuesTail(line.event, (key) => present[key] !== undefined);
  // head ends with the closing braces of `audit` and of the document.
  return `${withTail(head.slice(0, -1), tail)}}\n`;
}
