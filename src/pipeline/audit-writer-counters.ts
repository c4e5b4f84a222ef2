import { isoTime } from '../common/iso-time';
import { messageOf } from '../common/message-of';
import type { AuditWriterStats } from './audit-writer.contract';

/** What the writer counts, and when it last committed or failed: the body of its stats. */
export class AuditWriterCounters {
  committed = 0;
  failed = 0;
  commits = 0;
  dropped = 0;
  lost = 0;
  spooled = 0;
  replayed = 0;
  private lastError: { message: string; at: string } | undefined;
  /** When the last commit was counted, in ms (formatted only when stats are read). */
  private lastCommitAt: number | undefined;

  /** One transaction committed `events` events. */
  commit(events: number): void {
    this.lastCommitAt = Date.now();
    this.commits += 1;
    this.committed += events;
  }

  /** An attempt to store `events` events failed with `error`. */
  failure(error: unknown, events: number): void {
    this.failed += events;
    this.lastError = { message: messageOf(error), at: new Date().toISOString() };
  }

  /** The counts, with the writer's own `pending` and `degraded`. */
  stats(pending: number, degraded: boolean): AuditWriterStats {
    return {
      committed: this.committed,
      failed: this.failed,
      commits: this.commits,
      pending,
      dropped: this.dropped,
      lost: this.lost,
      spooled: this.spooled,
      replayed: this.replayed,
      degraded,
      ...(this.lastError
        ? { lastError: this.lastError.message, lastErrorAt: this.lastError.at }
        : {}),
      ...(this.lastCommitAt === undefined ? {} : { lastCommitAt: isoTime(this.lastCommitAt) }),
    };
  }
}
