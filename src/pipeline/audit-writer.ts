import { setImmediate as nextMacrotask } from 'node:timers/promises';
import type { AuditEvent } from '../event/audit-event';
import type { AuditStore } from '../stores/audit-store';

interface PendingWrite {
  event: AuditEvent;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Counters of the write path, for health reports and tests. */
export interface AuditWriterStats {
  /** Events committed to the store. */
  committed: number;
  /** Events whose commit failed. */
  failed: number;
  /** Store transactions run. */
  commits: number;
  /** Events waiting for a commit right now. */
  pending: number;
  /** Message of the last commit failure. */
  lastError?: string;
}

/**
 * Group commit: every event submitted while a commit runs is committed together by the next one,
 * so concurrent requests share transactions instead of paying one each. Groups larger than
 * `maxBatch` are split, yielding to the event loop between chunks so a burst never blocks it for
 * long (a 1000-row SQLite transaction blocks 40-50 ms; 100 rows a few).
 */
export class AuditWriter {
  private readonly queue: PendingWrite[] = [];
  private flushing: Promise<void> | undefined;
  private readonly counters = { committed: 0, failed: 0, commits: 0 };
  private lastError: string | undefined;

  constructor(
    private readonly store: AuditStore,
    private readonly maxBatch: number,
  ) {}

  /** Queues an event; the promise settles when its transaction has committed (or failed). */
  write(event: AuditEvent): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      this.startFlushing();
    });
  }

  /** Resolves once every event queued so far has been committed or has failed. */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  /** Current counters. */
  stats(): AuditWriterStats {
    return {
      ...this.counters,
      pending: this.queue.length,
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
    };
  }

  private startFlushing(): void {
    if (this.flushing) return;
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = undefined;
      // A write may have arrived between the loop's last check and this callback.
      if (this.queue.length > 0) this.startFlushing();
    });
  }

  private async flushLoop(): Promise<void> {
    // Let the requests that arrived in the same turn of the event loop join the first commit.
    await nextMacrotask();
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        await this.store.append(batch.map((p) => p.event));
        this.counters.commits += 1;
        this.counters.committed += batch.length;
        for (const p of batch) p.resolve();
      } catch (error) {
        this.counters.failed += batch.length;
        this.lastError = error instanceof Error ? error.message : String(error);
        for (const p of batch) p.reject(error);
      }
      if (this.queue.length > 0) await nextMacrotask();
    }
  }
}
