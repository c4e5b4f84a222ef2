import { escapeLineSeparators } from '../common/control-characters';
import type { AuditEvent } from '../event/audit-event';
import {
  LARGE_EVENT_KEYS,
  largeValuesAreAscii,
  largeValuesTail,
  withTail,
  type LargeEventKey,
} from '../event/event-json';
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
  // JSON.stringify escapes every control character (newlines included) and lone surrogates,
  // so a line is always one valid JSON document.
  if (!line.event) return escapeLineSeparators(`${JSON.stringify(line.doc)}\n`);
  const { head, tail } = eventLineParts(line.doc as EcsDocument, line.event);
  // head ends with the closing braces of `audit` and of the document. Fragments known to be
  // ASCII cannot hold a line separator: only the head is scanned then.
  if (largeValuesAreAscii(line.event)) {
    return `${withTail(escapeLineSeparators(head).slice(0, -1), tail)}}\n`;
  }
  return escapeLineSeparators(`${withTail(head.slice(0, -1), tail)}}\n`);
}

/**
 * The document's JSON without its large values (`head`), and those values' members as the
 * event's JSON has them (`tail`). The large values are unset only while the head is
 * stringified: the document stays as it was.
 */
function eventLineParts(doc: EcsDocument, event: AuditEvent): { head: string; tail: string } {
  const audit = doc.audit as Partial<Record<LargeEventKey, unknown>>;
  const held: Partial<Record<LargeEventKey, unknown>> = {};
  for (const key of LARGE_EVENT_KEYS) {
    if (audit[key] === undefined) continue;
    held[key] = audit[key];
    audit[key] = undefined;
  }
  let head: string;
  try {
    head = JSON.stringify(doc);
  } finally {
    for (const key of LARGE_EVENT_KEYS) if (held[key] !== undefined) audit[key] = held[key];
  }
  return { head, tail: largeValuesTail(event, (key) => held[key] !== undefined) };
}
