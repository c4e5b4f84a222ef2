import { AuditLogger } from '../common/audit-logger';
import { chainSourceOf } from '../integrity/chain-source';
import { CheckpointWriter } from '../integrity/checkpoint-writer';
import type { ChainVerification } from '../integrity/verify';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type BeforeApplicationShutdown,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { AlarmOutboxEntry } from '../stores/alarm-outbox-model';
import { AuditAlarms, type AuditAlarmHealth } from '../alarms/audit-alarms';
import { AUDIT_RESOLVED_OPTIONS } from '../audit.constants';
import type { ResolvedAuditOptions } from '../audit.options';
import { AuditStream } from '../ecs/audit-stream';
import type { AuditEvent } from '../event/audit-event';
import { buildAuditEvent, type AuditEventDraft } from '../event/build-event';
import { takeAuditChangeSet } from '../event/change-set';
import { Redactor } from '../event/redact';
import { SerializationWarnings } from '../event/serialization-warnings';
import { AuditStore } from '../stores/audit-store';
import { sqlAppendOf } from '../stores/sql-append';
import { AuditWriter } from './audit-writer';
import type { AuditWriteReceipt, AuditWriterStats } from './audit-writer.contract';
import { AuditSpool } from './spool';
import { StreamRelay } from './stream-relay';
import { toError } from '../common/message-of';
import { AuditShutdownError } from '../common/audit-shutdown.error';

// Declared in src/common so the alarm dispatcher can use it too; exported here as before.

/** What `AuditService.health()` reports about the write path. */
export interface AuditHealth extends AuditWriterStats {
  /**
   * `up`: commits succeed. `degraded`: the store is failing but nothing is lost yet (events are
   * spooled, or queued for retry in async mode). `down`: the last commit failed and there is
   * nowhere else to put events (requests answer 503 in `ack` mode).
   */
  status: 'up' | 'degraded' | 'down';
  /** `audit.pipeline_failure` while the status is not `up`. */
  condition?: 'audit.pipeline_failure';
  /** The store engine, e.g. `sqlite`. */
  store: string;
  durability: 'ack' | 'async';
  onStoreFailure: 'fail' | 'spool';
  /** Most events the async queue holds. */
  maxQueue: number;
  /** Events and bytes waiting in the spool (with `onStoreFailure: 'spool'`). */
  spool?: { path: string; bytes: number; events: number };
  /** Alarm delivery, when alarms are configured (its status does not change `status`). */
  alarms?: AuditAlarmHealth;
  /**
   * The latest `AuditService.verify()` of this process, once one ran: whether the trail was
   * intact, up to which sequence number, when, and the break it found (it does not change
   * `status`).
   */
  integrity?: Pick<ChainVerification, 'intact' | 'verifiedTo' | 'verifiedAt' | 'break'>;
}

/**
 * The one write path: draft -> event (normalise, diff, redact, cap) -> writer (group commit,
 * failure policy, spool) -> ECS line. Both the interceptor and `AuditService.record()` go through
 * it; nothing else writes to a store, and the stream only shows what the store got (or will get
 * from the spool or the async queue).
 */
@Injectable()
export class AuditPipeline
  implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly redactor: Redactor;
  private readonly writer: AuditWriter;
  private readonly logger = new AuditLogger();
  /** Warns once per kind and class about state values that could not be serialised. */
  private readonly warnings = new SerializationWarnings((message) => this.logger.warn(message));
  private closed = false;
  /** Captures that will commit an event once their request or transaction is done. */
  private readonly inFlight = new Set<Promise<unknown>>();
  /** When shutdown stops waiting for {@link AuditPipeline.inFlight} (set when it begins). */
  private shutdownDeadline?: number;
  /** Keeps the lines of events other transactions committed until written (atomic mode). */
  private readonly relay: StreamRelay | undefined;
  /** Checkpoints of the store's chain head, when it keeps one and they are on. */
  private readonly checkpoints: CheckpointWriter | undefined;

  constructor(
    @Inject(AUDIT_RESOLVED_OPTIONS) private readonly options: ResolvedAuditOptions,
    private readonly store: AuditStore,
    private readonly stream: AuditStream,
    private readonly alarms: AuditAlarms,
  ) {
    this.redactor = new Redactor(options.redact, {
      allow: options.redactAllow,
      shapes: options.redactShapes,
    });
    const spool =
      options.onStoreFailure === 'spool'
        ? new AuditSpool({
            path: options.spoolPath,
            maxBytes: options.spoolMaxBytes,
            fileMode: options.fileMode,
          })
        : undefined;
    const chain = chainSourceOf(store);
    this.checkpoints =
      options.checkpoints && chain
        ? new CheckpointWriter(chain, options.checkpoints, {
            fileMode: options.fileMode,
            line: (checkpoint) => stream.writeCheckpoint(checkpoint),
            warn: (message) => this.logger.warn(`nestjs-audit: ${message}`),
          })
        : undefined;
    const checkpoints = this.checkpoints;
    this.writer = new AuditWriter(store, options, spool, {
      report: (level, message) => this.logger[level](message),
      onAlarmsStored: () => this.alarms.wake(),
      // Lines are written by the writer, once an event is committed, spooled or queued; they
      // also count towards the next checkpoint.
      lines: checkpoints
        ? {
            writeEvents: (events) => {
              stream.writeEvents(events);
              checkpoints.noteEvents(events.length);
            },
            writeFailure: (failure) => stream.writeFailure(failure),
            whenWritable: () => stream.whenWritable(),
          }
        : stream,
    });
    const backlog = sqlAppendOf(store);
    this.relay = backlog
      ? new StreamRelay(backlog, stream, (message) => this.logger.warn(`nestjs-audit: ${message}`))
      : undefined;
  }

  /** Opens the spool and replays what an earlier run left there. */
  async onModuleInit(): Promise<void> {
    await this.writer.start();
  }

  /**
   * Starts the periodic checkpoints; warns when async events could be lost on SIGTERM because
   * shutdown hooks are off.
   */
  onApplicationBootstrap(): void {
    this.checkpoints?.start();
    if (this.options.durability === 'async' && process.listenerCount('SIGTERM') === 0) {
      this.logger.warn(
        "nestjs-audit: durability 'async' keeps up to durability.maxQueue events in memory, and shutdown hooks are off, so a SIGTERM would lose them. Call app.enableShutdownHooks() before app.listen().",
      );
    }
  }

  /** Builds the event from a draft (pure, never touches I/O). */
  build(draft: AuditEventDraft): AuditEvent {
    return buildAuditEvent(draft, {
      redactor: this.redactor,
      maxValueBytes: this.options.maxValueBytes,
      maxEventBytes: this.options.maxEventBytes,
      arrayIdentityKeys: this.options.arrayIdentityKeys,
      maxArrayChanges: this.options.maxArrayChanges,
      entityRelations: this.options.entityRelations,
      warnings: this.warnings,
      privacy: this.options.privacy,
    });
  }

  /**
   * Hands the event to the writer, which writes its ECS line once the event is committed or
   * spooled (`ack`) or queued (`async`), and an `audit.pipeline_failure` line instead when it
   * is lost. While the stream is full, the returned promise waits for it.
   * @returns how it was written: `committed` or `spooled` (`ack`), `queued` or `dropped` (`async`).
   * @throws AuditCommitError when it could be neither committed nor spooled (`ack`).
   */
  commit(event: AuditEvent): Promise<AuditWriteReceipt> {
    // Plain promise plumbing rather than async functions: this runs for every audited request,
    // and each extra async frame costs a promise (and, with AsyncLocalStorage, its hooks).
    if (this.closed) {
      return Promise.reject(
        new AuditShutdownError(
          `nestjs-audit: cannot record "${event.action}" (event ${event.id}): the application has shut down. Record events before app.close().`,
        ),
      );
    }
    // Alarms ride in the event's own transaction (outbox): stored if and only if the event is.
    return this.writer.write(event, this.alarms.evaluate(event, takeAuditChangeSet(event)));
  }

  /**
   * Stores the outbox entries of an alarm raised by application code, in one transaction, and
   * wakes the dispatcher. Not spooled: the caller learns at once when the store is down.
   */
  async raiseAlarm(entries: readonly AlarmOutboxEntry[]): Promise<void> {
    if (this.closed) {
      throw new AuditShutdownError(
        'nestjs-audit: cannot raise an alarm: the application has shut down. Raise alarms before app.close().',
      );
    }
    await this.store.append([], entries);
    this.alarms.wake();
  }

  /** Builds and commits in one step; resolves with the event once it is committed (or queued). */
  submit(draft: AuditEventDraft): Promise<AuditEvent> {
    let event: AuditEvent;
    try {
      event = this.build(draft);
    } catch (error) {
      return Promise.reject(toError(error));
    }
    return this.commit(event).then(() => event);
  }

  /**
   * The events of drafts and the alarm entries they raise, for a store transaction the caller
   * runs itself (the ORM integrations' atomic mode). Nothing is written here: once that
   * transaction committed, hand the events to {@link AuditPipeline.published}.
   */
  prepare(drafts: readonly AuditEventDraft[]): {
    events: AuditEvent[];
    alarms: AlarmOutboxEntry[];
  } {
    if (this.closed) {
      throw new AuditShutdownError(
        'nestjs-audit: cannot record changes: the application has shut down. Write before app.close().',
      );
    }
    const events = drafts.map((draft) => this.build(draft));
    const alarms = events.flatMap(
      (event) => this.alarms.evaluate(event, takeAuditChangeSet(event)) ?? [],
    );
    return { events, alarms };
  }

  /**
   * Writes the ECS lines of events committed by another transaction (whose statements came from
   * the store's `appendStatements`, which keeps them in its relay backlog until the lines are
   * written), and wakes the alarms.
   */
  published(events: readonly AuditEvent[], raisedAlarms: boolean): void {
    this.stream.writeEvents(events);
    this.checkpoints?.noteEvents(events.length);
    this.relay?.written(events);
    if (raisedAlarms) this.alarms.wake();
  }

  /**
   * Sweeps the store's relay backlog every `periodMs` and writes the lines of events left there
   * that long (a crash between another transaction's commit and its lines); see
   * {@link AuditPipeline.published}. Does nothing for a store without one.
   */
  relayStream(periodMs: number): void {
    this.relay?.start(periodMs);
  }

  /**
   * Keeps shutdown waiting for `work`: a capture that will commit events once its request or
   * transaction is done (bounded by the `shutdownTimeoutMs` option).
   */
  track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    const done = (): void => void this.inFlight.delete(work);
    work.then(done, done);
    return work;
  }

  /** Write-path counters. */
  stats(): AuditWriterStats {
    return this.writer.stats();
  }

  /** State of the write path: status, queue depth, spool size, last error, drops. */
  health(): AuditHealth {
    const stats = this.writer.stats();
    const spool = this.writer.spoolStats();
    // Down while the latest commit attempt failed; ISO-8601 strings of one clock compare in order.
    const failing =
      stats.lastErrorAt !== undefined &&
      (stats.lastCommitAt === undefined || stats.lastErrorAt >= stats.lastCommitAt);
    let status: AuditHealth['status'] = 'up';
    if (stats.degraded || (spool && spool.events > 0)) status = 'degraded';
    else if (failing) status = 'down';
    const alarms = this.alarms.health();
    return {
      status,
      ...(status === 'up' ? {} : { condition: 'audit.pipeline_failure' as const }),
      store: this.store.engine,
      durability: this.options.durability,
      onStoreFailure: this.options.onStoreFailure,
      maxQueue: this.options.maxQueue,
      ...stats,
      ...(spool ? { spool: { path: this.options.spoolPath, ...spool } } : {}),
      ...(alarms ? { alarms } : {}),
    };
  }

  /**
   * Waits for the captures running when shutdown began, while the app's own connections (an ORM's
   * pool) are still open: other modules close them in their `onApplicationShutdown`, and a
   * handler cut off in the middle of its COMMIT cannot tell whether its change was committed.
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.settleInFlight(new Set(this.inFlight));
  }

  /**
   * Waits for every capture in flight, including those that start meanwhile, for at most
   * `shutdownTimeoutMs` (counted from the start of the app's shutdown once it began). The ORM
   * integrations call it before the ORM closes its pool: a handler whose client went away may
   * still be between its COMMIT and its events, and a pool closed under it leaves a committed
   * change unrecorded. Called outside a shutdown (a pool closed by the app at run time), it
   * leaves the shutdown's own deadline alone.
   */
  async settle(): Promise<void> {
    await this.settleInFlight(
      undefined,
      this.shutdownDeadline ?? Date.now() + this.options.shutdownTimeoutMs,
    );
  }

  /**
   * Flushes every queued event, stops alarm delivery (undelivered alarms stay in the outbox for
   * the next run), then closes the spool, the stream and the store.
   */
  async onApplicationShutdown(): Promise<void> {
    if (this.closed) return;
    await this.settleInFlight();
    this.closed = true;
    try {
      try {
        await this.writer.close();
        // After the last commit, so that it covers every event of this run.
        await this.checkpoints?.close();
      } finally {
        await this.alarms.stop();
      }
    } finally {
      try {
        await this.relay?.close();
        await this.stream.close();
      } finally {
        await this.store.close();
      }
    }
  }

  /**
   * Waits for captures still running (a handler whose client went away, a transaction between
   * its commit and its events), so that a change committed before SIGTERM is not left without
   * its event; gives up after `shutdownTimeoutMs`, naming how many were left.
   */
  private async settleInFlight(
    only?: ReadonlySet<Promise<unknown>>,
    deadline: number = (this.shutdownDeadline ??= Date.now() + this.options.shutdownTimeoutMs),
  ): Promise<void> {
    const pending = (): Promise<unknown>[] =>
      [...this.inFlight].filter((work) => only === undefined || only.has(work));
    for (let waiting = pending(); waiting.length > 0; waiting = pending()) {
      const left = deadline - Date.now();
      if (left <= 0) {
        this.logger.warn(
          `nestjs-audit: ${waiting.length} capture(s) still running after shutdownTimeoutMs (${this.options.shutdownTimeoutMs} ms); closing without their events. Raise shutdownTimeoutMs if requests take longer to finish.`,
        );
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, left)));
      await Promise.race([Promise.allSettled(waiting), timeout]);
      clearTimeout(timer);
    }
  }
}
