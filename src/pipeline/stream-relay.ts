import type { AuditEvent } from '../event/audit-event';
import type { AuditSqlAppend } from '../stores/sql-append';
import { messageOf } from '../common/message-of';

/** Most events one confirmation or one sweep step handles. */
const RELAY_BATCH = 500;

/** Where relayed lines go: the ECS stream. */
export interface RelayLines {
  /** Writes the lines of events, in order. */
  writeEvents(events: readonly AuditEvent[]): void;
  /** Resolves once every line handed over so far is written by the destination; never rejects. */
  flush(): Promise<void>;
}

/**
 * Makes the ECS lines of events that another transaction committed (the ORM integrations'
 * atomic mode) as durable as the events: the store keeps each such event in a relay backlog
 * until its line is written and confirmed here; a sweep writes the lines of events left there
 * longer than the period (by a crash between the commit and the line, in this process or
 * another) from the stored events. A line may then be written twice, never not at all;
 * duplicates carry the same `event.id`.
 */
export class StreamRelay {
  private confirmations: string[] = [];
  private confirming: Promise<void> | undefined;
  private sweeping: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** How long an event stays in the backlog before a sweep writes its line (once started). */
  private periodMs = 0;

  constructor(
    private readonly backlog: AuditSqlAppend,
    private readonly lines: RelayLines,
    private readonly report: (message: string) => void,
  ) {}

  /** The lines of these events were handed to the stream: confirms them once written. */
  written(events: readonly AuditEvent[]): void {
    for (const event of events) this.confirmations.push(event.id);
    this.confirming ??= this.confirm();
  }

  /**
   * Sweeps the backlog every `periodMs` for events left there at least that long; the first
   * sweep runs one period from now. Calling it again keeps the shortest period.
   */
  start(periodMs: number): void {
    if (this.timer !== undefined && this.periodMs <= periodMs) return;
    clearInterval(this.timer);
    this.periodMs = periodMs;
    this.timer = setInterval(() => void this.sweep(), periodMs);
    this.timer.unref();
  }

  /**
   * Writes the lines of events left in the backlog for a whole period, then takes them out.
   * One sweep at a time; never rejects (a failure is reported, and the next sweep tries again).
   */
  sweep(): Promise<void> {
    if (this.timer === undefined) return Promise.resolve();
    this.sweeping ??= this.relayLeftovers()
      .catch((error: unknown) => this.report(`could not relay ECS lines: ${messageOf(error)}`))
      .finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /** Stops sweeping and waits for the sweep and the confirmations in progress. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping;
    await this.confirming;
  }

  private async confirm(): Promise<void> {
    try {
      while (this.confirmations.length > 0) {
        // Taken before the flush: a line handed over during it may still be in the buffer after.
        const ids = this.confirmations.splice(0, RELAY_BATCH);
        await this.lines.flush();
        await this.backlog.markStreamed(ids);
      }
    } catch (error) {
      // The events stay in the backlog; a sweep writes their lines again.
      this.report(`could not confirm written ECS lines: ${messageOf(error)}`);
    } finally {
      this.confirming = undefined;
    }
  }

  private async relayLeftovers(): Promise<void> {
    for (;;) {
      const events = await this.backlog.unstreamed(this.periodMs, RELAY_BATCH);
      if (events.length === 0) return;
      this.lines.writeEvents(events);
      await this.lines.flush();
      await this.backlog.markStreamed(events.map((event) => event.id));
      if (events.length < RELAY_BATCH) return;
    }
  }
}
