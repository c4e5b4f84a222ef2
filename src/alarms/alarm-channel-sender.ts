import { stringifyJson } from '../event/serialize';
import type { AlarmMessage } from '../stores/alarm-message';
import { attemptTimeoutOf, type AttemptTimeouts } from './alarm-dispatcher-settings';
import type { AlarmNotifier } from './notifiers/alarm-notifier';
import { AlarmDeliveryError } from './notifiers/alarm-notifier';

/** The parts of an error a retry decision looks at (duck-typed: notifiers may be bundled apart). */
export interface DeliveryFailure {
  message: string;
  permanent: boolean;
  retryAfterMs?: number;
  statusCode?: number;
}

function failureOf(error: unknown): DeliveryFailure {
  if (error === null || typeof error !== 'object') {
    return { message: String(error), permanent: false };
  }
  const e = error as {
    name?: unknown;
    message?: unknown;
    permanent?: unknown;
    retryAfterMs?: unknown;
    statusCode?: unknown;
  };
  const failure: DeliveryFailure = {
    message:
      typeof e.message === 'string' && e.message.length > 0
        ? e.message
        : (stringifyJson(error) ?? 'unknown error'),
    permanent: e.permanent === true,
  };
  if (typeof e.retryAfterMs === 'number' && Number.isFinite(e.retryAfterMs)) {
    failure.retryAfterMs = e.retryAfterMs;
  }
  if (typeof e.statusCode === 'number' && Number.isInteger(e.statusCode)) {
    failure.statusCode = e.statusCode;
  }
  return failure;
}

/** Rejects when `signal` aborts, with its reason. */
function aborted(signal: AbortSignal): Promise<never> {
  const reason = () =>
    signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason));
  return new Promise<never>((_resolve, reject) => {
    if (signal.aborted) reject(reason());
    else signal.addEventListener('abort', () => reject(reason()), { once: true });
  });
}

/**
 * Sends one message through its channel's notifier, bounded by the channel's timeout, and turns
 * whatever went wrong into a {@link DeliveryFailure}. Settling the outcome is the caller's part.
 */
export class AlarmChannelSender {
  /**
   * @param notifiers the notifier of each channel name.
   * @param timeouts the attempt timeout of each channel.
   */
  constructor(
    private readonly notifiers: ReadonlyMap<string, AlarmNotifier>,
    private readonly timeouts: AttemptTimeouts,
  ) {}

  /**
   * Sends once on `channel`.
   * @param message builds the message; called inside the attempt, so a failure to build it is
   *   a failed attempt.
   * @param attempt the attempt number, for the notifier.
   * @param controller aborted on timeout here, and by the caller on shutdown.
   * @returns the failure, or undefined when delivered.
   */
  async send(
    channel: string,
    message: () => AlarmMessage,
    attempt: number,
    controller: AbortController,
  ): Promise<DeliveryFailure | undefined> {
    const notifier = this.notifiers.get(channel);
    if (notifier === undefined) {
      return {
        message: `channel "${channel}" is not configured (it may have been removed or renamed since the alarm was raised). Known channels: ${[...this.notifiers.keys()].join(', ') || 'none'}`,
        permanent: true,
      };
    }
    const timeoutMs = attemptTimeoutOf(channel, this.timeouts);
    const timer = setTimeout(
      () =>
        controller.abort(
          new AlarmDeliveryError(
            `no answer from channel "${channel}" within ${timeoutMs} ms (its timeoutMs); the attempt was aborted`,
          ),
        ),
      timeoutMs,
    );
    try {
      const built = message();
      const sending = Promise.resolve().then(() =>
        notifier.send(built, { signal: controller.signal, attempt, timeoutMs }),
      );
      // A notifier that ignores its signal must not hold the slot past the timeout; its late
      // result is dropped.
      sending.catch(() => undefined);
      await Promise.race([sending, aborted(controller.signal)]);
      return undefined;
    } catch (error) {
      return failureOf(controller.signal.aborted ? controller.signal.reason : error);
    } finally {
      clearTimeout(timer);
    }
  }
}
