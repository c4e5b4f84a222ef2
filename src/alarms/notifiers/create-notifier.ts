/**
 * Boot-time checks of the built-in channel configs (`alarms.channels`), and the factory that
 * turns a valid one into its notifier. Custom notifiers (a class or an instance) are resolved by
 * the module through Nest's container and are not checked here.
 */
import { AuditConfigurationError } from '../../audit-configuration.error';
import type {
  EmailChannelConfig,
  SlackChannelConfig,
  WebhookChannelConfig,
} from '../alarm-options';
import { AlarmNotifier } from './alarm-notifier';
import { EmailNotifier } from './email.notifier';
import { refusedUrlHost, STRICT_DESTINATIONS, type DestinationPolicy } from './destination-guard';
import { displayUrl } from './http-post';
import { SlackNotifier } from './slack.notifier';
import { isReservedWebhookHeader, WebhookNotifier } from './webhook.notifier';

/** A channel config handled by the library itself. */
export type BuiltInChannelConfig = EmailChannelConfig | SlackChannelConfig | WebhookChannelConfig;

/** The `type` values of built-in channels. */
export const BUILT_IN_CHANNEL_TYPES = ['email', 'slack', 'webhook'] as const;

/** Shortest webhook secret accepted: shorter ones can be guessed. */
export const MIN_WEBHOOK_SECRET_LENGTH = 16;

/** Largest `timeoutMs` (the longest delay a Node.js timer supports). */
const MAX_TIMEOUT_MS = 2_147_483_647;

const KNOWN_KEYS: Record<BuiltInChannelConfig['type'], readonly string[]> = {
  email: ['type', 'transport', 'from', 'to', 'cc', 'timeoutMs'],
  slack: ['type', 'webhookUrl', 'timeoutMs'],
  webhook: ['type', 'url', 'secret', 'headers', 'timeoutMs'],
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

function fail(option: string, problem: string, fix: string): never {
  throw new AuditConfigurationError(`nestjs-audit: option "${option}" ${problem}. ${fix}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function shown(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return JSON.stringify(value) ?? typeof value;
}

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

// ---------------------------------------------------------------------------------------------
// E-mail addresses: a pragmatic check that catches typos and header injection; the SMTP server
// has the last word.

const LOCAL_PART =
  /^(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]+)*|"(?:[^"\\\r\n]|\\.)+")$/;
const DOMAIN =
  /^(?:[A-Za-z0-9\u0080-\uffff](?:[A-Za-z0-9\u0080-\uffff-]{0,61}[A-Za-z0-9\u0080-\uffff])?)(?:\.[A-Za-z0-9\u0080-\uffff](?:[A-Za-z0-9\u0080-\uffff-]{0,61}[A-Za-z0-9\u0080-\uffff])?)*$|^\[[0-9A-Fa-f:.]+\]$/;

/** Whether `address` is `user@domain` or `Display Name <user@domain>`. */
export function isValidEmailAddress(address: string): boolean {
  if (/[\r\n\0]/.test(address)) return false;
  const text = address.trim();
  const angle = /^(.*)<([^<>]+)>$/.exec(text);
  if (angle) {
    const name = (angle[1] ?? '').trim();
    if (name.includes('<') || name.includes('>')) return false;
    if (name.startsWith('"') !== name.endsWith('"')) return false;
  }
  const bare = (angle ? (angle[2] ?? '') : text).trim();
  const at = bare.lastIndexOf('@');
  if (at <= 0 || at === bare.length - 1 || bare.length > 254) return false;
  const local = bare.slice(0, at);
  const domain = bare.slice(at + 1);
  return local.length <= 64 && LOCAL_PART.test(local) && DOMAIN.test(domain);
}

/** Splits `a@x, "Doe, Jane" <b@y>` on the commas outside quotes and angle brackets. */
function splitAddresses(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  let angle = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i] as string;
    if (char === '\\' && quoted) {
      current += char + (text[i + 1] ?? '');
      i += 1;
      continue;
    }
    if (char === '"') quoted = !quoted;
    else if (!quoted && char === '<') angle = true;
    else if (!quoted && char === '>') angle = false;
    if (char === ',' && !quoted && !angle) {
      out.push(current);
      current = '';
      continue;
    }
    current += char;
  }
  out.push(current);
  return out.map((part) => part.trim()).filter((part) => part !== '');
}

function checkAddresses(option: string, value: unknown, required: boolean): void {
  const example = `Example: ${option.split('.').pop()}: 'security@example.com' or ['a@example.com', 'Ops Team <ops@example.com>'].`;
  if (value === undefined) {
    if (required) fail(option, 'is missing', example);
    return;
  }
  let addresses: string[];
  if (typeof value === 'string') {
    addresses = splitAddresses(value);
  } else if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
    addresses = value.flatMap(splitAddresses);
  } else {
    fail(option, `must be an e-mail address or an array of them (got ${shown(value)})`, example);
  }
  if (addresses.length === 0) {
    fail(option, 'is empty', `Give at least one address. ${example}`);
  }
  for (const address of addresses) {
    if (!isValidEmailAddress(address)) {
      fail(option, `contains an invalid e-mail address ${shown(address)}`, example);
    }
  }
}

function checkHttpUrl(option: string, value: unknown, secret: boolean, example: string): URL {
  if (typeof value !== 'string' || value.trim() === '') {
    fail(option, `must be a URL string (got ${secret ? typeof value : shown(value)})`, example);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // A Slack webhook URL is a secret: never echo it, not even when malformed.
    fail(option, `is not a valid URL${secret ? '' : ` (got ${shown(value)})`}`, example);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    fail(
      option,
      `must start with https:// or http:// (got ${JSON.stringify(url.protocol)})`,
      example,
    );
  }
  if (url.username || url.password) {
    fail(
      option,
      'must not contain a user name or password',
      'Put credentials in a header instead (webhook channels: the "headers" option).',
    );
  }
  return url;
}

/** Refuses a URL whose host is a literal non-public address or an internal name. */
function checkDestination(option: string, url: URL, policy: DestinationPolicy): void {
  const refused = refusedUrlHost(url, policy);
  if (refused === undefined) return;
  const host = url.hostname;
  fail(
    option,
    `points to ${host}, a non-public destination (${refused}), which is refused by default so an alarm cannot be aimed at internal services or cloud metadata`,
    `If this destination is intended (a relay on your network, a test receiver), list it: alarms.allowPrivateNetworks: [${JSON.stringify(host.replace(/^\[|\]$/g, ''))}] (or true to allow every destination).`,
  );
}

function checkTimeout(name: string, value: unknown): void {
  if (value === undefined) return;
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < 1 ||
    value > MAX_TIMEOUT_MS
  ) {
    fail(
      `alarms.channels.${name}.timeoutMs`,
      `must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS} (got ${shown(value)})`,
      'Remove it to use the default 10000.',
    );
  }
}

function checkTransport(option: string, value: unknown): void {
  const example =
    "Example: transport: 'smtp://user:pass@mail.example.com:587', or { host: 'mail.example.com', port: 587, auth: { user, pass } }.";
  if (typeof value === 'string') {
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    // The URL may hold the SMTP password: only its scheme is ever shown.
    if (!url || (url.protocol !== 'smtp:' && url.protocol !== 'smtps:')) {
      fail(option, 'must be an smtp:// or smtps:// URL', example);
    }
    if (!url.hostname) fail(option, 'names no host', example);
    return;
  }
  if (!isRecord(value)) {
    fail(option, `must be an SMTP URL or nodemailer SMTP options (got ${typeof value})`, example);
  }
  const { host, url, service } = value;
  if (typeof host !== 'string' && typeof url !== 'string' && typeof service !== 'string') {
    fail(option, 'must say which server to use: "host" (with "port"), "url" or "service"', example);
  }
}

function checkHeaders(option: string, value: unknown): void {
  const example = "Example: headers: { Authorization: 'Bearer ' + process.env.ERP_TOKEN }.";
  if (value === undefined) return;
  if (!isRecord(value)) fail(option, `must be an object of header names and values`, example);
  for (const [name, headerValue] of Object.entries(value)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      fail(`${option}.${name}`, 'is not a valid header name', example);
    }
    if (isReservedWebhookHeader(name)) {
      fail(
        `${option}.${name}`,
        'is set by the notifier itself and cannot be configured',
        'Remove it; Content-Type and the X-Audit-* headers are always sent.',
      );
    }
    if (typeof headerValue !== 'string' || /[\r\n\0]/.test(headerValue)) {
      fail(`${option}.${name}`, 'must be a string without line breaks', example);
    }
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
    fail(
      base,
      `must be a channel object, a notifier class or an AlarmNotifier instance (got ${config === null ? 'null' : typeof config})`,
      `Example: ${EXAMPLES.slack}.`,
    );
  }
  const type = config.type;
  if (typeof type !== 'string' || !(BUILT_IN_CHANNEL_TYPES as readonly string[]).includes(type)) {
    fail(
      `${base}.type`,
      `must be "email", "slack" or "webhook" (got ${shown(type)})`,
      'For another kind of channel, pass a class extending AlarmNotifier instead of an object.',
    );
  }
  const channelType = type as BuiltInChannelConfig['type'];
  const known = KNOWN_KEYS[channelType];
  for (const key of Object.keys(config)) {
    if (!known.includes(key)) {
      fail(
        `${base}.${key}`,
        `is not an option of ${channelType} channels`,
        `Known options: ${known.join(', ')}.`,
      );
    }
  }
  checkTimeout(name, config.timeoutMs);
  const example = `Example: ${EXAMPLES[channelType]}.`;
  switch (channelType) {
    case 'email': {
      checkTransport(`${base}.transport`, config.transport);
      if (config.from === undefined) fail(`${base}.from`, 'is missing', example);
      if (typeof config.from !== 'string' || !isValidEmailAddress(config.from)) {
        fail(
          `${base}.from`,
          `must be one e-mail address (got ${shown(config.from)})`,
          "Example: from: 'Audit <audit@example.com>'.",
        );
      }
      checkAddresses(`${base}.to`, config.to, true);
      checkAddresses(`${base}.cc`, config.cc, false);
      return;
    }
    case 'slack': {
      const url = checkHttpUrl(`${base}.webhookUrl`, config.webhookUrl, true, example);
      if (url.protocol === 'http:' && !LOOPBACK_HOSTS.test(url.hostname)) {
        fail(
          `${base}.webhookUrl`,
          `must use https:// (got http:// to ${displayUrl(url.href, false)})`,
          'Use the https URL Slack gave you; plain http is only accepted for localhost, for tests.',
        );
      }
      checkDestination(`${base}.webhookUrl`, url, policy);
      return;
    }
    case 'webhook': {
      checkDestination(
        `${base}.url`,
        checkHttpUrl(`${base}.url`, config.url, false, example),
        policy,
      );
      const secret = config.secret;
      if (typeof secret !== 'string' || secret.length < MIN_WEBHOOK_SECRET_LENGTH) {
        fail(
          `${base}.secret`,
          typeof secret === 'string'
            ? `is too short (${secret.length} characters; at least ${MIN_WEBHOOK_SECRET_LENGTH} are needed)`
            : `must be a string of at least ${MIN_WEBHOOK_SECRET_LENGTH} characters (got ${typeof secret})`,
          'Generate one with `openssl rand -hex 32` and share it with the receiver.',
        );
      }
      checkHeaders(`${base}.headers`, config.headers);
      return;
    }
  }
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
