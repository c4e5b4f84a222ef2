import { CoalescedRun } from '../../common/coalesced-run';

/**
 * When the PostgreSQL store chains its queued events: right after each append or confirmed
 * atomic write, in the background (an append never waits for its chain link), one seal at a
 * time per store, each chaining up to a batch; a request arriving during a seal makes it run
 * once more, so nothing queued is left behind. A failed seal leaves the events queued for the
 * next one (of this process or another instance).
 */
export class PostgresChainSealer {
  private readonly run = new CoalescedRun(() => this.sealQueue());
  /** The error of the latest seal, until one succeeds. */
  lastError: unknown;

  /**
   * @param sealBatch - chains up to `batch` queued events in one transaction, returns how many
   * @param batch - most events per transaction
   */
  constructor(
    private readonly sealBatch: (batch: number) => Promise<number>,
    private readonly batch = 1_000,
  ) {}

  /** Starts a seal now, or once more after the one running. */
  request(): void {
    this.run.request();
  }

  /** Seals everything queued now and resolves when done. */
  async sealAll(): Promise<void> {
    this.run.request();
    await this.run.idle();
  }

  /** Waits for the seal running now, if any (and the one it owes). */
  idle(): Promise<void> {
    return this.run.idle();
  }

  private async sealQueue(): Promise<void> {
    try {
      while ((await this.sealBatch(this.batch)) === this.batch);
      this.lastError = undefined;
    } catch (error) {
      this.lastError = error;
    }
  }
}
