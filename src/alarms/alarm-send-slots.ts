import type { SendSlotLimits } from './alarm-dispatcher-settings';
import { AuditShutdownError } from '../common/audit-shutdown.error';

/** One send in flight. */
export interface AlarmSend {
  controller: AbortController;
  /** Set when the send was aborted by `stop()`: it is not settled, its lease expires instead. */
  shutdown: boolean;
  done: Promise<void>;
}

/** What the next claim may take. */
export interface ClaimLimits {
  /** Most messages. */
  limit: number;
  /** Channels at their cap, sorted. */
  excludeChannels: string[];
}

/**
 * The sends in flight, overall and per channel: how much the next claim may take, and the
 * shutdown drain that waits for them and then aborts the rest.
 */
export class AlarmSendSlots {
  private readonly inFlight = new Set<AlarmSend>();
  /** Sends in flight per channel; a channel is absent while it has none. */
  private readonly perChannel = new Map<string, number>();

  /** @param limits the overall and per-channel caps and the claim size. */
  constructor(private readonly limits: SendSlotLimits) {}

  /** Sends in flight. */
  get size(): number {
    return this.inFlight.size;
  }

  /**
   * What the next claim may take: at most the free slots, and for any one channel at most its
   * free slots. Channels at their cap are excluded; the limit is the fewest free slots of any
   * other channel (one with nothing in flight has them all), so that even a claim that returns
   * only messages of one channel stays within that channel's cap.
   */
  claimLimits(): ClaimLimits {
    const { batchSize, concurrency, channelConcurrency } = this.limits;
    const excludeChannels: string[] = [];
    let busiest = 0;
    for (const [channel, count] of this.perChannel) {
      if (count >= channelConcurrency) excludeChannels.push(channel);
      else busiest = Math.max(busiest, count);
    }
    const limit = Math.min(
      batchSize,
      concurrency - this.inFlight.size,
      channelConcurrency - busiest,
    );
    return { limit, excludeChannels: excludeChannels.sort() };
  }

  /**
   * Holds a slot of `channel` while `deliver` runs.
   * @param deliver the send; it must not reject.
   * @param freed called once the slot is free again.
   * @returns the end of the send.
   */
  run(
    channel: string,
    deliver: (send: AlarmSend) => Promise<void>,
    freed: () => void,
  ): Promise<void> {
    const send: AlarmSend = {
      controller: new AbortController(),
      shutdown: false,
      done: Promise.resolve(),
    };
    this.inFlight.add(send);
    this.perChannel.set(channel, (this.perChannel.get(channel) ?? 0) + 1);
    send.done = deliver(send).finally(() => {
      this.inFlight.delete(send);
      const left = (this.perChannel.get(channel) ?? 1) - 1;
      if (left > 0) this.perChannel.set(channel, left);
      else this.perChannel.delete(channel);
      freed();
    });
    return send.done;
  }

  /**
   * Waits up to `deadlineMs` for the sends in flight, then aborts the rest through their
   * `AbortSignal`, marked as shut down so that they are not settled, and waits for them to end.
   */
  async drain(deadlineMs: number): Promise<void> {
    const sends = () => Promise.allSettled([...this.inFlight].map((send) => send.done));
    let deadline: NodeJS.Timeout | undefined;
    await Promise.race([
      sends(),
      new Promise<void>((resolve) => {
        deadline = setTimeout(resolve, deadlineMs);
      }),
    ]);
    clearTimeout(deadline);
    for (const send of this.inFlight) {
      send.shutdown = true;
      send.controller.abort(new AuditShutdownError('the application is shutting down'));
    }
    await sends();
  }
}
