import { setImmediate as nextMacrotask } from 'node:timers/promises';
import type { AlarmOutboxEntry } from '../alarms/alarm-outbox';
import type { AuditEvent } from '../event/audit-event';
import type { AuditStore } from '../stores/audit-store';
import type { AuditSpool } from './spool';

/** How a write ended: committed to the store, fsynced to the spool, queued (async) or dropped. */
export type AuditWriteReceipt = 'committed' | 'spooled' | 'queued' | 'dropped';

/** Settings of {@link AuditWriter}; see the module options of the same names. */
export interface AuditWriterSettings {
  durability: 'ack' | 'async';
  maxBatch: number;
  flushIntervalMs: number;
  maxQueue: number;
  onQueueFull: 'block' | 'drop';
  retryIntervalMs: number;
}

/** Counters and state of the write path, as `AuditService.health()` reports them. */
export interface AuditWriterStats {
  /** Events committed to the store (directly or by spool replay). */
  committed: number;
  /** Events whose commit attempt failed (each attempt counts). */
  failed: number;
  /** Store transactions run. */
  commits: number;
  /** Events waiting in memory for a commit. */
  pending: number;
  /** Events discarded because the async queue was full (`onQueueFull: 'drop'`). */
  dropped: number;
  /** Events that could not be committed nor spooled and are gone (only at shutdown in async mode). */
  lost: number;
  /** Events written to the spool. */
  spooled: number;
  /** Events replayed from the spool into the store. */
  replayed: number;
  /** Message of the last failure. */
  lastError?: string;
  /** When the last failure happened (ISO-8601). */
  lastErrorAt?: string;
  /** When the last successful commit happened (ISO-8601). */
  lastCommitAt?: string;
  /** True while the store is known to be failing and events are diverted or retried. */
  degraded: boolean;
}

/** Thrown to the writer of an event that could neither be committed nor spooled. */
export class AuditCommitError extends Error {
  override readonly name = 'AuditCommitError';

  constructor(
    message: string,
    /** Ids of the events of the failed batch. */
    readonly eventIds: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface PendingWrite {
  event: AuditEvent;
  /** Alarm outbox entries the event raised: committed in the same transaction. */
  alarms?: readonly AlarmOutboxEntry[];
  /** Present in `ack` mode: the writer waits for the outcome. */
  settle?: { resolve: (receipt: AuditWriteReceipt) => void; reject: (error: unknown) => void };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The write path between the pipeline and the store.
 *
 * Group commit: every event submitted while a commit runs is committed together by the next one,
 * in transactions of at most `maxBatch` events with a yield to the event loop between them (a
 * 1000-row SQLite transaction blocks 40-50 ms; 100 rows a few).
 *
 * - `ack`: `write()` settles once the event's transaction committed (or the event was spooled).
 * - `async`: `write()` settles once the event is queued; the bounded queue is flushed when it holds
 *   `maxBatch` events or every `flushIntervalMs`; a full queue blocks or drops.
 *
 * When the store fails and a spool is configured, batches are fsynced to the spool instead and
 * the writer stays degraded (new batches go straight to the spool) until a background replay has
 * emptied it into the store. Without a spool, `ack` writes reject with {@link AuditCommitError}
 * and `async` batches stay queued and are retried every `retryIntervalMs`.
 */
export class AuditWriter {
  private readonly queue: PendingWrite[] = [];
  /** Events of the batch being committed: still in memory, so they count against `maxQueue`. */
  private inFlight = 0;
  private readonly roomWaiters: (() => void)[] = [];
  private flushing: Promise<void> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private replayTimer: NodeJS.Timeout | undefined;
  private replaying: Promise<void> | undefined;
  private degraded = false;
  private closing = false;
  private readonly counters = {
    committed: 0,
    failed: 0,
    commits: 0,
    dropped: 0,
    lost: 0,
    spooled: 0,
    replayed: 0,
  };
  private lastError: { message: string; at: string } | undefined;
  private lastCommitAt: string | undefined;

  constructor(
    private readonly store: AuditStore,
    private readonly settings: AuditWriterSettings,
    private readonly spool: AuditSpool | undefined,
    private readonly report: (level: 'error' | 'warn' | 'log', message: string) => void = () =>
      undefined,
    /** Called after a commit that stored alarm outbox entries (to wake the dispatcher). */
    private readonly onAlarmsStored: () => void = () => undefined,
  ) {}

  /** Opens the spool (if any) and replays what an earlier run left in it. */
  async start(): Promise<void> {
    if (!this.spool) return;
    const opened = await this.spool.open();
    if (opened.truncated) {
      this.report(
        'warn',
        `nestjs-audit: the audit spool ended with ${opened.truncated.bytes} byte(s) of an ${opened.truncated.reason} frame at offset ${opened.truncated.offset}, cut off (a crash in the middle of an append that had not been confirmed${opened.truncated.reason === 'invalid' ? ', or disk damage' : ''}).`,
      );
    }
    const pending = opened.pending;
    if (pending.events > 0) {
      this.report(
        'warn',
        `nestjs-audit: replaying ${pending.events} spooled audit event(s) left by an earlier run.`,
      );
      this.scheduleReplay(0);
    }
  }

  /**
   * Submits an event. In `ack` mode the promise settles when the event is committed or spooled,
   * and rejects with {@link AuditCommitError} when neither worked; in `async` mode it settles once
   * the event is queued (after waiting for room, or with `'dropped'`).
   */
  write(event: AuditEvent, alarms?: readonly AlarmOutboxEntry[]): Promise<AuditWriteReceipt> {
    if (this.settings.durability === 'ack') {
      return new Promise<AuditWriteReceipt>((resolve, reject) => {
        this.queue.push(
          alarms && alarms.length > 0
            ? { event, alarms, settle: { resolve, reject } }
            : { event, settle: { resolve, reject } },
        );
        this.startFlushing();
      });
    }
    return this.enqueue(event, alarms);
  }

  /** Current counters and state. */
  stats(): AuditWriterStats {
    return {
      ...this.counters,
      pending: this.queue.length + this.inFlight,
      degraded: this.degraded || this.retryTimer !== undefined,
      ...(this.lastError
        ? { lastError: this.lastError.message, lastErrorAt: this.lastError.at }
        : {}),
      ...(this.lastCommitAt ? { lastCommitAt: this.lastCommitAt } : {}),
    };
  }

  /** Pending spool content, when a spool is configured. */
  spoolStats(): { bytes: number; events: number } | undefined {
    const stats = this.spool?.stats();
    return stats ? { bytes: stats.bytes, events: stats.events } : undefined;
  }

  /**
   * Flushes everything queued (one last attempt; what fails goes to the spool, or is counted as
   * lost in `async` mode), lets a running replay step finish, and closes the spool.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.clearTimers();
    while (this.flushing || this.queue.length > 0) {
      if (this.flushing) await this.flushing;
      else this.startFlushing();
    }
    if (this.replaying) await this.replaying;
    this.releaseRoom();
    await this.spool?.close();
  }

  private async enqueue(
    event: AuditEvent,
    alarms: readonly AlarmOutboxEntry[] | undefined,
  ): Promise<AuditWriteReceipt> {
    while (this.queue.length + this.inFlight >= this.settings.maxQueue && !this.closing) {
      if (this.settings.onQueueFull === 'drop') {
        this.counters.dropped += 1;
        if (this.counters.dropped === 1 || this.counters.dropped % 1000 === 0) {
          this.report(
            'error',
            `nestjs-audit: audit queue full (${this.settings.maxQueue} events): dropped event ${event.id} (${this.counters.dropped} dropped so far). Raise maxQueue, use onQueueFull: 'block', or fix the store.`,
          );
        }
        return 'dropped';
      }
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
    this.queue.push(alarms && alarms.length > 0 ? { event, alarms } : { event });
    if (this.queue.length >= this.settings.maxBatch) this.startFlushing();
    else this.armFlushTimer();
    return 'queued';
  }

  private armFlushTimer(): void {
    if (this.flushTimer || this.flushing || this.retryTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.startFlushing();
    }, this.settings.flushIntervalMs);
  }

  private releaseRoom(): void {
    while (
      this.roomWaiters.length > 0 &&
      (this.queue.length + this.inFlight < this.settings.maxQueue || this.closing)
    ) {
      this.roomWaiters.shift()?.();
    }
  }

  private startFlushing(): void {
    if (this.flushing || (this.retryTimer && !this.closing)) return;
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = undefined;
      // A write may have arrived between the loop's last check and this callback.
      if (this.queue.length === 0) return;
      if (this.settings.durability === 'ack' || this.queue.length >= this.settings.maxBatch)
        this.startFlushing();
      else this.armFlushTimer();
    });
  }

  private async flushLoop(): Promise<void> {
    // Let the writes that arrived in the same turn of the event loop join the first commit.
    await nextMacrotask();
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.settings.maxBatch);
      // Room is freed only once the batch has left memory: a failed batch goes back in the queue.
      this.inFlight = batch.length;
      let retry: boolean;
      try {
        retry = await this.commitBatch(batch);
      } finally {
        this.inFlight = 0;
        this.releaseRoom();
      }
      if (retry) return;
      if (this.queue.length > 0) await nextMacrotask();
    }
  }

  /** Commits one batch; returns true when it was put back for a later retry. */
  private async commitBatch(batch: PendingWrite[]): Promise<boolean> {
    const events = batch.map((p) => p.event);
    const alarms = batch.flatMap((p) => p.alarms ?? []);
    let failure: unknown;
    if (!this.degraded) {
      try {
        await this.appendToStore(events, alarms);
        this.lastCommitAt = new Date().toISOString();
        this.counters.commits += 1;
        this.counters.committed += events.length;
        for (const p of batch) p.settle?.resolve('committed');
        return false;
      } catch (error) {
        failure = error;
        this.noteFailure(error, events.length);
      }
    }
    if (this.spool) {
      try {
        await this.spool.append(events, alarms);
        this.counters.spooled += events.length;
        if (!this.degraded) {
          this.degraded = true;
          this.report(
            'error',
            `nestjs-audit: audit.pipeline_failure: the ${this.store.engine} store failed (${messageOf(failure)}); spooling events to disk until it answers again.`,
          );
        }
        for (const p of batch) p.settle?.resolve('spooled');
        this.scheduleReplay();
        return false;
      } catch (spoolError) {
        failure = spoolError;
        this.noteFailure(spoolError, 0);
      }
    }
    const ids = events.map((e) => e.id);
    const shown =
      ids.length > 10
        ? `${ids.slice(0, 10).join(', ')} (+${ids.length - 10} more)`
        : ids.join(', ');
    if (this.settings.durability === 'ack') {
      const error = new AuditCommitError(
        `nestjs-audit: audit.pipeline_failure: could not commit ${ids.length} audit event(s) to the ${this.store.engine} store: ${messageOf(failure)}`,
        ids,
        { cause: failure },
      );
      this.report('error', `${error.message} [events: ${shown}]`);
      for (const p of batch) p.settle?.reject(error);
      return false;
    }
    if (this.closing) {
      this.counters.lost += events.length;
      this.report(
        'error',
        `nestjs-audit: audit.pipeline_failure: ${events.length} queued audit event(s) are lost at shutdown, the ${this.store.engine} store failed: ${messageOf(failure)} [events: ${shown}]`,
      );
      return false;
    }
    // Async without a usable spool: keep the batch at the head of the queue and retry later.
    this.queue.unshift(...batch);
    this.report(
      'error',
      `nestjs-audit: audit.pipeline_failure: the ${this.store.engine} store failed (${messageOf(failure)}); ${this.queue.length} event(s) wait in memory, retrying in ${this.settings.retryIntervalMs} ms.`,
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.startFlushing();
    }, this.settings.retryIntervalMs);
    return true;
  }

  /** One transaction of events and the alarms they raised; third-party stores see one argument. */
  private async appendToStore(
    events: readonly AuditEvent[],
    alarms: readonly AlarmOutboxEntry[],
  ): Promise<void> {
    if (alarms.length === 0) {
      await this.store.append(events);
      return;
    }
    await this.store.append(events, alarms);
    this.onAlarmsStored();
  }

  private noteFailure(error: unknown, events: number): void {
    this.counters.failed += events;
    this.lastError = { message: messageOf(error), at: new Date().toISOString() };
  }

  private scheduleReplay(delay = this.settings.retryIntervalMs): void {
    if (!this.spool || this.replaying || this.replayTimer || this.closing) return;
    // The spool is durable: a pending replay must not keep a finished script alive.
    this.replayTimer = setTimeout(() => {
      this.replayTimer = undefined;
      this.replaying = this.replayLoop().then(
        (done) => {
          this.replaying = undefined;
          if (!done) this.scheduleReplay();
        },
        (error: unknown) => {
          this.replaying = undefined;
          this.noteFailure(error, 0);
          this.report('error', `nestjs-audit: spool replay failed: ${messageOf(error)}`);
          this.scheduleReplay();
        },
      );
    }, delay);
    this.replayTimer.unref();
  }

  /** Moves spooled batches into the store; returns false when the store failed (retry later). */
  private async replayLoop(): Promise<boolean> {
    const spool = this.spool;
    if (!spool) return true;
    while (!this.closing) {
      const next = await spool.peek(this.settings.maxBatch);
      if (!next) {
        if (spool.stats().events > 0) continue;
        if (this.degraded) {
          this.degraded = false;
          this.report(
            'log',
            `nestjs-audit: the ${this.store.engine} store answers again; the audit spool is empty.`,
          );
        }
        return true;
      }
      try {
        // Stores ignore event ids they already hold, so a batch replayed twice (a crash between
        // the commit and the acknowledgement) is not duplicated.
        await this.appendToStore(next.events, next.alarms);
      } catch (error) {
        this.noteFailure(error, next.events.length);
        return false;
      }
      this.lastCommitAt = new Date().toISOString();
      this.counters.commits += 1;
      this.counters.committed += next.events.length;
      this.counters.replayed += next.events.length;
      await spool.acknowledge(next.token);
    }
    return true;
  }

  private clearTimers(): void {
    for (const timer of [this.flushTimer, this.retryTimer, this.replayTimer]) {
      if (timer) clearTimeout(timer);
    }
    this.flushTimer = undefined;
    this.retryTimer = undefined;
    this.replayTimer = undefined;
  }
}
