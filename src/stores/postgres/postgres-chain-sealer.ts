/**
 * When the PostgreSQL store chains its queued events: right after each append or confirmed
 * atomic write, in the background (an append never waits for its chain link), one seal at a
 * time per store, each chaining up to a batch; a request arriving during a seal makes it run
 * once more, so nothing queued is left behind. A failed seal leaves the events queued for the
 * next one (of this process or another instance).
 */
export class PostgresChainSealer {
  private running: Promise<void> | undefined;
  private again = false;
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
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  /** Seals everything queued now and resolves when done. */
  async sealAll(): Promise<void> {
    this.request();
    while (this.running !== undefined) await this.running;
  }

  /** Waits for the seal running now, if any (and the one it owes). */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        while ((await this.sealBatch(this.batch)) === this.batch);
        this.lastError = undefined;
      } catch (error) {
        this.lastError = error;
        return;
      }
    } while (this.again);
  }
}
