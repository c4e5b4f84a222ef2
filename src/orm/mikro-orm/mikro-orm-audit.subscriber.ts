import { sameFields } from '../../event/changed-fields';
import type {
  EntityManager,
  EntityMetadata,
  EventArgs,
  EventSubscriber,
  FilterQuery,
  FlushEventArgs,
  TransactionEventArgs,
} from '@mikro-orm/core';
import { AuditConfigurationError } from '../../common/audit-configuration.error';
import type { AuditRowChange } from '../../event/row-change';
import type { AuditChangeRecorder } from '../audit-change-recorder';
import { auditsEntity } from '../orm-audit.options';
import { resourceTypeOf } from '../../event/resource-type';
import type { TransactionChanges } from '../transaction-changes';
import { runAtomicStatements } from './mikro-orm-atomic';
import {
  isMarked,
  softDeletePropertyOf,
  type MikroOrmAuditOptions,
} from './mikro-orm-audit.options';
import { auditedNativeDelete, auditedNativeUpdate, type BulkWriter } from './mikro-orm-bulk';
import {
  entityCondition,
  readRows,
  rowId,
  withoutIgnored,
  type RowState,
} from './mikro-orm-row-state';
import { MikroOrmTransactionRegistry } from './mikro-orm-transactions';

type AnyArgs = EventArgs<object>;

/**
 * The MikroORM 6 integration: an `EventSubscriber` that records every insert, update and delete
 * the unit of work flushes, as it happened inside its transaction, and hands each committed
 * transaction's changes to {@link AuditChangeRecorder}.
 *
 * Right before each UPDATE or DELETE it locks and reads the row in the flush's own transaction
 * (`SELECT … FOR UPDATE`): the before-state is the row the write replaces, never the possibly
 * stale copy the EntityManager loaded. Right after each INSERT or UPDATE it reads the row again
 * in that transaction: the after-state is what the write left (database defaults, triggers and
 * version columns included). Changes of a rolled-back transaction, or of a rolled-back savepoint
 * inside a committed one, are never recorded.
 *
 * Register it on the ORM's event manager (or let `AuditMikroOrmModule` do it):
 * @example
 * ```ts
 * orm.em.getEventManager().registerSubscriber(
 *   new MikroOrmAuditSubscriber(app.get(AuditChangeRecorder), { softDelete: 'deletedAt' }),
 * );
 * ```
 */
export class MikroOrmAuditSubscriber implements EventSubscriber<object>, BulkWriter {
  /** @internal */
  readonly registry: MikroOrmTransactionRegistry;
  private readonly before = new WeakMap<object, RowState | null>();

  constructor(
    private readonly recorder: AuditChangeRecorder,
    /** @internal */
    readonly options: MikroOrmAuditOptions = {},
  ) {
    if (options.atomic && recorder.atomicDialect !== 'postgres') {
      throw new AuditConfigurationError(
        "nestjs-audit/mikro-orm: `atomic: true` writes the events in the ORM's PostgreSQL transaction, so the audit store must be a PostgresAuditStore on the same database. Configure `AuditModule.forRoot({ store: new PostgresAuditStore({ ... }) })`, or set `atomic: false`.",
      );
    }
    if (options.atomic) recorder.startAtomic(options, 'nestjs-audit/mikro-orm');
    this.registry = new MikroOrmTransactionRegistry(() => recorder.begin());
  }

  /** @internal Whether the entity is audited. */
  audits(meta: EntityMetadata): boolean {
    return auditsEntity(this.options, meta.className);
  }

  /** @internal The recorded resource type of the entity. */
  resourceTypeFor(meta: EntityMetadata): string {
    return (this.options.resourceType ?? resourceTypeOf)(meta.className);
  }

  /** @internal The change of a row from its states as the write found and left them. */
  changeOf(
    meta: EntityMetadata,
    found: RowState | undefined,
    left: RowState | undefined,
  ): AuditRowChange | undefined {
    const state = left ?? found;
    if (!state) return undefined;
    const resourceType = this.resourceTypeFor(meta);
    const change: AuditRowChange = { kind: 'update', resourceType, id: rowId(meta, state) };
    const before = found && withoutIgnored(found, this.options.ignore);
    const after = left && withoutIgnored(left, this.options.ignore);
    if (before) change.before = before;
    if (after) change.after = after;
    if (!before) return { ...change, kind: 'create' };
    if (!after) return { ...change, kind: 'delete' };
    if (sameFields(before, after)) return undefined;
    const mark = softDeletePropertyOf(this.options, meta.className);
    if (mark !== undefined) {
      const was = isMarked(found?.[mark]);
      const is = isMarked(left?.[mark]);
      if (!was && is) change.kind = 'soft-delete';
      else if (was && !is) change.kind = 'restore';
    }
    return change;
  }

  /** @internal Adds a change written through `em`, in its current transaction (or flush). */
  add(em: EntityManager, change: AuditRowChange | undefined): void {
    if (change) this.registry.add(em.getTransactionContext() ?? em.getUnitOfWork(false), change);
  }

  /**
   * Like `em.nativeUpdate()`, recorded: the matching rows are locked and read first, then
   * updated by their primary keys, then read again (up to `maxBulkRows`; past it one summary
   * change with the criteria, the values and the count). Joins the em's transaction or runs its
   * own. Entity filters are not applied to `where`: state them in it.
   * @returns the number of rows updated.
   */
  nativeUpdate<T extends object>(
    em: EntityManager,
    entityName: string,
    where: FilterQuery<T>,
    data: Record<string, unknown>,
  ): Promise<number> {
    return auditedNativeUpdate(this, em, entityName, where, data);
  }

  /**
   * Like `em.nativeDelete()`, recorded the same way as {@link nativeUpdate}.
   * @returns the number of rows deleted.
   */
  nativeDelete<T extends object>(
    em: EntityManager,
    entityName: string,
    where: FilterQuery<T>,
  ): Promise<number> {
    return auditedNativeDelete(this, em, entityName, where);
  }

  /** A flush without a transaction leaves nothing behind from an earlier failed one. */
  beforeFlush(args: FlushEventArgs): void {
    this.registry.drop(args.uow);
  }

  async beforeUpdate(args: AnyArgs): Promise<void> {
    await this.lockAndRead(args);
  }

  async beforeDelete(args: AnyArgs): Promise<void> {
    await this.lockAndRead(args);
  }

  async afterCreate(args: AnyArgs): Promise<void> {
    if (!this.audits(args.meta)) return;
    const after = await this.read(args, false);
    this.add(args.em, this.changeOf(args.meta, undefined, after));
  }

  async afterUpdate(args: AnyArgs): Promise<void> {
    const found = this.takeBefore(args);
    if (!found) return;
    const left = await this.read(args, false);
    if (left) this.add(args.em, this.changeOf(args.meta, found, left));
  }

  afterDelete(args: AnyArgs): void {
    const found = this.takeBefore(args);
    if (found) this.add(args.em, this.changeOf(args.meta, found, undefined));
  }

  /** A flush that ran without a transaction (e.g. `implicitTransactions: false`) is final now. */
  async afterFlush(args: FlushEventArgs): Promise<void> {
    await this.record(this.registry.take(args.uow));
  }

  /** Atomic mode: the events are inserted in the transaction, right before its COMMIT. */
  async beforeTransactionCommit(args: TransactionEventArgs): Promise<void> {
    if (!this.options.atomic || !args.transaction) return;
    const changes = this.registry.settle(args.transaction as object);
    if (!changes || changes.isEmpty) return;
    const statements = await this.recorder.atomicStatements(changes, 'postgres');
    await runAtomicStatements(args.transaction, statements);
  }

  async afterTransactionCommit(args: TransactionEventArgs): Promise<void> {
    if (args.transaction) await this.record(this.registry.take(args.transaction as object));
  }

  afterTransactionRollback(args: TransactionEventArgs): void {
    if (args.transaction) this.registry.drop(args.transaction as object);
  }

  private async record(changes: TransactionChanges | undefined): Promise<void> {
    if (changes && !changes.isEmpty) await this.recorder.committed(changes);
  }

  private async lockAndRead(args: AnyArgs): Promise<void> {
    if (!this.audits(args.meta)) return;
    this.before.set(args.changeSet ?? args.entity, (await this.read(args, true)) ?? null);
  }

  private takeBefore(args: AnyArgs): RowState | undefined {
    const key = args.changeSet ?? args.entity;
    const found = this.before.get(key);
    this.before.delete(key);
    return found ?? undefined;
  }

  private async read(args: AnyArgs, lock: boolean): Promise<RowState | undefined> {
    const schema = args.changeSet?.schema;
    const [row] = await readRows(args.em, args.meta, entityCondition(args.meta, args.entity), {
      ctx: args.em.getTransactionContext<unknown>(),
      lock,
      ...(schema === undefined ? {} : { schema }),
    });
    return row;
  }
}
