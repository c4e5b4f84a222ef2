import { messageOf } from '../common/message-of';
import type { AlarmOutbox } from '../stores/alarm-outbox';
import type { AlarmSettlement } from '../stores/alarm-outbox-model';

/** Settlements kept in memory while the store fails; beyond, leases expiring resend them. */
const MAX_UNSETTLED = 10_000;

/**
 * Records the outcome of each attempt in the store. A settlement the store refuses is kept (up
 * to a bound) and written again at the next poll: until then the message stays leased, and if
 * the lease expires first it is only sent once more, never lost.
 */
export class AlarmSettlementWriter {
  private unsettled: AlarmSettlement[] = [];

  /**
   * @param outbox the store's alarm outbox.
   * @param engine the store's engine name, for messages.
   * @param report hears each settlement the store refused.
   */
  constructor(
    private readonly outbox: AlarmOutbox,
    private readonly engine: string,
    private readonly report: (message: string) => void,
  ) {}

  /** Settlements waiting for the store. */
  get pending(): number {
    return this.unsettled.length;
  }

  /** Writes one settlement; keeps it for later when the store fails. Never rejects. */
  async write(settlement: AlarmSettlement): Promise<void> {
    try {
      await this.outbox.settle([settlement]);
    } catch (error) {
      this.keep(settlement);
      this.report(
        `nestjs-audit: could not record the outcome of alarm ${settlement.attempt.dedupKey} in the ${this.engine} store: ${messageOf(error)}. Retrying at the next poll; if the lease expires first, the alarm may be sent once more.`,
      );
    }
  }

  /** Writes the settlements kept so far, in one call; keeps them again when it fails. */
  async retryPending(): Promise<void> {
    if (this.unsettled.length === 0) return;
    const pending = this.unsettled;
    this.unsettled = [];
    try {
      await this.outbox.settle(pending);
    } catch {
      for (const settlement of pending) this.keep(settlement);
    }
  }

  private keep(settlement: AlarmSettlement): void {
    this.unsettled.push(settlement);
    if (this.unsettled.length > MAX_UNSETTLED) this.unsettled.shift();
  }
}
