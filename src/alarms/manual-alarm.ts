/**
 * Alarms raised by application code (`AuditService.alarm()`) rather than by a rule: the input
 * checked field by field, then one outbox entry per channel, kind `manual`.
 */
import { v7 as uuidv7 } from 'uuid';
import type { AuditEvent } from '../event/audit-event';
import { summarizeEvent } from './alarm-event-summary';
import {
  ALARM_SEVERITIES,
  type AlarmEventSummary,
  type AlarmMessage,
  type AlarmSeverity,
} from '../stores/alarm-message';
import type { AlarmOutboxEntry } from '../stores/alarm-outbox-model';
import { ALARM_RULE_NAME, DEFAULT_ALARM_MESSAGE, MANUAL_RULE_NAME } from './alarm-rule';
import {
  MAX_TEXT_CHARS,
  MAX_TITLE_CHARS,
  parseAlarmTemplate,
  type AlarmTemplate,
} from './alarm-template';
import { cutText, singleLine } from './alarm-template-values';
import { AlarmInputError } from '../common/alarm-input.error';
import { describe } from '../common/option-checks';

// Thrown by manualAlarmEntries for invalid input; its own file, so the stores can throw it too.

/** What application code passes to `AuditService.alarm()`. */
export interface ManualAlarmInput {
  /** One line: the e-mail subject, the Slack header. */
  title: string;
  /**
   * Body text (line breaks allowed). Application text often carries user data (a customer's
   * name, a reference typed in a form), and nothing here can tell it from your own words, so
   * Slack shows all of it neutralized like event values (`*`, `_`, `~`, `` ` `` as look-alikes,
   * links defanged); only the rule templates' own text keeps its Slack markup. @default the title
   */
  message?: string;
  /** @default 'medium' */
  severity?: AlarmSeverity;
  /** Channel names from `alarms.channels` (at least one). */
  channels: readonly string[];
  /** Rule name shown in the message. @default 'manual' */
  rule?: string;
  /**
   * Your key for this alarm: raising it again with the same key stores nothing new (the entry
   * of each channel gets `manual:<channel>:<dedupKey>`). @default a new UUIDv7
   */
  dedupKey?: string;
  /** The event the alarm is about, listed in the message (as recorded, already redacted). */
  event?: AuditEvent;
}

/** Settings {@link manualAlarmEntries} needs. */
export interface ManualAlarmSettings {
  /** `serviceName`. */
  serviceName: string;
  /** Names of the configured channels. */
  channels: readonly string[];
  /** Normalised `alarms.viewerUrl`, if set. */
  viewerUrl?: string;
  /** Current time in ms. @default Date.now() */
  now?: number;
}

/** The input checked, with its defaults and each channel once. */
interface CheckedManualAlarm {
  readonly title: string;
  readonly message: string | undefined;
  readonly severity: AlarmSeverity;
  readonly channels: readonly string[];
  readonly rule: string;
  readonly dedupKey: string | undefined;
  readonly event: AuditEvent | undefined;
}

const MANUAL_KEYS = ['title', 'message', 'severity', 'channels', 'rule', 'dedupKey', 'event'];
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

const EVENT_LINE: AlarmTemplate = parseAlarmTemplate(DEFAULT_ALARM_MESSAGE, { multiline: true });

function invalid(problem: string): never {
  throw new AlarmInputError(`AuditService.alarm(): ${problem}`);
}

function checkShape(input: unknown): asserts input is ManualAlarmInput {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    invalid("expects an object such as { title: 'Refund above limit', channels: ['finance'] }.");
  }
  for (const key of Object.keys(input)) {
    if (!MANUAL_KEYS.includes(key))
      invalid(`"${key}" is not a field; known fields: ${MANUAL_KEYS.join(', ')}.`);
  }
}

function checkText(title: unknown, message: unknown): void {
  if (typeof title !== 'string' || title.trim() === '') {
    invalid('"title" must be a non-empty string, e.g. "Refund above limit".');
  }
  if (message !== undefined && typeof message !== 'string') invalid('"message" must be a string.');
}

function checkSeverity(severity: unknown): void {
  if (!(ALARM_SEVERITIES as readonly unknown[]).includes(severity)) {
    invalid(
      `"severity" must be one of ${ALARM_SEVERITIES.join(', ')} (got ${describe(severity)}).`,
    );
  }
}

/** The channels asked for, each once, all of them configured. */
function checkChannels(channels: unknown, configured: readonly string[]): string[] {
  const known =
    configured.length > 0 ? configured.join(', ') : 'none (declare them in alarms.channels)';
  if (!Array.isArray(channels) || channels.length === 0) {
    invalid(`"channels" must list at least one channel; known channels: ${known}.`);
  }
  const unique: string[] = [];
  for (const channel of channels as readonly unknown[]) {
    if (typeof channel !== 'string' || !configured.includes(channel)) {
      invalid(`unknown channel ${describe(channel)}; known channels: ${known}.`);
    }
    if (!unique.includes(channel)) unique.push(channel);
  }
  return unique;
}

/** Rule name, dedup key and event: what identifies the alarm and what it is about. */
function checkIdentity(rule: unknown, dedupKey: unknown, event: unknown): void {
  if (typeof rule !== 'string' || !ALARM_RULE_NAME.test(rule)) {
    invalid(`"rule" must be 1-100 letters, digits, ".", "_" or "-" (got ${describe(rule)}).`);
  }
  if (
    dedupKey !== undefined &&
    (typeof dedupKey !== 'string' ||
      dedupKey === '' ||
      dedupKey.length > 200 ||
      CONTROL.test(dedupKey))
  ) {
    invalid(
      '"dedupKey" must be a string of 1-200 characters without control characters, e.g. "refund-4711".',
    );
  }
  const recorded = event as Partial<AuditEvent> | null | undefined;
  if (
    recorded !== undefined &&
    (typeof recorded !== 'object' ||
      recorded === null ||
      typeof recorded.id !== 'string' ||
      typeof recorded.timestamp !== 'string')
  ) {
    invalid('"event" must be a recorded AuditEvent (with an id and a timestamp), or be left out.');
  }
}

function checkManualAlarm(input: unknown, configured: readonly string[]): CheckedManualAlarm {
  checkShape(input);
  const { title, message, severity = 'medium', rule = MANUAL_RULE_NAME, dedupKey, event } = input;
  checkText(title, message);
  checkSeverity(severity);
  const channels = checkChannels(input.channels, configured);
  checkIdentity(rule, dedupKey, event);
  return { title, message, severity, channels, rule, dedupKey, event };
}

function multiLine(text: string): string {
  return cutText(
    text
      .split(/\r\n|\r|\n/)
      .map(singleLine)
      .join('\n'),
    MAX_TEXT_CHARS,
  );
}

/**
 * The outbox entries of an alarm raised by application code (`AuditService.alarm()`): one per
 * channel, kind `manual`.
 *
 * @throws AlarmInputError for a missing title, unknown channel, bad severity, rule name or key
 * @example manualAlarmEntries({ title: 'Refund above limit', channels: ['finance'] }, { serviceName: 'billing', channels: ['finance'] })
 */
export function manualAlarmEntries(
  input: ManualAlarmInput,
  settings: ManualAlarmSettings,
): AlarmOutboxEntry[] {
  const alarm = checkManualAlarm(input, settings.channels);
  const { rule, severity, event } = alarm;
  const now = settings.now ?? Date.now();
  const nowIso = new Date(now).toISOString();
  const title = cutText(singleLine(alarm.title.trim()), MAX_TITLE_CHARS);
  const message = alarm.message;
  const text = message === undefined || message.trim() === '' ? title : multiLine(message);
  const key = alarm.dedupKey ?? uuidv7({ msecs: now });
  let summary: AlarmEventSummary | undefined;
  if (event !== undefined) {
    const context = { event, rule, severity, service: settings.serviceName, count: 1 };
    summary = summarizeEvent(event, EVENT_LINE.render(context), settings.viewerUrl);
  }
  return alarm.channels.map((channel) => {
    const entryKey = `${MANUAL_RULE_NAME}:${channel}:${key}`;
    const shown: AlarmMessage = {
      id: entryKey,
      rule,
      channel,
      kind: 'manual',
      severity,
      title,
      text,
      count: 1,
      events: summary === undefined ? [] : [summary],
      firstAt: event?.timestamp ?? nowIso,
      lastAt: event?.timestamp ?? nowIso,
      service: settings.serviceName,
    };
    if (summary?.url !== undefined) shown.url = summary.url;
    const entry: AlarmOutboxEntry = {
      dedupKey: entryKey,
      rule,
      channel,
      kind: 'manual',
      severity,
      createdAt: nowIso,
      message: shown,
    };
    if (event !== undefined) entry.eventId = event.id;
    return entry;
  });
}
