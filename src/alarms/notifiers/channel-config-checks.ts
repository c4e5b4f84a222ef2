/**
 * The checks of single fields of the built-in channel configs (addresses, URLs, destinations,
 * timeouts, SMTP transport, headers). Each throws an AuditConfigurationError that names the
 * option and says how to fix it.
 */
import { auditOptionChecks as check } from '../../audit-configuration-checks';
import { describe } from '../../common/option-checks';
import { refusedUrlHost, type DestinationPolicy } from './destination-guard';
import { isValidEmailAddress, splitAddresses } from './email-address';
import { isReservedWebhookHeader } from './webhook.notifier';

/** Largest `timeoutMs` (the longest delay a Node.js timer supports). */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** Whether `value` is a plain object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Checks one or more e-mail addresses (a string, comma-separated, or an array of them). */
export function checkAddresses(option: string, value: unknown, required: boolean): void {
  const example = `Example: ${option.split('.').pop()}: 'security@example.com' or ['a@example.com', 'Ops Team <ops@example.com>'].`;
  if (value === undefined) {
    if (required) check.fail(option, 'is missing', example);
    return;
  }
  let addresses: string[];
  if (typeof value === 'string') {
    addresses = splitAddresses(value);
  } else if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
    addresses = value.flatMap(splitAddresses);
  } else {
    check.mismatch(option, 'an e-mail address or an array of them', value, example);
  }
  if (addresses.length === 0) {
    check.fail(option, 'is empty', `Give at least one address. ${example}`);
  }
  for (const address of addresses) {
    if (!isValidEmailAddress(address)) {
      check.fail(option, `contains an invalid e-mail address ${describe(address)}`, example);
    }
  }
}

/**
 * Checks an http(s) URL without credentials and returns it parsed.
 * @param secret the URL is a secret: error messages never show it.
 */
export function checkHttpUrl(
  option: string,
  value: unknown,
  secret: boolean,
  example: string,
): URL {
  if (typeof value !== 'string' || value.trim() === '') {
    check.fail(
      option,
      `must be a URL string (got ${secret ? typeof value : describe(value)})`,
      example,
    );
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // A Slack webhook URL is a secret: never echo it, not even when malformed.
    check.fail(option, `is not a valid URL${secret ? '' : ` (got ${describe(value)})`}`, example);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    check.fail(
      option,
      `must start with https:// or http:// (got ${JSON.stringify(url.protocol)})`,
      example,
    );
  }
  if (url.username || url.password) {
    check.fail(
      option,
      'must not contain a user name or password',
      'Put credentials in a header instead (webhook channels: the "headers" option).',
    );
  }
  return url;
}

/** Refuses a URL whose host is a literal non-public address or an internal name. */
export function checkDestination(option: string, url: URL, policy: DestinationPolicy): void {
  const refused = refusedUrlHost(url, policy);
  if (refused === undefined) return;
  const host = url.hostname;
  check.fail(
    option,
    `points to ${host}, a non-public destination (${refused}), which is refused by default so an alarm cannot be aimed at internal services or cloud metadata`,
    `If this destination is intended (a relay on your network, a test receiver), list it: alarms.allowPrivateNetworks: [${JSON.stringify(host.replace(/^\[|\]$/g, ''))}] (or true to allow every destination).`,
  );
}

/** Checks a channel's `timeoutMs`, when set. */
export function checkTimeout(name: string, value: unknown): void {
  check.wholeNumber(`alarms.channels.${name}.timeoutMs`, value, {
    fallback: 10_000,
    min: 1,
    max: MAX_TIMEOUT_MS,
    unit: 'milliseconds',
  });
}

/** Checks an e-mail channel's `transport`: an smtp(s):// URL or options naming the server. */
export function checkTransport(option: string, value: unknown): void {
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
      check.fail(option, 'must be an smtp:// or smtps:// URL', example);
    }
    if (!url.hostname) check.fail(option, 'names no host', example);
    return;
  }
  if (!isRecord(value)) {
    check.fail(
      option,
      `must be an SMTP URL or nodemailer SMTP options (got ${typeof value})`,
      example,
    );
  }
  const { host, url, service } = value;
  if (typeof host !== 'string' && typeof url !== 'string' && typeof service !== 'string') {
    check.fail(
      option,
      'must say which server to use: "host" (with "port"), "url" or "service"',
      example,
    );
  }
}

/** Checks a webhook channel's extra `headers`: valid names, one-line values, none of ours. */
export function checkHeaders(option: string, value: unknown): void {
  const example = "Example: headers: { Authorization: 'Bearer ' + process.env.ERP_TOKEN }.";
  if (value === undefined) return;
  if (!isRecord(value)) check.fail(option, `must be an object of header names and values`, example);
  for (const [name, headerValue] of Object.entries(value)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      check.fail(`${option}.${name}`, 'is not a valid header name', example);
    }
    if (isReservedWebhookHeader(name)) {
      check.fail(
        `${option}.${name}`,
        'is set by the notifier itself and cannot be configured',
        'Remove it; Content-Type and the X-Audit-* headers are always sent.',
      );
    }
    if (typeof headerValue !== 'string' || /[\r\n\0]/.test(headerValue)) {
      check.fail(`${option}.${name}`, 'must be a string without line breaks', example);
    }
  }
}
