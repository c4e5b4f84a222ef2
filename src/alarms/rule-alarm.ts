/**
 * The outbox entries of an alarm a rule raises, one per channel of the rule: the same for an
 * event alarm and a threshold alarm but for their keys, counts and listed events.
 */
import type { AuditEvent } from '../event/audit-event';
import type { AlarmEventSummary, AlarmMessage } from '../stores/alarm-message';
import type { AlarmOutboxEntry } from '../stores/alarm-outbox-model';
import type { CompiledAlarmRule } from './alarm-rule';
import type { AlarmTemplateContext } from './alarm-template';
import { neutralizeMrkdwn } from './notifiers/slack-mrkdwn';

/** What every alarm of a rule is rendered with besides the event: settings of all rules. */
export interface RuleAlarmSettings {
  /** `serviceName`, shown in every alarm. */
  readonly serviceName: string;
  /** Normalised `alarms.viewerUrl`, if set. */
  readonly viewerUrl: string | undefined;
  /** How many events a threshold alarm lists. */
  readonly digestListSize: number;
}

/** The title and body of a rule's alarm, as its templates render them. */
export interface RuleAlarmText {
  readonly title: string;
  readonly body: Pick<AlarmMessage, 'text' | 'slackText'>;
}

/** One alarm of a rule, before it is addressed to the rule's channels. */
export interface RuleAlarm extends RuleAlarmText {
  readonly kind: 'event' | 'threshold';
  /** Events it stands for. */
  readonly count: number;
  /** The events it lists, oldest first. */
  readonly events: AlarmEventSummary[];
  readonly firstAt: string;
  readonly lastAt: string;
  /** Threshold rules with `groupBy`: the group that crossed the threshold, as shown. */
  readonly groupKey?: string;
  /** Link to the viewer, when `alarms.viewerUrl` is set. */
  readonly url?: string | undefined;
  /** The event that raised it. */
  readonly eventId: string;
  readonly createdAt: string;
  readonly service: string;
}

/**
 * What a rule's templates are rendered with for one event.
 *
 * @param count - events the alarm stands for (1 but for a crossed threshold)
 */
export function ruleContext(
  rule: CompiledAlarmRule,
  event: AuditEvent,
  count: number,
  serviceName: string,
): AlarmTemplateContext {
  return { event, rule: rule.name, severity: rule.severity, service: serviceName, count };
}

/**
 * The title and body of a rule's alarm. The body's `slackText` is kept only when the template's
 * own markup makes it differ from the neutralized text the notifier would send.
 */
export function renderRuleText(
  rule: CompiledAlarmRule,
  context: AlarmTemplateContext,
): RuleAlarmText {
  const rendered = rule.message.renderMarkup(context);
  const body =
    rendered.slack === neutralizeMrkdwn(rendered.text)
      ? { text: rendered.text }
      : { text: rendered.text, slackText: rendered.slack };
  return { title: rule.title.render(context), body };
}

/**
 * One outbox entry per channel of the rule; `throttle` rules get the `digestKey`
 * `<rule>:<channel>` and `throttleMs` the dispatcher folds digests by.
 *
 * @param dedupKey - the entry's key on a channel, also the message id
 */
export function ruleAlarmEntries(
  rule: CompiledAlarmRule,
  alarm: RuleAlarm,
  dedupKey: (channel: string) => string,
): AlarmOutboxEntry[] {
  return rule.channels.map((channel) => {
    const id = dedupKey(channel);
    const message: AlarmMessage = {
      id,
      rule: rule.name,
      channel,
      kind: alarm.kind,
      severity: rule.severity,
      title: alarm.title,
      ...alarm.body,
      count: alarm.count,
      events: [...alarm.events],
      firstAt: alarm.firstAt,
      lastAt: alarm.lastAt,
      service: alarm.service,
    };
    if (alarm.groupKey !== undefined) message.groupKey = alarm.groupKey;
    if (alarm.url !== undefined) message.url = alarm.url;
    const entry: AlarmOutboxEntry = {
      dedupKey: id,
      rule: rule.name,
      channel,
      kind: alarm.kind,
      severity: rule.severity,
      eventId: alarm.eventId,
      createdAt: alarm.createdAt,
      message,
    };
    if (rule.throttleMs !== undefined) {
      entry.digestKey = `${rule.name}:${channel}`;
      entry.throttleMs = rule.throttleMs;
    }
    return entry;
  });
}
