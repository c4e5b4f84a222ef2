/**
 * Signing of webhook alarms, and the check a receiver runs. The signed text is
 * `<timestamp>.<body>`: binding the timestamp stops an old delivery from being replayed with a
 * fresh timestamp.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying the send time, in whole seconds since the Unix epoch. */
export const AUDIT_TIMESTAMP_HEADER = 'X-Audit-Timestamp';
/** Header carrying `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`. */
export const AUDIT_SIGNATURE_HEADER = 'X-Audit-Signature';
/** Header carrying the alarm id, the same on every retry of one alarm (drop repeats by it). */
export const AUDIT_ALARM_ID_HEADER = 'X-Audit-Alarm-Id';

/** How old (or how far in the future) a timestamp may be, by default. */
const DEFAULT_TOLERANCE_SECONDS = 300;
const PREFIX = 'sha256=';

/**
 * The `X-Audit-Signature` value of a body sent at `timestamp`.
 *
 * @param secret - the channel's shared secret
 * @param timestamp - the `X-Audit-Timestamp` value (Unix seconds, as text)
 * @param body - the exact bytes of the request body
 */
export function signAuditWebhook(
  secret: string,
  timestamp: string,
  body: string | Uint8Array,
): string {
  const hmac = createHmac('sha256', secret);
  hmac.update(`${timestamp}.`, 'utf8');
  hmac.update(body);
  return `${PREFIX}${hmac.digest('hex')}`;
}

/** What {@link verifyAuditWebhookSignature} checks. */
export interface VerifyAuditWebhookOptions {
  /**
   * The shared secret; several while rotating (the old and the new one), any of which may
   * match.
   */
  secret: string | readonly string[];
  /**
   * The raw request body, exactly as received: parse the JSON only after the check (a body
   * parsed and serialised again may differ byte for byte).
   */
  body: string | Uint8Array;
  /** The `X-Audit-Timestamp` header (Node's header value types are accepted as they are). */
  timestamp: string | readonly string[] | undefined;
  /** The `X-Audit-Signature` header. */
  signature: string | readonly string[] | undefined;
  /**
   * Reject a timestamp further than this from now, in seconds (stops replays of captured
   * deliveries; retries are signed anew, so they pass).
   * @default 300
   */
  toleranceSeconds?: number;
  /**
   * The current time in milliseconds since the epoch.
   * @default Date.now()
   */
  now?: number;
}

function single(value: string | readonly string[] | undefined): string | undefined {
  if (typeof value === 'string') return value;
  // Two copies of a header make the request ambiguous: refuse rather than pick one.
  return value !== undefined && value.length === 1 ? value[0] : undefined;
}

/**
 * Checks that a webhook alarm comes from this library with your secret, and is recent.
 *
 * Compares in constant time (no timing leak of the expected signature) and rejects timestamps
 * outside `toleranceSeconds`. Returns `false` for any missing, malformed, stale or wrong value;
 * it never throws for bad input.
 *
 * @example
 * ```ts
 * // Express, with the raw body kept: app.use(express.raw({ type: 'application/json' }))
 * app.post('/audit-alarms', (req, res) => {
 *   const ok = verifyAuditWebhookSignature({
 *     secret: process.env.AUDIT_WEBHOOK_SECRET!,
 *     body: req.body, // a Buffer
 *     timestamp: req.headers['x-audit-timestamp'],
 *     signature: req.headers['x-audit-signature'],
 *   });
 *   if (!ok) return res.status(401).end();
 *   const alarm = JSON.parse(req.body.toString('utf8'));
 *   // drop repeats by alarm.id (delivery is at-least-once), then handle it
 *   res.status(204).end();
 * });
 * ```
 */
export function verifyAuditWebhookSignature(options: VerifyAuditWebhookOptions): boolean {
  const timestamp = single(options.timestamp)?.trim();
  const signature = single(options.signature)?.trim();
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  if (!signature.startsWith(PREFIX) || !/^[0-9a-f]{64}$/i.test(signature.slice(PREFIX.length))) {
    return false;
  }
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const nowSeconds = (options.now ?? Date.now()) / 1000;
  if (!(Math.abs(nowSeconds - Number(timestamp)) <= tolerance)) return false;

  const given = Buffer.from(signature.slice(PREFIX.length).toLowerCase(), 'hex');
  const secrets = typeof options.secret === 'string' ? [options.secret] : options.secret;
  let match = false;
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret === '') continue;
    const expected = Buffer.from(
      signAuditWebhook(secret, timestamp, options.body).slice(PREFIX.length),
      'hex',
    );
    // Every secret is tried, so the time taken does not tell which one matched.
    if (timingSafeEqual(expected, given)) match = true;
  }
  return match;
}
