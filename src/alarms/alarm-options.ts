import type { Type } from '@nestjs/common';
import type { AuditEvent, AuditOutcome } from '../event/audit-event';
import type { AlarmSeverity } from '../stores/alarm-message';
import type { AlarmRateLimit } from './alarm-rate-limit';
import type { AlarmTransition } from './alarm-rule-transition';
import type { AlarmNotifier } from './notifiers/alarm-notifier';

/**
 * A rule: which events raise an alarm, where it goes and what it says. Every match field is
 * optional and they combine with AND; a rule with none matches every event.
 *
 * @example
 * ```ts
 * {
 *   name: 'mfa-phone-changed',
 *   action: 'user.*',
 *   changed: ['phone', 'mfa.*'],
 *   channels: ['security'],
 *   severity: 'high',
 *   title: 'MFA phone changed for {target.type} {target.id}',
 *   message: '{actor.email} changed {target.type} {target.id}: {changes}',
 *   throttle: '10m',
 * }
 * ```
 */
export interface AlarmRule {
  /** Unique name; shown in messages and used in dedup keys. Letters, digits, `.`, `_`, `-`. */
  name: string;
  /** Action(s) to match, exact or glob (`user.*`, `*.delete`, `invoice.{void,refund}`). */
  action?: string | readonly string[];
  /** Target resource type(s), exact or glob. */
  resourceType?: string | readonly string[];
  /** Outcome(s) to match. */
  outcome?: AuditOutcome | readonly AuditOutcome[];
  /**
   * Matches when at least one of these fields changed (dotted paths, globs allowed:
   * `mfa.*` matches `mfa.phone`).
   */
  changed?: readonly string[];
  /**
   * Matches when a field went from one value to another, read from the diff:
   * `{ field: 'status', from: 'approved', to: 'void' }` (`from`/`to` may list several values).
   */
  transition?: AlarmTransition;
  /** Matches when the actor holds at least one of these roles. */
  actorRoles?: readonly string[];
  /** Matches when every given label has the given value. */
  labels?: Readonly<Record<string, string>>;
  /** Any other condition; must be fast and must not throw (a throw counts as no match, logged). */
  when?: (event: AuditEvent) => boolean;
  /** Channel names from `alarms.channels`. */
  channels: readonly string[];
  /** @default 'medium' */
  severity?: AlarmSeverity;
  /**
   * Template of the one-line title (e-mail subject, Slack header).
   * @default '{rule}: {action} on {target.type} {target.id}'
   */
  title?: string;
  /**
   * Template of the message body. Fields in braces come from the event (`{actor.email}`,
   * `{target.id}`, `{labels.region}`); `{changes}` is a readable list `field: old → new`.
   * @default '{actor.name} ({actor.id}) did {action} on {target.type} {target.id}: {changes}'
   */
  message?: string;
  /**
   * Fire only when at least `count` matching events occur within `window`, counted separately for
   * each value of `groupBy` (an event path such as `actor.id` or `source.ip`). Fires once per
   * window per key.
   */
  threshold?: { count: number; window: string | number; groupBy?: string };
  /**
   * Digest: at most one message per channel per `throttle` period; events matched in between are
   * folded into the next message, which counts them all and lists the first ones.
   */
  throttle?: string | number;
  /**
   * Flood control of this rule, per channel: at most `count` separate messages within `per`,
   * the alarms past that folded into a digest (at most one per `per`) that counts them all.
   * `false` sends every alarm on its own. Cannot be combined with `throttle`, which is stricter.
   * @default `alarms.rateLimit` (10 per minute), none for rules with `throttle`
   */
  rateLimit?: AlarmRateLimit | false;
}

/** Shared settings of every built-in channel. */
export interface AlarmChannelCommon {
  /**
   * Give up an attempt after this long (it is retried).
   * @default 10000
   */
  timeoutMs?: number;
}

/** E-mail over SMTP with nodemailer (install `nodemailer`). */
export interface EmailChannelConfig extends AlarmChannelCommon {
  type: 'email';
  /** SMTP URL (`smtp://user:pass@host:587`) or nodemailer SMTP transport options. */
  transport: string | Record<string, unknown>;
  /** Sender address. */
  from: string;
  /** Recipient(s). */
  to: string | readonly string[];
  /** Copy recipient(s). */
  cc?: string | readonly string[];
}

/** Slack incoming webhook. */
export interface SlackChannelConfig extends AlarmChannelCommon {
  type: 'slack';
  /**
   * The incoming webhook URL Slack gave you. A private or loopback host is refused unless
   * `alarms.allowPrivateNetworks` lists it.
   */
  webhookUrl: string;
}

/** JSON POST to your endpoint, signed with HMAC-SHA256. */
export interface WebhookChannelConfig extends AlarmChannelCommon {
  type: 'webhook';
  /**
   * Endpoint URL (http or https). Redirects are not followed. A private or loopback host is
   * refused unless `alarms.allowPrivateNetworks` lists it.
   */
  url: string;
  /** Shared secret of the `X-Audit-Signature` HMAC (at least 16 characters). */
  secret: string;
  /** Extra headers sent with every request. */
  headers?: Readonly<Record<string, string>>;
}

/** A built-in channel, a notifier class resolved from the Nest container, or an instance. */
export type AlarmChannelConfig =
  | EmailChannelConfig
  | SlackChannelConfig
  | WebhookChannelConfig
  | Type<AlarmNotifier>
  | AlarmNotifier;

/**
 * The `alarms` module option.
 *
 * @example
 * ```ts
 * alarms: {
 *   channels: {
 *     security: { type: 'email', transport: 'smtp://mail:25', from: 'audit@acme.test', to: 'sec@acme.test' },
 *     ops: { type: 'slack', webhookUrl: process.env.SLACK_WEBHOOK! },
 *   },
 *   rules: [{ name: 'invoice-void', action: 'invoice.void', channels: ['ops'] }],
 * }
 * ```
 */
export interface AuditAlarmOptions {
  /** Rules, checked against every recorded event. */
  rules?: readonly AlarmRule[];
  /** Named channels the rules send to. */
  channels?: Readonly<Record<string, AlarmChannelConfig>>;
  /**
   * Attempts per alarm and channel before it is dead-lettered (logged as an error, counted in
   * `health()`).
   * @default 8
   */
  maxAttempts?: number;
  /**
   * Exponential backoff between attempts, with full jitter: the n-th retry waits a random time up
   * to `min(maxMs, initialMs * 2^(n-1))`. A 429 `Retry-After` is honoured when longer.
   * @default { initialMs: 1000, maxMs: 300000 }
   */
  backoff?: { initialMs?: number; maxMs?: number };
  /**
   * How often the dispatcher looks for due alarms when it was not woken by a commit (alarms of
   * other instances, retries).
   * @default 1000
   */
  pollIntervalMs?: number;
  /**
   * Base URL of the viewer page (e.g. `https://admin.acme.test/audit/`); messages link to the
   * event from it.
   */
  viewerUrl?: string;
  /**
   * How many events a digest or threshold message lists (it always counts them all).
   * @default 10
   */
  digestListSize?: number;
  /**
   * Open threshold windows each threshold rule keeps in memory (one per `groupBy` value and
   * window). Windows whose time is over are dropped freely; when memory forces dropping an open
   * one, the lowest count goes first and the rule raises a `windows-dropped` alarm (severity at
   * least `high`) on its channels, at most one per window length. A window costs about 1 KB,
   * plus about 0.6 KB per further event it lists (at most `digestListSize`): the default bounds
   * a rule at about 10 MB under a flood of single events. A whole number from 1 to 10,000,000.
   * @default 10000
   */
  maxOpenWindowsPerRule?: number;
  /**
   * How long a claimed alarm stays reserved for the instance sending it. If that instance dies
   * mid-send, another attempt (by any instance, or this one after a restart) happens once the
   * lease ran out. Must exceed the longest channel timeout.
   * @default the larger of 60000 and twice the longest channel timeout
   */
  leaseMs?: number;
  /**
   * Private destinations the Slack and webhook channels may reach. By default only public
   * addresses are: a URL whose host is, or resolves to, a loopback, private, link-local,
   * unique-local, carrier-grade NAT, multicast or cloud-metadata address (or is named `localhost`,
   * `*.internal`, `*.local`) is refused at boot, or at send time after DNS. `true` allows every
   * destination; a list allows the given IP addresses, CIDR ranges (`'10.20.0.0/16'`,
   * `'fd00::/8'`) and host names (`'relay.internal'`, `'localhost'`); a listed name passes the
   * name check only, the addresses it resolves to must still be public or listed.
   * @default false
   * @example allowPrivateNetworks: ['relay.internal', '10.20.0.0/16']
   */
  allowPrivateNetworks?: boolean | readonly string[];
  /**
   * Run the dispatcher in this process. Turn off on instances that should only record (another
   * instance on the same PostgreSQL delivers).
   * @default true
   */
  dispatch?: boolean;
  /**
   * Flood control of every rule without its own `rateLimit` or `throttle`, per rule and channel:
   * at most `count` separate messages within `per`; the alarms past that are folded into a
   * digest message, at most one per `per`, that counts them all and lists the first ones.
   * Counted per process. `false` sends every alarm on its own. Alarms raised with
   * `AuditService.alarm()` are never limited.
   * @default { count: 10, per: '1m' }
   */
  rateLimit?: AlarmRateLimit | false;
}
