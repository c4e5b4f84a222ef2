import type {
  AlarmEventSummary,
  AlarmKind,
  AlarmMessage,
  AlarmSeverity,
} from '../../stores/alarm-message';
import type { WebhookChannelConfig } from '../alarm-options';
import { STRICT_DESTINATIONS, type DestinationPolicy } from './destination-guard';
import { AlarmNotifier, type AlarmSendContext } from './alarm-notifier';
import { displayUrl, headerValue, postJson, type HttpPostTarget } from './http-post';
import {
  AUDIT_ALARM_ID_HEADER,
  AUDIT_SIGNATURE_HEADER,
  AUDIT_TIMESTAMP_HEADER,
  signAuditWebhook,
} from './webhook-signature';

/** Version of {@link AuditWebhookPayload}; raised only for a change a receiver must adapt to. */
export const AUDIT_WEBHOOK_PAYLOAD_VERSION = 1;

/**
 * The JSON body of a webhook alarm (version 1). Fields may be added within a version; none is
 * removed or changes meaning. Values of redacted fields are `"[REDACTED]"`.
 */
export interface AuditWebhookPayload {
  /** Always 1 for this shape. */
  version: typeof AUDIT_WEBHOOK_PAYLOAD_VERSION;
  /** Alarm id, the same on every retry: drop repeats by it (delivery is at-least-once). */
  id: string;
  /** Rule that raised it (`manual` for `AuditService.alarm()` without one). */
  rule: string;
  /** Channel name. */
  channel: string;
  /** `event`, `digest`, `threshold` or `manual`. */
  kind: AlarmKind;
  /** `info`, `low`, `medium`, `high` or `critical`. */
  severity: AlarmSeverity;
  /** One-line summary. */
  title: string;
  /** Body text. */
  text: string;
  /** Number of events the alarm stands for. */
  count: number;
  /** Time of the first event counted (ISO-8601, UTC). */
  firstAt: string;
  /** Time of the last event counted (ISO-8601, UTC). */
  lastAt: string;
  /** Service that raised it. */
  service: string;
  /** The first events (at most the digest list size), oldest first. */
  events: AlarmEventSummary[];
  /** Threshold alarms: the value of the `groupBy` field that crossed the threshold. */
  groupKey?: string;
  /** Link to the viewer, when `alarms.viewerUrl` is set. */
  url?: string;
}

/** Header names the notifier sets itself, compared in lower case. */
const RESERVED_HEADERS = new Set([
  'content-type',
  'content-length',
  'host',
  'transfer-encoding',
  'connection',
  AUDIT_TIMESTAMP_HEADER.toLowerCase(),
  AUDIT_SIGNATURE_HEADER.toLowerCase(),
  AUDIT_ALARM_ID_HEADER.toLowerCase(),
]);

/**
 * Whether a configured header name is set by the notifier itself and so cannot be configured.
 * @param name - a header name in any case
 */
export function isReservedWebhookHeader(name: string): boolean {
  return RESERVED_HEADERS.has(name.toLowerCase());
}

/** The payload of a message, in a fixed key order. */
export function webhookPayload(message: AlarmMessage): AuditWebhookPayload {
  const payload: AuditWebhookPayload = {
    version: AUDIT_WEBHOOK_PAYLOAD_VERSION,
    id: message.id,
    rule: message.rule,
    channel: message.channel,
    kind: message.kind,
    severity: message.severity,
    title: message.title,
    text: message.text,
    count: message.count,
    firstAt: message.firstAt,
    lastAt: message.lastAt,
    service: message.service,
    events: message.events,
  };
  if (message.groupKey !== undefined) payload.groupKey = message.groupKey;
  if (message.url !== undefined) payload.url = message.url;
  return payload;
}

/**
 * Posts alarms as signed JSON ({@link AuditWebhookPayload}) to your endpoint.
 *
 * Each attempt carries `X-Audit-Timestamp` (Unix seconds), `X-Audit-Signature`
 * (`sha256=` + hex HMAC-SHA256 of `<timestamp>.<body>` with the secret) and `X-Audit-Alarm-Id`;
 * check them with `verifyAuditWebhookSignature()`. 2xx means delivered; redirects are not
 * followed.
 */
export class WebhookNotifier extends AlarmNotifier {
  private readonly target: HttpPostTarget;
  private readonly extraHeaders: Record<string, string>;

  /**
   * @param config - a validated webhook channel config (see `validateChannelConfig`)
   * @param channelName - the channel's name, for error messages
   * @param destinations - private destinations it may reach (`alarms.allowPrivateNetworks`)
   */
  constructor(
    private readonly config: WebhookChannelConfig,
    channelName = 'webhook',
    destinations: DestinationPolicy = STRICT_DESTINATIONS,
  ) {
    super();
    this.target = {
      url: config.url,
      displayUrl: displayUrl(config.url, true),
      label: `Webhook channel "${channelName}"`,
      urlOption: `alarms.channels.${channelName}.url`,
      destinations,
    };
    const extra: Record<string, string> = {};
    for (const [name, value] of Object.entries(config.headers ?? {})) {
      // The signature headers must be the notifier's own, whatever the configuration says.
      if (!isReservedWebhookHeader(name)) extra[name] = value;
    }
    this.extraHeaders = extra;
  }

  /** Posts the message once; throws `AlarmDeliveryError` when it must be retried or dropped. */
  override async send(message: AlarmMessage, context: AlarmSendContext): Promise<void> {
    const body = JSON.stringify(webhookPayload(message));
    const timestamp = String(Math.floor(Date.now() / 1000));
    await postJson(
      this.target,
      body,
      {
        ...this.extraHeaders,
        'Content-Type': 'application/json',
        [AUDIT_TIMESTAMP_HEADER]: timestamp,
        [AUDIT_SIGNATURE_HEADER]: signAuditWebhook(this.config.secret, timestamp, body),
        [AUDIT_ALARM_ID_HEADER]: headerValue(message.id),
      },
      context,
    );
  }
}
