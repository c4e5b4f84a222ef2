/**
 * The e-mail form of an alarm: subject, plain text and a simple HTML body. The HTML uses inline
 * styles only (mail clients drop style sheets) and escapes every value.
 */
import type { AlarmMessage, AlarmSeverity } from '../../stores/alarm-message';
import {
  countSummary,
  digestHeader,
  eventLines,
  footerFacts,
  isHttpUrl,
  isMultiEvent,
  severityLabel,
  severityPrefix,
  showRedactions,
  singleLineText,
  truncate,
  type AlarmEventLines,
} from './alarm-text';

/** A rendered alarm e-mail. */
export interface AlarmEmail {
  /** One line, severity prefix for high and critical (`[HIGH] …`). */
  subject: string;
  /** Plain-text body. */
  text: string;
  /** HTML body. */
  html: string;
}

/** Longest subject; mail clients cut long ones anyway, and some servers refuse them. */
const MAX_SUBJECT_CHARS = 250;

const SEVERITY_COLOURS: Record<AlarmSeverity, string> = {
  critical: '#8b0000',
  high: '#c62828',
  medium: '#e65100',
  low: '#1565c0',
  info: '#546e7a',
};

/** `text` safe inside HTML text and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

function subjectOf(message: AlarmMessage): string {
  // A subject is one header line: CR/LF folded, other control characters written as text.
  const title =
    singleLineText(oneLine(showRedactions(message.title))) || `Audit alarm: ${message.rule}`;
  const count = isMultiEvent(message) ? ` (${message.count} events)` : '';
  return truncate(`${severityPrefix(message.severity)}${title}${count}`, MAX_SUBJECT_CHARS);
}

// An event's own link is left out when it is the message's link (a single-event alarm), so the
// same URL is not offered twice.
function eventLink(lines: AlarmEventLines, messageUrl: string | undefined): string | undefined {
  return lines.url && isHttpUrl(lines.url) && lines.url !== messageUrl ? lines.url : undefined;
}

function textEvent(
  lines: AlarmEventLines,
  number: number | undefined,
  messageUrl: string | undefined,
): string[] {
  const indent = number === undefined ? '' : '   ';
  const out = [number === undefined ? `When: ${lines.when}` : `${number}. ${lines.when}`];
  out.push(`${indent}Who:  ${lines.who}`);
  out.push(`${indent}What: ${lines.what}`);
  if (lines.text) out.push(`${indent}Details: ${lines.text.replace(/\n/g, `\n${indent}  `)}`);
  if (lines.changes.length > 0) {
    out.push(`${indent}What changed:`);
    for (const change of lines.changes) out.push(`${indent}  - ${change}`);
  }
  const url = eventLink(lines, messageUrl);
  if (url) out.push(`${indent}Open this event: ${url}`);
  return out;
}

function textBody(message: AlarmMessage, events: AlarmEventLines[], numbered: boolean): string {
  const parts: string[] = [];
  const text = showRedactions(message.text.trim());
  if (text) parts.push(text);
  const digest = digestHeader(message);
  if (digest) parts.push(digest);
  events.forEach((lines, i) =>
    parts.push(textEvent(lines, numbered ? i + 1 : undefined, message.url).join('\n')),
  );
  if (isHttpUrl(message.url)) parts.push(`Open in the audit viewer: ${message.url}`);
  const facts = footerFacts(message);
  const count = countSummary(message);
  if (count) facts.push(count);
  parts.push(
    `--\n${facts.join(' · ')}\nAlarm id: ${message.id}\n` +
      'Sent automatically by the audit trail; repeats of one alarm carry the same id.',
  );
  return `${parts.join('\n\n')}\n`;
}

const P = 'margin:0 0 12px 0;font-size:14px;line-height:20px;';
const LABEL =
  'padding:2px 12px 2px 0;color:#57606a;font-size:13px;vertical-align:top;white-space:nowrap;';
const VALUE = 'padding:2px 0;font-size:14px;line-height:20px;vertical-align:top;';
const LINK = 'color:#0969da;text-decoration:underline;';

function htmlText(text: string): string {
  return escapeHtml(text).replace(/\r?\n/g, '<br>');
}

function htmlLink(url: string, label: string): string {
  return `<a href="${escapeHtml(url)}" style="${LINK}">${escapeHtml(label)}</a>`;
}

function htmlRow(label: string, valueHtml: string): string {
  return `<tr><td style="${LABEL}">${escapeHtml(label)}</td><td style="${VALUE}">${valueHtml}</td></tr>`;
}

function htmlEvent(
  lines: AlarmEventLines,
  number: number | undefined,
  messageUrl: string | undefined,
): string {
  const rows: string[] = [];
  rows.push(htmlRow(number === undefined ? 'When' : `${number}. When`, escapeHtml(lines.when)));
  rows.push(htmlRow('Who', escapeHtml(lines.who)));
  rows.push(htmlRow('What', escapeHtml(lines.what)));
  if (lines.text) rows.push(htmlRow('Details', htmlText(lines.text)));
  if (lines.changes.length > 0) {
    const items = lines.changes
      .map((change) => `<li style="margin:0 0 2px 0;">${escapeHtml(change)}</li>`)
      .join('');
    rows.push(htmlRow('What changed', `<ul style="margin:0;padding:0 0 0 18px;">${items}</ul>`));
  }
  const url = eventLink(lines, messageUrl);
  if (url) rows.push(htmlRow('', htmlLink(url, 'Open this event')));
  return (
    '<table role="presentation" cellpadding="0" cellspacing="0" ' +
    'style="border-collapse:collapse;margin:0 0 12px 0;width:100%;border-top:1px solid #d8dee4;padding-top:8px;">' +
    `${rows.join('')}</table>`
  );
}

function htmlBody(message: AlarmMessage, events: AlarmEventLines[], numbered: boolean): string {
  const colour = SEVERITY_COLOURS[message.severity];
  const title = showRedactions(message.title.trim()) || `Audit alarm: ${message.rule}`;
  const parts: string[] = [];
  parts.push(
    `<span style="display:inline-block;padding:2px 8px;border-radius:4px;background:${colour};color:#ffffff;font-size:12px;font-weight:bold;letter-spacing:0.5px;">${escapeHtml(severityLabel(message.severity))}</span>`,
  );
  parts.push(
    `<h1 style="margin:12px 0;font-size:18px;line-height:24px;">${escapeHtml(title)}</h1>`,
  );
  const text = showRedactions(message.text.trim());
  if (text) parts.push(`<p style="${P}">${htmlText(text)}</p>`);
  const digest = digestHeader(message);
  if (digest) parts.push(`<p style="${P}font-weight:bold;">${escapeHtml(digest)}</p>`);
  events.forEach((lines, i) =>
    parts.push(htmlEvent(lines, numbered ? i + 1 : undefined, message.url)),
  );
  if (isHttpUrl(message.url)) {
    parts.push(
      `<p style="${P}"><a href="${escapeHtml(message.url)}" style="display:inline-block;padding:8px 14px;border-radius:6px;background:#0969da;color:#ffffff;text-decoration:none;font-weight:bold;">Open in audit viewer</a></p>`,
    );
  }
  const facts = footerFacts(message);
  const count = countSummary(message);
  if (count) facts.push(count);
  parts.push(
    `<p style="margin:16px 0 0 0;font-size:12px;line-height:18px;color:#57606a;">${escapeHtml(facts.join(' · '))}<br>Alarm id: ${escapeHtml(message.id)}<br>Sent automatically by the audit trail; repeats of one alarm carry the same id.</p>`,
  );
  return (
    '<!DOCTYPE html><html><head><meta charset="utf-8"></head>' +
    '<body style="margin:0;padding:16px;background:#f6f8fa;font-family:Arial,Helvetica,sans-serif;color:#1f2328;">' +
    '<div style="max-width:640px;margin:0 auto;background:#ffffff;border:1px solid #d0d7de;border-radius:6px;padding:20px;">' +
    `${parts.join('')}</div></body></html>`
  );
}

/**
 * Renders an alarm as an e-mail: the subject (title with `[HIGH]`/`[CRITICAL]` prefix and the
 * event count of a digest), then the text, who, what, what changed (`field: old → new`) and when
 * (UTC) of each listed event, the digest count, and the viewer link when there is one.
 * Redacted values read `[redacted]`.
 */
export function renderAlarmEmail(message: AlarmMessage): AlarmEmail {
  const events = eventLines(message);
  const numbered = events.length > 1 || isMultiEvent(message);
  return {
    subject: subjectOf(message),
    text: textBody(message, events, numbered),
    html: htmlBody(message, events, numbered),
  };
}
