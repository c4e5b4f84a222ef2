/**
 * Boot-time checks of the built-in channel configs (`alarms.channels`), and the factory that
 * turns a valid one into its notifier. Custom notifiers (a class or an instance) are resolved by
 * the module through Nest's container and are not checked here.
 */
import { auditOptionChecks as check } from '../../audit-configuration-checks';
import { AuditConfigurationError } from '../../common/audit-configuration.error';
import { unknownKeyOf, type KnownKeys } from '../../common/option-checks';
import type {
  EmailChannelConfig,
  SlackChannelConfig,
  WebhookChannelConfig,
} from '../alarm-options';
import { AlarmNotifier } from './alarm-notifier';
import {
  checkAddresses,
  checkDestination,
  checkHeaders,
  checkHttpUrl,
  checkTimeout,
  checkTransport,
  isRecord,
} from './channel-config-checks';
import { STRICT_DESTINATIONS, type DestinationPolicy } from './destination-guard';
import { EmailNotifier } from './email.notifier';
import { isValidEmailAddress } from './email-address';
import { displayUrl } from './http-post';
import { SlackNotifier } from './slack.notifier';
import { WebhookNotifier } from './webhook.notifier';

/** A channel config handled by the library itself. */
export type BuiltInChannelConfig = EmailChannelConfig | SlackChannelConfig | WebhookChannelConfig;

/** The `type` values of built-in channels. */
export const BUILT_IN_CHANNEL_TYPES = ['email', 'slack', 'webhook'] as const;

/** Shortest webhook secret accepted: shorter ones can be guessed. */
export const MIN_WEBHOOK_SECRET_LENGTH = 16;

/** The keys of each built-in channel: `satisfies` makes an option missing here a compile error. */
const KNOWN_KEYS: Record<BuiltInChannelConfig['type'], KnownKeys> = {
  email: {
    type: true,
    transport: true,
    from: true,
    to: true,
    cc: true,
    timeoutMs: true,
  } satisfies Record<keyof EmailChannelConfig, true>,
  slack: { type: true, webhookUrl: true, timeoutMs: true } satisfies Record<
    keyof SlackChannelConfig,
    true
  >,
  webhook: {
    type: true,
    url: true,
    secret: true,
    headers: true,
    timeoutMs: true,
  } satisfies Record<keyof WebhookChannelConfig, true>,
};

const EXAMPLES: Record<BuiltInChannelConfig['type'], string> = {
  email:
    "{ type: 'email', transport: 'smtp://mail.example.com:587', from: 'audit@example.com', to: 'security@example.com' }",
  slack: "{ type: 'slack', webhookUrl: process.env.SLACK_WEBHOOK_URL }",
  webhook:
    "{ type: 'webhook', url: 'https://erp.example.com/audit-alarms', secret: process.env.AUDIT_WEBHOOK_SECRET }",
};

/** Hosts where a Slack URL may be plain http: the machine itself (tests, a local relay). */
const LOOPBACK_HOSTS = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/**
 * Whether `value` is a custom notifier: a class (resolved through Nest's container) or an
 * object with a `send` method (an `AlarmNotifier` instance).
 */
export function isCustomNotifier(value: unknown): boolean {
  if (typeof value === 'function') return true;
  if (value instanceof AlarmNotifier) return true;
  return isRecord(value) && typeof value.send === 'function';
}

/**
 * Whether `value` is a built-in channel config object (`type` `'email'`, `'slack'` or
 * `'webhook'`), as opposed to a notifier class or instance. It says nothing about the rest of
 * the config: check that with {@link validateChannelConfig}.
 */
export function isBuiltInChannelConfig(value: unknown): value is BuiltInChannelConfig {
  return (
    isRecord(value) &&
    !isCustomNotifier(value) &&
    (BUILT_IN_CHANNEL_TYPES as readonly unknown[]).includes(value.type)
  );
}

/** Where a per-type check is: the channel's option path, an example config, the destinations. */
interface ChannelCheckContext {
  /** `alarms.channels.<name>`. */
  base: string;
  /** `Example: { type: ... }.`, for fix hints. */
  example: string;
  policy: DestinationPolicy;
}

function checkEmailChannel(
  config: Record<string, unknown>,
  { base, example }: ChannelCheckContext,
): void {
  checkTransport(`${base}.transport`, config.transport);
  if (config.from === undefined) check.fail(`${base}.from`, 'is missing', example);
  if (typeof config.from !== 'string' || !isValidEmailAddress(config.from)) {
    check.mismatch(
      `${base}.from`,
      'one e-mail address',
      config.from,
      "Example: from: 'Audit <audit@example.com>'.",
    );
  }
  checkAddresses(`${base}.to`, config.to, true);
  checkAddresses(`${base}.cc`, config.cc, false);
}

function checkSlackChannel(
  config: Record<string, unknown>,
  { base, example, policy }: ChannelCheckContext,
): void {
  const url = checkHttpUrl(`${base}.webhookUrl`, config.webhookUrl, true, example);
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.test(url.hostname)) {
    check.fail(
      `${base}.webhookUrl`,
      `must use https:// (got http:// to ${displayUrl(url.href, false)})`,
      'Use the https URL Slack gave you; plain http is only accepted for localhost, for tests.',
    );
  }
  checkDestination(`${base}.webhookUrl`, url, policy);
}

function checkWebhookChannel(
  config: Record<string, unknown>,
  { base, example, policy }: ChannelCheckContext,
): void {
  checkDestination(`${base}.url`, checkHttpUrl(`${base}.url`, config.url, false, example), policy);
  const secret = config.secret;
  if (typeof secret !== 'string' || secret.length < MIN_WEBHOOK_SECRET_LENGTH) {
    check.fail(
      `${base}.secret`,
      typeof secret === 'string'
        ? `is too short (${secret.length} characters; at least ${MIN_WEBHOOK_SECRET_LENGTH} are needed)`
        : `must be a string of at least ${MIN_WEBHOOK_SECRET_LENGTH} characters (got ${typeof secret})`,
      'Generate one with `openssl rand -hex 32` and share it with the receiver.',
    );
  }
  checkHeaders(`${base}.headers`, config.headers);
}

/** The checks of each built-in type, after the type, the keys and the timeout were checked. */
const CHANNEL_CHECKS: Record<
  BuiltInChannelConfig['type'],
  (config: Record<string, unknown>, context: ChannelCheckContext) => void
> = {
  email: checkEmailChannel,
  slack: checkSlackChannel,
  webhook: checkWebhookChannel,
};

/** `type` as a built-in channel type, or a boot error saying which types there are. */
function builtInTypeOf(base: string, type: unknown): BuiltInChannelConfig['type'] {
  if (typeof type !== 'string' || !(BUILT_IN_CHANNEL_TYPES as readonly string[]).includes(type)) {
    check.mismatch(
      `${base}.type`,
      '"email", "slack" or "webhook"',
      type,
      'For another kind of channel, pass a class extending AlarmNotifier instead of an object.',
    );
  }
  return type as BuiltInChannelConfig['type'];
}

/** Refuses a key that is no option of the channel's type (a typo would otherwise be ignored). */
function checkKnownKeys(
  base: string,
  channelType: BuiltInChannelConfig['type'],
  config: Record<string, unknown>,
): void {
  const key = unknownKeyOf(config, KNOWN_KEYS[channelType]);
  if (key !== undefined) {
    check.fail(
      `${base}.${key}`,
      `is not an option of ${channelType} channels`,
      `Known options: ${Object.keys(KNOWN_KEYS[channelType]).join(', ')}.`,
    );
  }
}

/**
 * Checks one entry of `alarms.channels` at boot, so a typo fails the start rather than the first
 * alarm. Custom notifiers (a class, or an object with `send()`) pass unchecked.
 *
 * Rules: `type` is `email`, `slack` or `webhook`; no unknown keys; `timeoutMs` a positive whole
 * number. E-mail: `transport` an smtp(s):// URL or options naming `host`, `url` or `service`;
 * `from` one valid address; `to` (required) and `cc` one or more. Slack: `webhookUrl` must be
 * https, except on a loopback host (`localhost`, `127.x.x.x`, `[::1]`) where http is allowed for
 * tests and local relays. Slack and webhook URLs whose host is a literal non-public address or an
 * internal name are refused unless `policy` allows it (`alarms.allowPrivateNetworks`; names are
 * resolved and checked again at send time). Webhook: `url` http or https; `secret` at least 16 characters;
 * `headers` strings, not overriding the notifier's own. URLs never hold a user or password.
 *
 * @param name - the channel's key in `alarms.channels`
 * @param config - its value
 * @param policy - the compiled `alarms.allowPrivateNetworks`
 * @throws AuditConfigurationError naming the option and how to fix it.
 */
export function validateChannelConfig(
  name: string,
  config: unknown,
  policy: DestinationPolicy = STRICT_DESTINATIONS,
): void {
  const base = `alarms.channels.${name}`;
  if (isCustomNotifier(config)) return;
  if (!isRecord(config)) {
    check.fail(
      base,
      `must be a channel object, a notifier class or an AlarmNotifier instance (got ${config === null ? 'null' : typeof config})`,
      `Example: ${EXAMPLES.slack}.`,
    );
  }
  const channelType = builtInTypeOf(base, config.type);
  checkKnownKeys(base, channelType, config);
  checkTimeout(name, config.timeoutMs);
  const example = `Example: ${EXAMPLES[channelType]}.`;
  CHANNEL_CHECKS[channelType](config, { base, example, policy });
}

/**
 * Validates a built-in channel config and builds its notifier.
 *
 * @param name - the channel's key in `alarms.channels` (shown in error messages)
 * @param config - an e-mail, Slack or webhook channel config
 * @param policy - the compiled `alarms.allowPrivateNetworks`
 * @throws AuditConfigurationError when the config is invalid; Error naming
 *   `npm install nodemailer` for an e-mail channel without nodemailer installed.
 */
export function createBuiltInNotifier(
  name: string,
  config: BuiltInChannelConfig,
  policy: DestinationPolicy = STRICT_DESTINATIONS,
): AlarmNotifier {
  validateChannelConfig(name, config, policy);
  switch (config.type) {
    case 'email':
      return new EmailNotifier(config, name);
    case 'slack':
      return new SlackNotifier(config, name, policy);
    case 'webhook':
      return new WebhookNotifier(config, name, policy);
    default:
      // validateChannelConfig has rejected every other type.
      throw new AuditConfigurationError(
        `nestjs-audit: option "alarms.channels.${name}.type" is not a built-in channel type. Pass a class extending AlarmNotifier for other channels.`,
      );
  }
}
