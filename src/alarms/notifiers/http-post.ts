/**
 * The one HTTP POST of the Slack and webhook notifiers, and how its outcome maps to a retry
 * decision. Uses `node:http`/`node:https` (not `fetch`) because only they take a `lookup`, which
 * the destination guard needs to pin the checked address; no HTTP client dependency.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AlarmDeliveryError, type AlarmSendContext } from './alarm-notifier';
import {
  guardedLookup,
  refusedLiteralHost,
  REFUSED_DESTINATION_CODE,
  STRICT_DESTINATIONS,
  type DestinationPolicy,
} from './destination-guard';
import { messageOf } from '../../common/message-of';

/** Longest wait a `Retry-After` can ask for; a receiver asking for more is not believed. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** Most characters of a failed response's body quoted in an error message. */
const MAX_BODY_SNIPPET = 200;
/** Most bytes read from a failed response's body. */
const MAX_BODY_BYTES = 4096;

/** What {@link postJson} needs besides the body. */
export interface HttpPostTarget {
  /** Where to POST. */
  url: string;
  /**
   * How the URL appears in error messages. A Slack webhook URL is a secret (whoever has it can
   * post), so its path is hidden.
   */
  displayUrl: string;
  /** Who is posted to, for messages: `Slack channel "ops"`, `Webhook channel "erp"`. */
  label: string;
  /** Option path of the URL, for fix hints: `alarms.channels.ops.webhookUrl`. */
  urlOption: string;
  /**
   * Which private destinations may be reached (`alarms.allowPrivateNetworks`).
   * @default public addresses only
   */
  destinations?: DestinationPolicy;
}

/**
 * The URL as it may be shown: scheme, host and port, and the path only when `showPath` (query
 * strings and user info never: they carry tokens).
 */
export function displayUrl(url: string, showPath: boolean): string {
  try {
    const parsed = new URL(url);
    if (!showPath) return parsed.pathname.length > 1 ? `${parsed.origin}/…` : parsed.origin;
    return `${parsed.origin}${parsed.pathname}${parsed.search ? '?…' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * Reads a `Retry-After` value, in delta-seconds (`120`) or HTTP-date form, as milliseconds from
 * `now`, capped at {@link MAX_RETRY_AFTER_MS}. Undefined when absent or unreadable.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  // Every HTTP-date form names the day or month; Date.parse alone would read "-5" as a year.
  if (!/[A-Za-z]{3}/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

/**
 * `text` as a header value: visible ASCII is kept, anything else (line breaks included) is
 * percent-encoded, so an odd alarm id can neither break the request nor inject a header.
 */
export function headerValue(text: string): string {
  return text.replace(/[^\x20-\x7e]/gu, (char) => {
    try {
      return encodeURIComponent(char);
    } catch {
      // A lone surrogate cannot be encoded; the replacement character keeps the value readable.
      return '%EF%BF%BD';
    }
  });
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** The start of a response body, as one safe line (control characters removed). */
async function bodySnippet(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).byteLength;
      if (size >= MAX_BODY_BYTES) break;
    }
  } catch {
    // The body is only quoted for the error message; a broken one says nothing more.
  } finally {
    response.destroy();
  }
  const text = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\p{Cc}+/gu, ' ')
    .trim();
  return text.length > MAX_BODY_SNIPPET ? `${text.slice(0, MAX_BODY_SNIPPET - 1)}…` : text;
}

function networkReason(error: unknown): string {
  let current: unknown = error;
  // fetch reports "fetch failed" and puts the socket error in `cause`.
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth += 1) {
    const { code, cause } = current as { code?: unknown; cause?: unknown };
    if (typeof code === 'string') {
      const message = (current as { message?: unknown }).message;
      return typeof message === 'string' && message.length > 0 ? `${message} (${code})` : code;
    }
    current = cause;
  }
  return messageOf(error);
}

function describeStatus(response: IncomingMessage, snippet: string): string {
  const text = response.statusMessage ? ` ${response.statusMessage}` : '';
  return `HTTP ${response.statusCode ?? 0}${text}${snippet ? ` ("${snippet}")` : ''}`;
}

function headerText(response: IncomingMessage, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Sends the request and resolves with the response head; never follows redirects. */
function send(
  target: HttpPostTarget,
  body: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  const url = new URL(target.url);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = request(url, {
      method: 'POST',
      headers: { ...headers, 'Content-Length': Buffer.byteLength(body) },
      signal,
      lookup: guardedLookup(target.destinations ?? STRICT_DESTINATIONS) as never,
    });
    outgoing.once('response', resolve);
    outgoing.once('error', reject);
    outgoing.end(body);
  });
}

/** The guard's refusal, when the socket error is one. */
function refusal(error: unknown): string | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === REFUSED_DESTINATION_CODE && typeof message === 'string' ? message : undefined;
}

/** How a failed POST is described: who was posted to, and how to fix a refused destination. */
interface PostContext {
  target: HttpPostTarget;
  /** `Slack channel "ops" (https://hooks.slack.com/…)`. */
  where: string;
  /** The fix hint of a refused destination. */
  fix: string;
}

/** The error of a request that got no response: refused, timed out, cancelled or unreachable. */
function requestFailure(
  error: unknown,
  { target, where, fix }: PostContext,
  timeout: AbortSignal,
  context: AlarmSendContext,
): AlarmDeliveryError {
  const refused = refusal(error);
  if (refused !== undefined) {
    return new AlarmDeliveryError(
      `${where} was not contacted: ${refused}; it will not be retried. ${fix}`,
      { permanent: true, cause: error },
    );
  }
  if (timeout.aborted && !context.signal.aborted) {
    return new AlarmDeliveryError(
      `${where} did not answer within ${context.timeoutMs} ms; the alarm will be retried. If the receiver is slow, raise the channel's timeoutMs.`,
      { cause: error },
    );
  }
  if (context.signal.aborted) {
    return new AlarmDeliveryError(
      `Delivery to ${where} was cancelled (${networkReason(context.signal.reason)}); the alarm will be retried.`,
      { cause: error },
    );
  }
  // Never quote the URL from the error: undici messages can contain it in full.
  return new AlarmDeliveryError(
    `Could not reach ${where}: ${networkReason(error).split(target.url).join(target.displayUrl)}; the alarm will be retried. Check that the host is reachable from this server.`,
    { cause: error },
  );
}

/** The error of a 3xx answer: permanent, naming where it pointed. */
function redirectFailure(
  response: IncomingMessage,
  { target, where }: PostContext,
): AlarmDeliveryError {
  const location = headerText(response, 'location');
  let to = '';
  if (location) {
    try {
      to = ` to ${displayUrl(new URL(location, target.url).href, false)}`;
    } catch {
      // An unreadable Location says nothing useful; the status alone explains the failure.
    }
  }
  return new AlarmDeliveryError(
    `${where} answered with a redirect (${describeStatus(response, '')})${to}. Redirects are not followed: set ${target.urlOption} to the final URL.`,
    { permanent: true, statusCode: response.statusCode ?? 0 },
  );
}

/** The error of an answer other than 2xx, retried or not by its status. */
async function responseFailure(
  response: IncomingMessage,
  post: PostContext,
): Promise<AlarmDeliveryError> {
  const { target, where } = post;
  const status = response.statusCode ?? 0;
  const snippet = await bodySnippet(response);
  if (status >= 300 && status < 400) return redirectFailure(response, post);
  if (isRetryableStatus(status)) {
    const retryAfterMs = parseRetryAfter(headerText(response, 'retry-after'));
    const wait = retryAfterMs === undefined ? '' : ` after ${Math.ceil(retryAfterMs / 1000)} s`;
    return new AlarmDeliveryError(
      `${where} answered ${describeStatus(response, snippet)}; the alarm will be retried${wait}.`,
      {
        statusCode: status,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      },
    );
  }
  return new AlarmDeliveryError(
    `${where} refused the alarm with ${describeStatus(response, snippet)}; it will not be retried. Check ${target.urlOption} and what the receiver expects.`,
    { permanent: true, statusCode: status },
  );
}

/**
 * POSTs a JSON body once and resolves when the receiver answered 2xx.
 *
 * Redirects are not followed (a 3xx fails for good: the URL is wrong or moved, and following it
 * could leak the signed payload elsewhere). 408, 425, 429 and 5xx answers, network errors and
 * timeouts are retried; other 4xx answers fail for good. The attempt is cancelled by
 * `context.signal` or after `context.timeoutMs`, whichever comes first.
 *
 * The destination must be public unless `target.destinations` allows it: a literal address is
 * checked here, a name through {@link guardedLookup} on every address DNS returns. A refused
 * destination fails for good without any connection (retrying would not change the answer an
 * operator has to give).
 *
 * @throws AlarmDeliveryError saying whether and when to retry.
 */
export async function postJson(
  target: HttpPostTarget,
  body: string,
  headers: Record<string, string>,
  context: AlarmSendContext,
): Promise<void> {
  const timeout = AbortSignal.timeout(context.timeoutMs);
  const signal = AbortSignal.any([context.signal, timeout]);
  const post: PostContext = {
    target,
    where: `${target.label} (${target.displayUrl})`,
    fix: `Only public addresses are reached unless listed in alarms.allowPrivateNetworks; if this destination is intended, list it there, otherwise correct ${target.urlOption}.`,
  };
  // The socket skips `lookup` for a literal address, so that is checked here.
  const literal = refusedLiteralHost(
    new URL(target.url),
    target.destinations ?? STRICT_DESTINATIONS,
  );
  if (literal !== undefined) {
    throw new AlarmDeliveryError(
      `${post.where} was not contacted: its address is ${literal}; it will not be retried. ${post.fix}`,
      {
        permanent: true,
      },
    );
  }
  let response: IncomingMessage;
  try {
    response = await send(target, body, headers, signal);
  } catch (error) {
    throw requestFailure(error, post, timeout, context);
  }
  const status = response.statusCode ?? 0;
  if (status >= 200 && status < 300) {
    response.resume();
    return;
  }
  throw await responseFailure(response, post);
}
