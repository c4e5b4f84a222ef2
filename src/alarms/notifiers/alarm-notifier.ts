import type { AlarmMessage } from '../../stores/alarm-message';
import { AuditError } from '../../common/audit-error';

/** What the dispatcher tells a notifier about the attempt in progress. */
export interface AlarmSendContext {
  /** Aborted when the attempt times out or the application shuts down; pass it to your I/O. */
  signal: AbortSignal;
  /** 1 for the first attempt, 2 for the first retry, … */
  attempt: number;
  /** The channel's timeout for this attempt, in milliseconds. */
  timeoutMs: number;
}

/**
 * Thrown by a notifier to say how a failed delivery should be retried. Any other error is
 * treated as a transient failure and retried with backoff.
 */
export class AlarmDeliveryError extends AuditError {
  override readonly name = 'AlarmDeliveryError';
  override readonly code = 'AUDIT_ALARM_DELIVERY_FAILED';
  /** Wait at least this long before the next attempt (e.g. from HTTP 429 `Retry-After`). */
  readonly retryAfterMs?: number;
  /** The receiver will never accept this message (e.g. HTTP 400/404): dead-letter at once. */
  readonly permanent: boolean;
  /** HTTP status or SMTP response code, when there was one. */
  readonly statusCode?: number;

  constructor(
    message: string,
    options: {
      retryAfterMs?: number;
      permanent?: boolean;
      statusCode?: number;
      cause?: unknown;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    this.permanent = options.permanent ?? false;
    if (options.statusCode !== undefined) this.statusCode = options.statusCode;
  }
}

/**
 * A channel that delivers alarms: the contract of the built-in e-mail, Slack and webhook
 * notifiers, and of your own. Register a subclass as a channel (`channels: { pager: PagerNotifier }`);
 * it is resolved from the Nest container, so it can inject services.
 *
 * `send()` resolves once the receiver accepted the message and rejects otherwise (throw an
 * {@link AlarmDeliveryError} to control the retry). It may be called again for the same
 * `message.id` after a crash or a timeout: delivery is at-least-once.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class PagerNotifier extends AlarmNotifier {
 *   constructor(private readonly pager: PagerClient) { super(); }
 *   async send(message: AlarmMessage, { signal }: AlarmSendContext) {
 *     await this.pager.trigger({ dedupKey: message.id, summary: message.title }, { signal });
 *   }
 * }
 * ```
 */
export abstract class AlarmNotifier {
  /** Delivers one message. */
  abstract send(message: AlarmMessage, context: AlarmSendContext): Promise<void>;

  /** Releases connections (SMTP pools). Called once on application shutdown. */
  async close(): Promise<void> {}
}
