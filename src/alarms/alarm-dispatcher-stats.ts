import type { AlarmOutbox } from '../stores/alarm-outbox';
import type { AlarmOutboxStats } from '../stores/alarm-outbox-model';

/** What the dispatcher counts of its own deliveries. */
export interface AlarmDeliveryCounters {
  /** Messages delivered by this process. */
  sent: number;
  /** Outbox entries those messages stood for (a digest counts all its members). */
  delivered: number;
  /** Attempts that failed and will be retried. */
  failedAttempts: number;
  /** Messages this process dead-lettered. */
  dead: number;
}

/** What the alarm dispatcher's `stats()` reports, for `health()`. */
export interface AlarmDispatcherStats extends AlarmDeliveryCounters {
  /** Whether the delivery loop runs. */
  running: boolean;
  /** Messages being sent right now. */
  inFlight: number;
  /** Settlements not yet written because the store failed; retried at every poll. */
  unsettled: number;
  /** The last delivery or store error. */
  lastError?: string;
  /** When it happened (ISO-8601). */
  lastErrorAt?: string;
  /** The outbox counts of the store (all instances), refreshed every `statsIntervalMs`. */
  outbox?: AlarmOutboxStats;
  /** When those counts were read (ISO-8601). */
  outboxCheckedAt?: string;
}

/**
 * The outbox counts of the store, read at most once per interval: they cover every instance
 * and cost a query, so `health()` reports the last ones read with their time.
 */
export class AlarmOutboxCounts {
  private last: { stats: AlarmOutboxStats; at: number } | undefined;
  private readAt = Number.NEGATIVE_INFINITY;

  /**
   * @param outbox the store's alarm outbox.
   * @param intervalMs the least time between two reads.
   */
  constructor(
    private readonly outbox: AlarmOutbox,
    private readonly intervalMs: number,
  ) {}

  /** Reads the counts again when the interval has passed since the last read. Never rejects. */
  async refresh(now: number): Promise<void> {
    if (now - this.readAt < this.intervalMs) return;
    this.readAt = now;
    try {
      this.last = { stats: await this.outbox.stats(), at: now };
    } catch {
      // The claim right after reports the store failure; stale counts stay with their time.
    }
  }

  /** Adds the last counts read, and their time, to `stats`. */
  addTo(stats: AlarmDispatcherStats): void {
    if (!this.last) return;
    stats.outbox = { ...this.last.stats };
    stats.outboxCheckedAt = new Date(this.last.at).toISOString();
  }
}
