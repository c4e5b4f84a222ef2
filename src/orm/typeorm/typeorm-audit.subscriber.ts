import type {
  EntityMetadata,
  EntitySubscriberInterface,
  InsertEvent,
  QueryRunner,
  RecoverEvent,
  RemoveEvent,
  SoftRemoveEvent,
  TransactionCommitEvent,
  TransactionRollbackEvent,
  TransactionStartEvent,
  UpdateEvent,
} from 'typeorm';
import { changedFields } from '../../event/changed-fields';
import type { AuditRowChange, AuditRowChangeKind } from '../../event/row-change';
import type { AuditChangeRecorder } from '../audit-change-recorder';
import { auditsEntity, type OrmAuditOptions } from '../orm-audit.options';
import { resourceTypeOf } from '../../event/resource-type';
import type { TransactionChanges } from '../transaction-changes';
import { dialectOf, readLocked, rowId, rowState } from './typeorm-row-state';

type Row = Record<string, unknown>;

/** What a `before*` hook read for the matching `after*` hook of the same entity object. */
interface Pending {
  id: string | undefined;
  before: Row | undefined;
}

/**
 * A TypeORM entity subscriber that records every audited row a transaction writes, read inside
 * that transaction: the before-state under a row lock (so concurrent writers of one row queue up
 * and each sees the state the previous one committed), the after-state from the write itself.
 * The changes of a transaction are handed to the recorder once it committed, and dropped when
 * it rolls back. Register it with `AuditTypeOrmModule` or push it to `dataSource.subscribers`.
 */
export class TypeOrmAuditSubscriber implements EntitySubscriberInterface {
  private readonly transactions = new WeakMap<QueryRunner, TransactionChanges[]>();
  private readonly pending = new WeakMap<object, Pending>();
  private readonly ignore: readonly string[];

  constructor(
    private readonly recorder: AuditChangeRecorder,
    private readonly options: OrmAuditOptions = {},
  ) {
    this.ignore = options.ignore ?? [];
  }

  /** @internal */
  afterTransactionStart(event: TransactionStartEvent): void {
    const levels = this.transactions.get(event.queryRunner) ?? [];
    levels.push(this.recorder.begin());
    this.transactions.set(event.queryRunner, levels);
  }

  /** @internal Atomic mode: the event rows go into the transaction right before its commit. */
  async beforeTransactionCommit(event: TransactionCommitEvent): Promise<void> {
    const levels = this.transactions.get(event.queryRunner);
    if (!this.options.atomic || levels?.length !== 1 || !levels[0]) return;
    const dialect = dialectOf(event.queryRunner);
    if (!dialect) return;
    for (const statement of await this.recorder.atomicStatements(levels[0], dialect)) {
      await event.queryRunner.query(statement.text, statement.values);
    }
  }

  /** @internal */
  async afterTransactionCommit(event: TransactionCommitEvent): Promise<void> {
    const levels = this.transactions.get(event.queryRunner);
    const done = levels?.pop();
    if (!levels || !done) return;
    const parent = levels[levels.length - 1];
    // A savepoint released: its changes commit (or not) with the enclosing transaction.
    if (parent) for (const change of done.list()) parent.add(change);
    else await this.recorder.committed(done);
  }

  /** @internal */
  afterTransactionRollback(event: TransactionRollbackEvent): void {
    this.transactions.get(event.queryRunner)?.pop();
  }

  /** @internal */
  async afterInsert(event: InsertEvent<Row>): Promise<void> {
    const { metadata, entity } = event;
    if (!entity || !this.audits(metadata)) return;
    // Read back in the transaction: defaults the database filled in, and the foreign keys of
    // children saved by cascade (TypeORM sets them on the row, not on the child entity).
    const after =
      (await readLocked(event.queryRunner, metadata, entity, this.ignore)) ??
      rowState(metadata, entity, this.ignore);
    await this.add(event.queryRunner, metadata, 'create', { id: rowId(metadata, entity), after });
  }

  /** @internal */
  async beforeUpdate(event: UpdateEvent<Row>): Promise<void> {
    await this.readBefore(event.queryRunner, event.metadata, event.entity, event.databaseEntity);
  }

  /** @internal */
  async afterUpdate(event: UpdateEvent<Row>): Promise<void> {
    const { metadata, entity } = event;
    if (!entity || !this.audits(metadata)) return;
    const pending = this.pending.get(entity);
    if (!pending) {
      // A query-builder update (`repository.update(criteria, values)`): TypeORM does not say
      // which rows it touched, so it is recorded once, with the values it set.
      const set = rowState(metadata, entity, this.ignore);
      await this.add(event.queryRunner, metadata, 'update', { bulk: { criteria: undefined, set } });
      return;
    }
    this.pending.delete(entity);
    const before = pending.before ?? {};
    const after = { ...before, ...rowState(metadata, entity, this.ignore) };
    await this.add(event.queryRunner, metadata, 'update', {
      id: pending.id,
      ...changedFields(before, after),
    });
  }

  /** @internal */
  async beforeRemove(event: RemoveEvent<Row>): Promise<void> {
    await this.readBefore(event.queryRunner, event.metadata, event.entity, event.databaseEntity);
  }

  /** @internal */
  async afterRemove(event: RemoveEvent<Row>): Promise<void> {
    await this.afterRowWrite(event, 'delete', false);
  }

  /** @internal */
  async beforeSoftRemove(event: SoftRemoveEvent<Row>): Promise<void> {
    await this.readBefore(event.queryRunner, event.metadata, event.entity, event.databaseEntity);
  }

  /** @internal */
  async afterSoftRemove(event: SoftRemoveEvent<Row>): Promise<void> {
    await this.afterRowWrite(event, 'soft-delete', true);
  }

  /** @internal */
  async beforeRecover(event: RecoverEvent<Row>): Promise<void> {
    await this.readBefore(event.queryRunner, event.metadata, event.entity, event.databaseEntity);
  }

  /** @internal */
  async afterRecover(event: RecoverEvent<Row>): Promise<void> {
    await this.afterRowWrite(event, 'restore', true);
  }

  private audits(metadata: EntityMetadata): boolean {
    return auditsEntity(this.options, metadata.name);
  }

  /** Reads, locked, the state an entity write is about to replace. */
  private async readBefore(
    queryRunner: QueryRunner,
    metadata: EntityMetadata,
    entity: Row | undefined,
    databaseEntity: Row | undefined,
  ): Promise<void> {
    if (!entity || !databaseEntity || !this.audits(metadata)) return;
    const before = await readLocked(queryRunner, metadata, databaseEntity, this.ignore);
    this.pending.set(entity, { id: rowId(metadata, databaseEntity), before });
  }

  /** A removal, soft removal or recovery of an entity whose before-state was read. */
  private async afterRowWrite(
    event: RemoveEvent<Row> | SoftRemoveEvent<Row> | RecoverEvent<Row>,
    kind: AuditRowChangeKind,
    keepsRow: boolean,
  ): Promise<void> {
    const { metadata, entity, queryRunner } = event;
    if (!this.audits(metadata)) return;
    const pending = entity ? this.pending.get(entity) : undefined;
    if (!entity || !pending) {
      // `repository.delete(criteria)` / `softDelete(criteria)`: rows unknown, recorded once.
      await this.add(queryRunner, metadata, kind, { bulk: { criteria: event.entityId } });
      return;
    }
    this.pending.delete(entity);
    const change: Partial<AuditRowChange> = { id: pending.id, before: pending.before ?? {} };
    if (keepsRow && pending.id !== undefined) {
      // The row stays: read it again in the same transaction (it is still locked by this write).
      const after = await readLocked(queryRunner, metadata, pending.before ?? entity, this.ignore);
      if (after) Object.assign(change, changedFields(pending.before ?? {}, after));
    }
    await this.add(queryRunner, metadata, kind, change);
  }

  /**
   * Adds a change to the transaction it belongs to; a write outside any transaction committed
   * on its own already, and is recorded at once.
   */
  private async add(
    queryRunner: QueryRunner,
    metadata: EntityMetadata,
    kind: AuditRowChangeKind,
    fields: Partial<AuditRowChange>,
  ): Promise<void> {
    const resourceType = (this.options.resourceType ?? resourceTypeOf)(metadata.name);
    const change: AuditRowChange = { ...fields, kind, resourceType };
    if (change.id === undefined) delete change.id;
    const levels = this.transactions.get(queryRunner);
    const current = levels?.[levels.length - 1];
    if (current && queryRunner.isTransactionActive) {
      current.add(change);
      return;
    }
    const alone = this.recorder.begin();
    alone.add(change);
    await this.recorder.committed(alone);
  }
}
