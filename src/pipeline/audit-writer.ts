import { setImmediate as nextMacrotask } from 'node:timers/promises';
import type { AlarmOutboxEntry } from '../stores/alarm-outbox-model';
import type { AuditEvent } from '../event/audit-event';
import type { AuditStore } from '../stores/audit-store';
import {
  AuditCommitError,
  NO_LINES,
  type AuditLinePort,
  type AuditWriteReceipt,
  type AuditWriterHooks,
  type AuditWriterSettings,
  type AuditWriterStats,
} from './audit-writer.contract';
import { messageOf, toError } from '../common/message-of';
import { AuditWriterCounters } from './audit-writer-counters';
import { lossOf, shownIds } from './lost-events';
import type { AuditSpool } from './spool';
import { SpoolReplay, type SpoolReplayHost } from './spool-replay';

interface PendingWrite {
  event: AuditEvent;
  /** Alarm outbox entries the event raised: committed in the same transaction. */
  alarms?: readonly AlarmOutboxEntry[];
  /** Present in `ack` mode: the writer waits for the outcome. */
  settle?: { resolve: (receipt: AuditWriteReceipt) => void; reject: (error: unknown) => void };
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
 *
 * ECS lines (`hooks.lines`) follow the store, never lead it: `ack` writes a batch's lines once
 * it is committed or spooled, `async` once the event is queued; a lost event (not committed in
 * `ack`, dropped, lost at shutdown) gets an `audit.pipeline_failure` line instead. While the
 * stream is full the writer waits for it, before settling a batch or queueing an event.
 */
export class AuditWriter {
  private readonly queue: PendingWrite[] = [];
  /** Events of the batch being committed: still in memory, so they count against `maxQueue`. */
  private inFlight = 0;
  private readonly roomWaiters: (() => void)[] = [];
  /** `async` writes not yet in the queue (waiting for the stream or for room). */
  private readonly entering = new Set<Promise<AuditWriteReceipt>>();
  private flushing: Promise<void> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly replay: SpoolReplay | undefined;
  private degraded = false;
  private closing = false;
  private readonly counters = new AuditWriterCounters();
  private readonly report: NonNullable<AuditWriterHooks['report']>;
  private readonly onAlarmsStored: () => void;
  private readonly lines: AuditLinePort;

  constructor(
    private readonly store: AuditStore,
    private readonly settings: AuditWriterSettings,
    private readonly spool: AuditSpool | undefined,
    hooks: AuditWriterHooks = {},
  ) {
    this.report = hooks.report ?? (() => undefined);
    this.onAlarmsStored = hooks.onAlarmsStored ?? (() => undefined);
    this.lines = hooks.lines ?? NO_LINES;
    this.replay = spool ? new SpoolReplay(spool, this.replayHost()) : undefined;
  }

  /** Opens the spool (if any) and replays what an earlier run left in it. */
  async start(): Promise<void> {
    await this.replay?.open();
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
    const entering = this.enqueue(event, alarms);
    const done = (): void => void this.entering.delete(entering);
    this.entering.add(entering);
    entering.then(done, done);
    return entering;
  }

  /** Current counters and state. */
  stats(): AuditWriterStats {
    return this.counters.stats(
      this.queue.length + this.inFlight,
      this.degraded || this.retryTimer !== undefined,
    );
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
    // Writers still on their way into the queue (closing gives them room) join the last flush.
    this.releaseRoom();
    while (this.entering.size > 0) await Promise.allSettled([...this.entering]);
    while (this.flushing || this.queue.length > 0) {
      if (this.flushing) await this.flushing;
      else this.startFlushing();
    }
    await this.replay?.stop();
    this.releaseRoom();
    await this.spool?.close();
  }

  private async enqueue(
    event: AuditEvent,
    alarms: readonly AlarmOutboxEntry[] | undefined,
  ): Promise<AuditWriteReceipt> {
    // The line is written as the event is queued: while the stream is full the request waits
    // here, so a slow stream slows requests down instead of losing lines.
    const writable = this.lines.whenWritable();
    if (writable) await writable;
    while (this.queue.length + this.inFlight >= this.settings.maxQueue && !this.closing) {
      if (this.settings.onQueueFull === 'drop') {
        this.drop(event);
        return 'dropped';
      }
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
    this.queue.push(alarms && alarms.length > 0 ? { event, alarms } : { event });
    this.lines.writeEvents([event]);
    if (this.queue.length >= this.settings.maxBatch) this.startFlushing();
    else this.armFlushTimer();
    return 'queued';
  }

  private drop(event: AuditEvent): void {
    this.counters.dropped += 1;
    const message = `nestjs-audit: audit queue full (${this.settings.maxQueue} events): dropped event ${event.id} (${this.counters.dropped} dropped so far). Raise durability.maxQueue, use durability.onQueueFull: 'block', or fix the store.`;
    // The log is rate-limited; the stream names every dropped event, as it would have its line.
    if (this.counters.dropped === 1 || this.counters.dropped % 1000 === 0) {
      this.report('error', message);
    }
    this.lines.writeFailure(lossOf('queue_full', [event], this.store.engine, message));
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

  /**
   * Commits one batch; returns true when it was put back for a later retry. The store call is
   * awaited here rather than through a helper: each async frame is a promise more per commit,
   * and while a request context is on every promise runs its hooks.
   */
  private async commitBatch(batch: PendingWrite[]): Promise<boolean> {
    const events = batch.map((p) => p.event);
    const alarms = batch.flatMap((p) => p.alarms ?? []);
    let failure: unknown;
    if (!this.degraded) {
      let stored = true;
      try {
        await this.appendToStore(events, alarms);
      } catch (error) {
        stored = false;
        failure = error;
        this.counters.failure(error, events.length);
      }
      if (stored) {
        this.counters.commit(events.length);
        const waiting = this.accept(batch, events, 'committed');
        if (waiting) await waiting;
        return false;
      }
    }
    if (this.spool) {
      const spooled = await this.trySpool(events, alarms, failure);
      if (spooled === true) {
        const waiting = this.accept(batch, events, 'spooled');
        if (waiting) await waiting;
        return false;
      }
      failure = spooled.error;
    }
    return this.giveUp(batch, events, failure);
  }

  /** Appends a batch the store refused to the spool; `true`, or the error it failed with. */
  private async trySpool(
    events: readonly AuditEvent[],
    alarms: readonly AlarmOutboxEntry[],
    storeFailure: unknown,
  ): Promise<true | { error: unknown }> {
    try {
      await this.spool?.append(events, alarms);
    } catch (error) {
      this.counters.failure(error, 0);
      return { error };
    }
    this.counters.spooled += events.length;
    if (!this.degraded) {
      this.degraded = true;
      this.report(
        'error',
        `nestjs-audit: audit.pipeline_failure: the ${this.store.engine} store failed (${messageOf(storeFailure)}); spooling events to disk until it answers again.`,
      );
    }
    this.replay?.schedule();
    return true;
  }

  /**
   * Settles a batch that was committed or spooled, after writing its lines (`ack`). Returns a
   * promise only when it has to wait for the stream, so the common case adds no async step.
   */
  private accept(
    batch: readonly PendingWrite[],
    events: readonly AuditEvent[],
    receipt: 'committed' | 'spooled',
  ): Promise<void> | undefined {
    const settle = (): void => {
      for (const p of batch) p.settle?.resolve(receipt);
    };
    // In 'async' mode the lines were written when the events were queued.
    if (this.settings.durability === 'ack') {
      this.lines.writeEvents(events);
      // Back-pressure: while the stream is full, neither these writers nor the next commit go on.
      const writable = this.lines.whenWritable();
      if (writable) return writable.then(settle);
    }
    settle();
    return undefined;
  }

  /** A batch neither committed nor spooled; returns true when it was put back for a retry. */
  private giveUp(batch: PendingWrite[], events: readonly AuditEvent[], failure: unknown): boolean {
    const ids = events.map((e) => e.id);
    const engine = this.store.engine;
    if (this.settings.durability === 'ack') {
      const error = new AuditCommitError(
        `nestjs-audit: audit.pipeline_failure: could not commit ${ids.length} audit event(s) to the ${engine} store: ${messageOf(failure)}`,
        ids,
        { cause: failure },
      );
      this.report('error', `${error.message} [events: ${shownIds(ids)}]`);
      this.lines.writeFailure(lossOf('store_failure', events, engine, error.message, failure));
      for (const p of batch) p.settle?.reject(error);
      return false;
    }
    if (this.closing) {
      this.counters.lost += events.length;
      const message = `nestjs-audit: audit.pipeline_failure: ${events.length} queued audit event(s) are lost at shutdown, the ${engine} store failed: ${messageOf(failure)}`;
      this.report('error', `${message} [events: ${shownIds(ids)}]`);
      this.lines.writeFailure(lossOf('shutdown', events, engine, message, failure));
      return false;
    }
    // Async without a usable spool: keep the batch at the head of the queue and retry later.
    this.queue.unshift(...batch);
    this.report(
      'error',
      `nestjs-audit: audit.pipeline_failure: the ${engine} store failed (${messageOf(failure)}); ${this.queue.length} event(s) wait in memory, retrying in ${this.settings.retryIntervalMs} ms.`,
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.startFlushing();
    }, this.settings.retryIntervalMs);
    return true;
  }

  /**
   * One transaction of events and the alarms they raised; third-party stores see one argument.
   * A store that throws instead of rejecting is turned into a rejection, as an async function
   * would, without being one (see {@link commitBatch}).
   */
  private appendToStore(
    events: readonly AuditEvent[],
    alarms: readonly AlarmOutboxEntry[],
  ): Promise<void> {
    try {
      if (alarms.length === 0) return Promise.resolve(this.store.append(events));
      return Promise.resolve(this.store.append(events, alarms)).then(() => this.onAlarmsStored());
    } catch (error) {
      return Promise.reject(toError(error));
    }
  }

  private replayHost(): SpoolReplayHost {
    return {
      maxBatch: this.settings.maxBatch,
      retryIntervalMs: this.settings.retryIntervalMs,
      closing: () => this.closing,
      store: (events, alarms) => this.appendToStore(events, alarms),
      stored: (events) => {
        this.counters.commit(events);
        this.counters.replayed += events;
      },
      failed: (error, events) => this.counters.failure(error, events),
      emptied: () => {
        if (!this.degraded) return;
        this.degraded = false;
        this.report(
          'log',
          `nestjs-audit: the ${this.store.engine} store answers again; the audit spool is empty.`,
        );
      },
      report: (level, message) => this.report(level, message),
    };
  }

  private clearTimers(): void {
    for (const timer of [this.flushTimer, this.retryTimer]) {
      if (timer) clearTimeout(timer);
    }
    this.flushTimer = undefined;
    this.retryTimer = undefined;
  }
}
