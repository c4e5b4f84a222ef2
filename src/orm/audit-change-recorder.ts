import { AuditLogger } from '../common/audit-logger';
import { Inject, Injectable } from '@nestjs/common';
import { AuditConfigurationError } from '../common/audit-configuration.error';
import { AUDIT_RESOLVED_OPTIONS } from '../audit.constants';
import type { ResolvedAuditOptions } from '../audit.options';
import { AuditContextStorage } from '../capture/audit-context';
import { RequestCapture } from '../capture/request-capture';
import { originOf, type AuditOrigin } from '../capture/request-facts';
import type { AuditEvent } from '../event/audit-event';
import type { AuditEventDraft } from '../event/build-event';
import { AuditPipeline } from '../pipeline/audit-pipeline';
import { AuditStore } from '../stores/audit-store';
import { sqlAppendOf, type AuditSqlDialect, type AuditSqlStatement } from '../stores/sql-append';
import { DEFAULT_RELAY_AFTER_MS, type OrmAuditOptions } from './orm-audit.options';
import { rowChangeDraft } from './row-change-draft';
import { TransactionChanges } from './transaction-changes';
import { messageOf } from '../common/message-of';

/** What an atomic transaction wrote for its changes, published once it committed. */
interface Prepared {
  events: AuditEvent[];
  raisedAlarms: boolean;
}

/**
 * Where the ORM integrations hand the row changes of each transaction: `begin()` when the
 * transaction starts (it remembers the request it belongs to), `committed()` once it committed.
 * A change of the target of the request's `@Audited` event becomes that event's change; any
 * other change is an event of its own, with the request's actor and request id (outside a
 * request, the service is the actor).
 */
@Injectable()
export class AuditChangeRecorder {
  private readonly logger = new AuditLogger();
  private readonly prepared = new WeakMap<TransactionChanges, Prepared>();

  constructor(
    @Inject(AUDIT_RESOLVED_OPTIONS) private readonly options: ResolvedAuditOptions,
    private readonly pipeline: AuditPipeline,
    private readonly contexts: AuditContextStorage,
    private readonly capture: RequestCapture,
    private readonly store: AuditStore,
  ) {}

  /** Opens the change set of a transaction that starts now, in the current request (if any). */
  begin(): TransactionChanges {
    return new TransactionChanges(this.contexts.current());
  }

  /**
   * The SQL dialect of the store's in-transaction append, or `undefined` when the store cannot
   * write in another connection's transaction (atomic mode needs one).
   */
  get atomicDialect(): AuditSqlDialect | undefined {
    return sqlAppendOf(this.store)?.sqlDialect;
  }

  /**
   * The one connection atomic statements may run on, when the store has one (a SQLite store
   * sharing the application's connection); `undefined` otherwise.
   */
  get atomicConnection(): object | undefined {
    return sqlAppendOf(this.store)?.sqlConnection;
  }

  /**
   * Starts what atomic mode needs besides the statements: the sweep that writes the ECS lines of
   * events whose process stopped between the commit and the lines.
   * @param integration - `nestjs-audit/typeorm` etc., for messages
   * @throws AuditConfigurationError when `relayAfterMs` is not a positive integer.
   */
  startAtomic(options: OrmAuditOptions, integration: string): void {
    const periodMs = options.relayAfterMs ?? DEFAULT_RELAY_AFTER_MS;
    if (!Number.isSafeInteger(periodMs) || periodMs <= 0) {
      throw new AuditConfigurationError(
        `${integration}: relayAfterMs must be a positive integer number of milliseconds, got ${String(options.relayAfterMs)}; omit it for the default of ${DEFAULT_RELAY_AFTER_MS}.`,
      );
    }
    this.pipeline.relayStream(periodMs);
  }

  /**
   * Atomic mode: the statements that insert the events of `changes` (and the alarm entries they
   * raise), to run in the transaction itself, right before its commit. Every change is then an
   * event of its own, committed with the data; the request's event records the attempt.
   * @throws AuditConfigurationError when the store cannot write in the application's transaction,
   *   or in another dialect than `dialect`.
   */
  async atomicStatements(
    changes: TransactionChanges,
    dialect: AuditSqlDialect,
  ): Promise<AuditSqlStatement[]> {
    const append = sqlAppendOf(this.store);
    if (!append || append.sqlDialect !== dialect) {
      throw new AuditConfigurationError(
        `nestjs-audit: atomic ORM auditing needs the audit store in the ORM's own ${dialect} database, but the store is "${this.store.engine}". Use PostgresAuditStore on the same PostgreSQL database, or on SQLite a SqliteAuditStore on the ORM's own connection; or set atomic: false.`,
      );
    }
    const origin = originOf(changes.context, this.options);
    const drafts = changes.list().map((change) => rowChangeDraft(change, origin));
    if (drafts.length === 0) return [];
    const { events, alarms } = this.pipeline.prepare(drafts);
    this.prepared.set(changes, { events, raisedAlarms: alarms.length > 0 });
    return append.appendStatements(events, alarms);
  }

  /**
   * Records the changes of a transaction that committed. Never rejects: the data is committed
   * already, so a failure to record is reported by the write path (log and
   * `audit.pipeline_failure` line), not thrown at the application.
   * @returns once the events are committed (`durability: 'ack'`) or queued (`'async'`).
   */
  committed(changes: TransactionChanges): Promise<void> {
    const prepared = this.prepared.get(changes);
    if (prepared) {
      this.pipeline.published(prepared.events, prepared.raisedAlarms);
      return Promise.resolve();
    }
    const drafts: AuditEventDraft[] = [];
    const list = changes.list();
    const perType = new Map<string, number>();
    for (const change of list) {
      perType.set(change.resourceType, (perType.get(change.resourceType) ?? 0) + 1);
    }
    let origin: AuditOrigin | undefined;
    for (const change of list) {
      const sole = perType.get(change.resourceType) === 1;
      if (changes.context && this.capture.joinRowChange(changes.context, change, sole)) continue;
      origin ??= originOf(changes.context, this.options);
      drafts.push(rowChangeDraft(change, origin));
    }
    if (drafts.length === 0) return Promise.resolve();
    const work = Promise.all(drafts.map((draft) => this.pipeline.submit(draft))).then(
      () => undefined,
      (error: unknown) => this.reportLoss(drafts.length, error),
    );
    return this.pipeline.track(work);
  }

  /**
   * Resolves once every audited request and ORM capture in flight is done (those starting
   * meanwhile included), for at most the module's `shutdownTimeoutMs`. For shutdown only: call
   * it before the ORM's connections close (`AuditTypeOrmModule` and `AuditMikroOrmModule` do so
   * themselves; with Prisma, await it before `$disconnect()`).
   */
  settled(): Promise<void> {
    return this.pipeline.settle();
  }

  private reportLoss(count: number, error: unknown): void {
    this.logger.error(
      `nestjs-audit: ${count} committed row change(s) could not be recorded: ${messageOf(error)}`,
    );
  }
}
