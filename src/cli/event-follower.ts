import type { AuditEvent } from '../event/audit-event';
import { decodeCursor, type AuditCursor, type NormalizedAuditQuery } from '../query/audit-query';
import type { AuditStore } from '../stores/audit-store';
import { compareEventPosition } from '../event/event-columns';

/** Options of {@link EventFollower}. */
export interface EventFollowerOptions {
  /** Filters every read applies (its `limit` and `before` are ignored). */
  query: NormalizedAuditQuery;
  /**
   * How far behind the newest event seen a poll still looks for new commits, in milliseconds.
   * An event is stamped when it happens and committed a little later (group commit, several
   * application instances), so a commit can carry an older timestamp than one already shown.
   */
  lookbackMs: number;
  /**
   * Page size of the reads.
   * @default 1000
   */
  pageSize?: number;
}

function position(event: AuditEvent): AuditCursor {
  return { ts: Date.parse(event.timestamp), id: event.id };
}

function oldestFirst(events: AuditEvent[]): AuditEvent[] {
  return events.sort((a, b) => compareEventPosition(position(a), position(b)));
}

/**
 * Finds the events committed since its last look, for `tail --follow`.
 *
 * Stores have no "committed after" order, only event time. So each poll re-reads a window of
 * event time ending at the newest event seen and starting `lookbackMs` before it, and returns
 * the events of that window it has not returned before. Events sharing a millisecond, or
 * committed late with an older timestamp, are therefore neither skipped nor repeated as long as
 * they land inside the window. Memory holds the ids of the window only.
 */
export class EventFollower {
  /** Id to event time of every event returned or skipped whose time is still in the window. */
  private readonly seen = new Map<string, number>();
  private newestTs: number | undefined;
  private readonly pageSize: number;

  /**
   * @param store the store to read.
   * @param options filters and window.
   */
  constructor(
    private readonly store: AuditStore,
    private readonly options: EventFollowerOptions,
  ) {
    this.pageSize = options.pageSize ?? 1000;
  }

  /**
   * The latest `count` events, oldest first, plus any event committed meanwhile that is newer
   * than the oldest of them. Every event of the window then counts as seen, so the first
   * {@link poll} returns only what is committed afterwards.
   * @param now current time, the reference of the window when the store has no event yet.
   */
  async start(count: number, now: number): Promise<AuditEvent[]> {
    const latest =
      count > 0
        ? (await this.store.query({ ...this.options.query, limit: count, before: undefined })).items
        : [];
    const newest = latest[0];
    const reference = newest === undefined ? now : Date.parse(newest.timestamp);
    const windowEvents = await this.readSince(reference - this.options.lookbackMs);
    const shown = new Set(latest.map((event) => event.id));
    const oldest = latest[latest.length - 1];
    const result = [...latest];
    for (const event of windowEvents) {
      if (shown.has(event.id)) continue;
      // Newer than the oldest of the latest page, yet not on it: committed between the reads
      // (with no latest page, any event of the window was).
      const between =
        oldest === undefined
          ? count > 0
          : compareEventPosition(position(event), position(oldest)) > 0;
      if (between) {
        result.push(event);
      }
    }
    this.newestTs = reference;
    this.remember([...latest, ...windowEvents]);
    this.prune();
    return oldestFirst(result);
  }

  /** The events committed since the last call (or {@link start}), oldest first, each once. */
  async poll(now: number): Promise<AuditEvent[]> {
    const reference = this.newestTs ?? now;
    const events = await this.readSince(reference - this.options.lookbackMs);
    const fresh = events.filter((event) => !this.seen.has(event.id));
    this.remember(fresh);
    this.prune();
    return oldestFirst(fresh);
  }

  private remember(events: readonly AuditEvent[]): void {
    for (const event of events) {
      const ts = Date.parse(event.timestamp);
      this.seen.set(event.id, ts);
      if (this.newestTs === undefined || ts > this.newestTs) this.newestTs = ts;
    }
  }

  /** Forgets ids older than the window: no later read can return them again. */
  private prune(): void {
    if (this.newestTs === undefined) return;
    const start = this.newestTs - this.options.lookbackMs;
    for (const [id, ts] of this.seen) {
      if (ts < start) this.seen.delete(id);
    }
  }

  /** Every matching event at or after `fromMs`, paging through the keyset cursor. */
  private async readSince(fromMs: number): Promise<AuditEvent[]> {
    const query: NormalizedAuditQuery = {
      ...this.options.query,
      fromMs: Math.max(fromMs, this.options.query.fromMs ?? fromMs),
      limit: this.pageSize,
      before: undefined,
    };
    const events: AuditEvent[] = [];
    for (;;) {
      const page = await this.store.query(query);
      events.push(...page.items);
      if (page.nextCursor === undefined) return events;
      query.before = decodeCursor(page.nextCursor);
    }
  }
}
