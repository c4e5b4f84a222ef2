import type { AuditOutcome } from '../event/audit-event';

/** How urgent an alarm is; notifiers show it (subject prefix, Slack emoji, webhook field). */
export const ALARM_SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
/** One of {@link ALARM_SEVERITIES}. */
export type AlarmSeverity = (typeof ALARM_SEVERITIES)[number];

/**
 * What made the alarm: one matching event, a digest of several (`throttle`), a threshold
 * crossed, `AuditService.alarm()` called by application code, or a threshold rule that had to
 * drop open windows for memory (`windows-dropped`: it may have missed a threshold).
 */
export type AlarmKind = 'event' | 'digest' | 'threshold' | 'manual' | 'windows-dropped';

/** One changed field as an alarm shows it: text only, values already redacted by the pipeline. */
export interface AlarmChange {
  /** Dotted path of the field, e.g. `mfa.phone`. */
  field: string;
  /** `added`, `removed` or `changed`. */
  op: 'added' | 'removed' | 'changed';
  /** Old value as short text (absent when added). */
  before?: string;
  /** New value as short text (absent when removed). */
  after?: string;
}

/** One audit event as an alarm message lists it. */
export interface AlarmEventSummary {
  /** Event id. */
  id: string;
  /** When it happened (ISO-8601). */
  timestamp: string;
  /** `<resource>.<verb>`. */
  action: string;
  /** Outcome of the action. */
  outcome: AuditOutcome;
  /** Who did it. */
  actor: { type: string; id?: string; name?: string; email?: string };
  /** What it was done to. */
  target?: { type: string; id?: string };
  /** Where from. */
  sourceIp?: string;
  /** Changed fields, redacted values stay redacted. */
  changes: AlarmChange[];
  /** The rule's message template rendered for this event. */
  text: string;
  /** Link to the event in the viewer, when `alarms.viewerUrl` is set. */
  url?: string;
}

/**
 * Everything a notifier needs to deliver one alarm to one channel. It is rendered when the alarm
 * is raised (so the outbox row is self-contained) and folded when a digest is sent.
 */
export interface AlarmMessage {
  /**
   * Dedup key: the same for every retry of this alarm on this channel. Webhook and Slack
   * deliveries carry it so a receiver can drop a repeat (delivery is at-least-once).
   */
  id: string;
  /** Name of the rule that raised it (`manual` for `AuditService.alarm()` without one). */
  rule: string;
  /** Channel name this message is for. */
  channel: string;
  /** What raised it. */
  kind: AlarmKind;
  /** How urgent. */
  severity: AlarmSeverity;
  /** One line: the e-mail subject, the Slack header. */
  title: string;
  /** The body text: the rendered template, or the digest/threshold summary. */
  text: string;
  /**
   * `text` as Slack mrkdwn, for alarms rendered from a rule's `message` template (event and
   * threshold alarms): the template's own text keeps its markup (`*bold*`, `_italic_`,
   * `<https://runbook.example|runbook>`), the values from the event are neutralized (markup
   * characters as look-alikes, links defanged, `&`, `<`, `>` escaped). At most
   * `MAX_TEXT_CHARS` characters, cut where it cuts `text` and never inside an escape or link.
   *
   * Absent when it would equal the neutralized `text` (a template without markup), and for
   * digests, manual and library-written alarms: the Slack notifier then neutralizes all of
   * `text`. A custom producer that sets it vouches that every user value in it is neutralized.
   */
  slackText?: string;
  /** Events the alarm stands for (1 for a single event, N for a digest or threshold). */
  count: number;
  /** The first events (at most the digest list size), oldest first. */
  events: AlarmEventSummary[];
  /** Time of the first event counted (ISO-8601). */
  firstAt: string;
  /** Time of the last event counted (ISO-8601). */
  lastAt: string;
  /** Service that raised it (`serviceName`). */
  service: string;
  /** Threshold rules: the value of the `groupBy` field that crossed the threshold. */
  groupKey?: string;
  /** Link for "open in the viewer", when `alarms.viewerUrl` is set. */
  url?: string;
}
