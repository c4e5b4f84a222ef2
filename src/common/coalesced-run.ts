/**
 * Runs an async job one at a time: a request while it runs makes it run once more afterwards
 * (however many requests came), so what the requests were for is never left undone, and never
 * two runs at once.
 */
export class CoalescedRun {
  private running: Promise<void> | undefined;
  private again = false;

  /** @param job - the work; it must not throw (report failures inside it). */
  constructor(private readonly job: () => Promise<void>) {}

  /** Starts the job now, or once more after the run in progress. */
  request(): void {
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.job();
      } while (this.again);
    })().finally(() => {
      this.running = undefined;
    });
  }

  /** Resolves once no run is in progress or owed. */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }
}
