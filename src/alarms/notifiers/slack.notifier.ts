import type { AlarmMessage, AlarmSeverity } from '../../stores/alarm-message';
import type { SlackChannelConfig } from '../alarm-options';
import {
  countSummary,
  digestHeader,
  eventLines,
  isHttpUrl,
  isMultiEvent,
  severityLabel,
  severityPrefix,
  showRedactions,
  truncate,
  type AlarmEventLines,
} from './alarm-text';
import { AlarmNotifier, type AlarmSendContext } from './alarm-notifier';
import { escapeMrkdwn, neutralizeMrkdwn, truncateMrkdwn } from './slack-mrkdwn';
import { STRICT_DESTINATIONS, type DestinationPolicy } from './destination-guard';
import { displayUrl, headerValue, postJson, type HttpPostTarget } from './http-post';
import { AUDIT_ALARM_ID_HEADER } from './webhook-signature';

export { escapeMrkdwn, neutralizeMrkdwn, truncateMrkdwn } from './slack-mrkdwn';

/** Limits of Slack's Block Kit, beyond which Slack refuses the whole message. */
export const SLACK_LIMITS = Object.freeze({
  /** Characters of a header block's text. */
  headerText: 150,
  /** Characters of a section block's text. */
  sectionText: 3000,
  /** Blocks in one message. */
  blocks: 50,
  /** Elements of a context block. */
  contextElements: 10,
  /** Characters of a button's URL. */
  buttonUrl: 3000,
  /** Characters of the notification `text` we send (Slack allows more; nobody reads more). */
  fallbackText: 3000,
});

/** Characters of one context element; the facts there are short by nature. */
const CONTEXT_ELEMENT_CHARS = 300;

const SEVERITY_EMOJI: Record<AlarmSeverity, string> = {
  critical: ':rotating_light:',
  high: ':red_circle:',
  medium: ':large_orange_circle:',
  low: ':large_yellow_circle:',
  info: ':information_source:',
};

/** A Block Kit text object. */
export interface SlackText {
  type: 'plain_text' | 'mrkdwn';
  text: string;
  emoji?: boolean;
}

/** The Block Kit blocks this notifier sends. */
export type SlackBlock =
  | { type: 'header'; text: SlackText }
  | { type: 'section'; text: SlackText }
  | { type: 'context'; elements: SlackText[] }
  | {
      type: 'actions';
      elements: { type: 'button'; text: SlackText; url: string; action_id: string }[];
    };

/** The JSON body posted to the incoming webhook. */
export interface SlackPayload {
  /** Shown in notifications and by clients that cannot render blocks. */
  text: string;
  blocks: SlackBlock[];
}

/** A mrkdwn link; the URL is escaped so `|` or `>` in it cannot end the link early. */
function link(url: string, label: string): string {
  const safe = escapeMrkdwn(url).replace(/\|/g, '%7C');
  return `<${safe}|${escapeMrkdwn(label)}>`;
}

/** Joins lines until the next would not fit; the first line is cut when it alone is too long. */
function joinWithin(lines: string[], max: number): string {
  let out = '';
  for (const line of lines) {
    const next = out === '' ? line : `${out}\n${line}`;
    if (next.length > max) {
      if (out === '') return truncateMrkdwn(line, max);
      return out.length + 2 <= max ? `${out}\n…` : out;
    }
    out = next;
  }
  return out;
}

function mrkdwn(text: string): SlackText {
  return { type: 'mrkdwn', text };
}

function eventSection(lines: AlarmEventLines, number: number | undefined): SlackBlock {
  const rows: string[] = [];
  const prefix = number === undefined ? '' : `*${number}.* `;
  rows.push(`${prefix}*When:* ${escapeMrkdwn(lines.when)}`);
  rows.push(`*Who:* ${neutralizeMrkdwn(lines.who)}`);
  rows.push(`*What:* ${neutralizeMrkdwn(lines.what)}`);
  if (lines.text) rows.push(`*Details:* ${neutralizeMrkdwn(lines.text)}`);
  // The link goes before the changes so a long list cannot push it out of the section.
  if (lines.url && isHttpUrl(lines.url)) rows.push(link(lines.url, 'Open this event'));
  if (lines.changes.length > 0) {
    rows.push('*What changed:*');
    for (const change of lines.changes) rows.push(`• ${neutralizeMrkdwn(change)}`);
  }
  return { type: 'section', text: mrkdwn(joinWithin(rows, SLACK_LIMITS.sectionText)) };
}

/**
 * The alarm text as mrkdwn: the message's {@link AlarmMessage.slackText} when it has one (the
 * rule's template markup kept, its values neutralized), otherwise the whole text through
 * {@link neutralizeMrkdwn}.
 */
function bodyMrkdwn(message: AlarmMessage): string {
  if (typeof message.slackText === 'string') return showRedactions(message.slackText.trim());
  return neutralizeMrkdwn(showRedactions(message.text.trim()));
}

/** The header (severity emoji and title), the alarm text and the digest line. */
function headBlocks(message: AlarmMessage, title: string, text: string): SlackBlock[] {
  const head: SlackBlock[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: truncate(`${SEVERITY_EMOJI[message.severity]} ${title}`, SLACK_LIMITS.headerText),
        emoji: true,
      },
    },
  ];
  if (text) {
    head.push({ type: 'section', text: mrkdwn(truncateMrkdwn(text, SLACK_LIMITS.sectionText)) });
  }
  const digest = digestHeader(message);
  if (digest) head.push({ type: 'section', text: mrkdwn(`*${neutralizeMrkdwn(digest)}*`) });
  return head;
}

/** The context line (severity, rule, count, group, service) and the viewer button. */
function tailBlocks(message: AlarmMessage): SlackBlock[] {
  const facts = [
    `${SEVERITY_EMOJI[message.severity]} *${severityLabel(message.severity)}*`,
    `Rule: ${escapeMrkdwn(message.rule)}`,
  ];
  const count = countSummary(message);
  if (count) facts.push(escapeMrkdwn(count));
  if (message.groupKey !== undefined) facts.push(`Group: ${neutralizeMrkdwn(message.groupKey)}`);
  facts.push(`Service: ${escapeMrkdwn(message.service)}`);
  const tail: SlackBlock[] = [
    {
      type: 'context',
      elements: facts
        .slice(0, SLACK_LIMITS.contextElements)
        .map((fact) => mrkdwn(truncateMrkdwn(fact, CONTEXT_ELEMENT_CHARS))),
    },
  ];
  if (isHttpUrl(message.url) && message.url.length <= SLACK_LIMITS.buttonUrl) {
    tail.push({
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Open in audit viewer' },
          url: message.url,
          action_id: 'open_audit_viewer',
        },
      ],
    });
  }
  return tail;
}

/**
 * One section per listed event, within `room` blocks: when they do not all fit, the last block
 * says how many were left out.
 */
function eventBlocks(message: AlarmMessage, room: number): SlackBlock[] {
  const events = eventLines(message);
  const numbered = events.length > 1 || isMultiEvent(message);
  const body: SlackBlock[] = [];
  let shown = events.length;
  if (events.length > room) {
    room -= 1; // for the "more events" note
    shown = room;
  }
  for (let i = 0; i < shown; i += 1) {
    body.push(eventSection(events[i] as AlarmEventLines, numbered ? i + 1 : undefined));
  }
  if (shown < events.length) {
    const more = events.length - shown;
    body.push({
      type: 'section',
      text: mrkdwn(`…and ${more} more listed event${more === 1 ? '' : 's'} not shown here.`),
    });
  }
  return body;
}

/**
 * The Slack message of an alarm: a header (the title), the text, who / what changed / when of
 * each listed event, a context line (severity, rule, count, service) and an "Open in audit
 * viewer" button when the message has a link. Within Block Kit's limits. Everything that can
 * hold user data (who, what, changes, group, the title in the notification text) goes through
 * {@link neutralizeMrkdwn}; the alarm text too, unless the message carries a `slackText` in which
 * only the values were neutralized and the rule author's own markup (`*bold*`, `<url|label>`)
 * is kept.
 */
export function slackPayload(message: AlarmMessage): SlackPayload {
  const title = showRedactions(message.title.trim()) || `Audit alarm: ${message.rule}`;
  const text = message.text.trim() ? bodyMrkdwn(message) : '';
  const head = headBlocks(message, title, text);
  const tail = tailBlocks(message);
  const body = eventBlocks(message, SLACK_LIMITS.blocks - head.length - tail.length);
  const heading = neutralizeMrkdwn(`${severityPrefix(message.severity)}${title}`);
  const fallback = text ? `${heading}: ${text}` : heading;
  return {
    text: truncateMrkdwn(fallback, SLACK_LIMITS.fallbackText),
    blocks: [...head, ...body, ...tail],
  };
}

/**
 * Posts alarms to a Slack incoming webhook as Block Kit messages ({@link slackPayload}).
 * The webhook URL is a secret: error messages show only its host.
 */
export class SlackNotifier extends AlarmNotifier {
  private readonly target: HttpPostTarget;

  /**
   * @param config - a validated Slack channel config (see `validateChannelConfig`)
   * @param channelName - the channel's name, for error messages
   * @param destinations - private destinations it may reach (`alarms.allowPrivateNetworks`)
   */
  constructor(
    config: SlackChannelConfig,
    channelName = 'slack',
    destinations: DestinationPolicy = STRICT_DESTINATIONS,
  ) {
    super();
    this.target = {
      url: config.webhookUrl,
      displayUrl: displayUrl(config.webhookUrl, false),
      label: `Slack channel "${channelName}"`,
      urlOption: `alarms.channels.${channelName}.webhookUrl`,
      destinations,
    };
  }

  /** Posts the message once; throws `AlarmDeliveryError` when it must be retried or dropped. */
  override async send(message: AlarmMessage, context: AlarmSendContext): Promise<void> {
    await postJson(
      this.target,
      JSON.stringify(slackPayload(message)),
      {
        'Content-Type': 'application/json; charset=utf-8',
        [AUDIT_ALARM_ID_HEADER]: headerValue(message.id),
      },
      context,
    );
  }
}
