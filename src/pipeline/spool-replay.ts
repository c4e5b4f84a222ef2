import type { AlarmOutboxEntry } from '../stores/alarm-outbox-model';
import type { AuditEvent } from '../event/audit-event';
import { messageOf } from '../common/message-of';
import type { AuditSpool } from './spool';

/** What the replay needs from the writer that owns it. */
export interface SpoolReplayHost {
  readonly maxBatch: number;
  readonly retryIntervalMs: number;
  /** True once the writer is shutting down: no new replay step starts. */
  closing(): boolean;
  /** Commits one batch (events and their alarms) in one store transaction. */
  store(events: readonly AuditEvent[], alarms: readonly AlarmOutboxEntry[]): Promise<void>;
  /** A replayed batch was committed. */
  stored(events: number): void;
  /** A replay step failed (counted by the writer); it is retried after `retryIntervalMs`. */
  failed(error: unknown, events: number): void;
  /** The spool is empty again. */
  emptied(): void;
  report(level: 'error' | 'warn' | 'log', message: string): void;
}

/**
 * Moves what the spool holds into the store in the background, `maxBatch` events at a time,
 * acknowledging each batch only once it is committed.
 */
export class SpoolReplay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly spool: AuditSpool,
    private readonly host: SpoolReplayHost,
  ) {}

  /** Opens the spool and schedules the replay of what an earlier run left in it. */
  async open(): Promise<void> {
    const opened = await this.spool.open();
    const { truncated } = opened;
    if (truncated) {
      this.host.report(
        'warn',
        `nestjs-audit: the audit spool ended with ${truncated.bytes} byte(s) of an ${truncated.reason} frame at offset ${truncated.offset}, cut off (a crash in the middle of an append that had not been confirmed${truncated.reason === 'invalid' ? ', or disk damage' : ''}).`,
      );
    }
    if (opened.pending.events > 0) {
      this.host.report(
        'warn',
        `nestjs-audit: replaying ${opened.pending.events} spooled audit event(s) left by an earlier run.`,
      );
      this.schedule(0);
    }
  }

  /** Starts a replay after `delay` ms unless one is running or scheduled. */
  schedule(delay = this.host.retryIntervalMs): void {
    if (this.running || this.timer || this.host.closing()) return;
    // The spool is durable: a pending replay must not keep a finished script alive.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.loop().then(
        (done) => {
          this.running = undefined;
          if (!done) this.schedule();
        },
        (error: unknown) => {
          this.running = undefined;
          this.host.failed(error, 0);
          this.host.report('error', `nestjs-audit: spool replay failed: ${messageOf(error)}`);
          this.schedule();
        },
      );
    }, delay);
    this.timer.unref();
  }

  /** Cancels a scheduled replay and waits for a running step to finish. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running) await this.running;
  }

  /** Moves spooled batches into the store; returns false when the store failed (retry later). */
  private async loop(): Promise<boolean> {
    const { spool, host } = this;
    while (!host.closing()) {
      const next = await spool.peek(host.maxBatch);
      if (!next) {
        if (spool.stats().events > 0) continue;
        host.emptied();
        return true;
      }
      try {
        // Stores ignore event ids they already hold, so a batch replayed twice (a crash between
        // the commit and the acknowledgement) is not duplicated.
        await host.store(next.events, next.alarms);
      } catch (error) {
        host.failed(error, next.events.length);
        return false;
      }
      host.stored(next.events.length);
      await spool.acknowledge(next.token);
    }
    return true;
  }
}
