import type { AuditRowChange, AuditRowChangeKind } from '../../event/row-change';
import { resourceTypeOf } from '../../event/resource-type';
import type { TransactionChanges } from '../transaction-changes';
import { isMarked, softDeleteFieldOf, type PrismaAuditOptions } from './prisma-audit.options';
import type { PrismaClientLike } from './prisma-client-shape';
import type { PrismaModelCatalog, PrismaModelInfo } from './prisma-model-catalog';
import {
  readRelated,
  relatedChanges,
  touchedRelations,
  type RelatedRows,
} from './prisma-nested-writes';
import {
  call,
  delegateOf,
  keySelect,
  keyWhere,
  lockRows,
  readRows,
  recordedState,
  rowId,
  type RowState,
} from './prisma-row-state';

/** The write operations of a model delegate that are captured. */
export const WRITE_OPERATIONS: ReadonlySet<string> = new Set([
  'create',
  'createMany',
  'createManyAndReturn',
  'update',
  'updateMany',
  'updateManyAndReturn',
  'upsert',
  'delete',
  'deleteMany',
]);

type Args = Record<string, unknown>;
type Query = (args: unknown) => PromiseLike<unknown>;

/** One captured write: where it runs and what it asked. */
export interface WriteCall {
  db: PrismaClientLike;
  changes: TransactionChanges;
  model: PrismaModelInfo;
  operation: string;
  args: Args;
  query: Query;
}

/**
 * Runs one write inside its interactive transaction and records what it did, row by row: the
 * rows it will touch are found, locked (`SELECT … FOR UPDATE`) and read before it runs, and read
 * again after it. A concurrent writer of the same rows waits for this transaction, so each
 * before-state is the after-state of the previous committed writer.
 */
export class PrismaWriteCapture {
  constructor(
    private readonly catalog: PrismaModelCatalog,
    private readonly options: PrismaAuditOptions,
  ) {}

  /** Runs and records the write. */
  async run(write: WriteCall): Promise<unknown> {
    const primaryKey = await this.catalog.primaryKey(write.model, write.db);
    if (primaryKey.length === 0) return this.summary(write, undefined);
    switch (write.operation) {
      case 'create':
      case 'createManyAndReturn':
        return this.create(write, primaryKey);
      case 'createMany': {
        // Run as createManyAndReturn (captured as such) to learn the new rows' keys.
        const { data, skipDuplicates } = write.args;
        const rows = await call(delegateOf(write.db, write.model), 'createManyAndReturn', {
          data,
          ...(skipDuplicates === undefined ? {} : { skipDuplicates }),
          select: keySelect(primaryKey),
        });
        return { count: (rows as unknown[]).length };
      }
      case 'update':
      case 'upsert':
      case 'delete':
        return this.unique(write, primaryKey);
      default:
        return this.many(write, primaryKey);
    }
  }

  /**
   * Records a write whose rows are not read one by one (a batch `$transaction([...])`, a table
   * without a primary key, more rows than `maxBulkRows`): what it asked and how many rows.
   */
  async summary(
    write: Omit<WriteCall, 'db'>,
    kind: AuditRowChangeKind | undefined,
  ): Promise<unknown> {
    const result = await write.query(write.args);
    const { args, operation } = write;
    const count = Array.isArray(result)
      ? result.length
      : typeof (result as { count?: unknown } | null)?.count === 'number'
        ? (result as { count: number }).count
        : 1;
    const set =
      args.data ??
      (operation === 'upsert' ? { create: args.create, update: args.update } : undefined);
    write.changes.add({
      kind: kind ?? this.summaryKind(write.model, operation, set),
      resourceType: this.resourceType(write.model),
      bulk: {
        criteria: recordedState({ where: args.where ?? null }, undefined).where,
        ...(set === undefined ? {} : { set: recordedState({ set }, undefined).set }),
        count,
      },
    });
    return result;
  }

  private async create(write: WriteCall, primaryKey: string[]): Promise<unknown> {
    const { args, added } = withKeys(write.args, primaryKey);
    const result = await write.query(args);
    const created = (Array.isArray(result) ? result : [result]) as RowState[];
    const touched =
      write.operation === 'create'
        ? touchedRelations(write.model, write.args)
        : new Map<string, boolean>();
    const rows =
      created.length > 0
        ? await readRows(write.db, write.model, keyWhere(primaryKey, created))
        : [];
    for (const row of rows) {
      this.add(write.changes, write.model, {
        kind: 'create',
        id: rowId(primaryKey, row),
        after: row,
      });
      if (touched.size === 0) continue;
      const where = keyWhere(primaryKey, [row]);
      const children = await readRelated(
        write.db,
        this.catalog,
        { model: write.model, where },
        touched,
        false,
      );
      await this.addRelated(write, [], children);
    }
    return stripKeys(result, added);
  }

  private async unique(write: WriteCall, primaryKey: string[]): Promise<unknown> {
    const { db, model } = write;
    const before = await this.lockUnique(db, model, primaryKey, write.args.where);
    const touched =
      write.operation === 'delete'
        ? new Map<string, boolean>()
        : touchedRelations(model, write.args);
    const keyOf = (row: RowState): RowState => keyWhere(primaryKey, [row]);
    const childrenBefore =
      before && touched.size > 0
        ? await readRelated(db, this.catalog, { model, where: keyOf(before) }, touched, true)
        : [];
    const { args, added } = withKeys(write.args, primaryKey);
    const result = await write.query(args);
    if (write.operation === 'delete') {
      if (before)
        this.add(write.changes, model, { kind: 'delete', id: rowId(primaryKey, before), before });
      return result;
    }
    const key = result && typeof result === 'object' ? (result as RowState) : before;
    const [after] = key ? await readRows(db, model, keyWhere(primaryKey, [key])) : [];
    if (after) {
      const id = rowId(primaryKey, after);
      if (before)
        this.add(write.changes, model, {
          kind: this.updateKind(model, before, after),
          id,
          before,
          after,
        });
      else this.add(write.changes, model, { kind: 'create', id, after });
      if (touched.size > 0) {
        const childrenAfter = await readRelated(
          db,
          this.catalog,
          { model, where: keyOf(after) },
          touched,
          false,
        );
        await this.addRelated(write, childrenBefore, childrenAfter);
      }
    }
    return stripKeys(result, added);
  }

  /** Finds the row of a unique `where`, locks it and reads it as the last commit left it. */
  private async lockUnique(
    db: PrismaClientLike,
    model: PrismaModelInfo,
    primaryKey: string[],
    where: unknown,
  ): Promise<RowState | undefined> {
    const delegate = delegateOf(db, model);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const found = (await call(delegate, 'findUnique', {
        where,
        select: keySelect(primaryKey),
      })) as RowState | null;
      if (!found) return undefined;
      await lockRows(db, model, primaryKey, [found]);
      // Found again once locked: a unique field may have moved to another row meanwhile.
      const again = (await call(delegate, 'findUnique', {
        where,
        select: keySelect(primaryKey),
      })) as RowState | null;
      if (!again) return undefined;
      if (rowId(primaryKey, again) !== rowId(primaryKey, found)) continue;
      const [row] = await readRows(db, model, keyWhere(primaryKey, [found]));
      if (row) return row;
    }
    return undefined;
  }

  private async many(write: WriteCall, primaryKey: string[]): Promise<unknown> {
    const { db, model, args: asked } = write;
    const where = (asked.where ?? {}) as Args;
    const max = this.options.maxBulkRows ?? 1000;
    const limit = typeof asked.limit === 'number' ? Math.min(asked.limit, max + 1) : max + 1;
    const found = (await call(delegateOf(db, model), 'findMany', {
      where,
      select: keySelect(primaryKey),
      take: limit,
    })) as RowState[];
    if (found.length > max) return this.summary(write, undefined);
    if (found.length > 0) await lockRows(db, model, primaryKey, found);
    const before =
      found.length > 0
        ? await readRows(db, model, { AND: [where, keyWhere(primaryKey, found)] })
        : [];
    // Exactly the locked rows still matching: a row inserted meanwhile is never written unrecorded.
    const restricted: Args = { ...asked, where: { AND: [where, keyWhere(primaryKey, before)] } };
    delete restricted.limit;
    const { args, added } = withKeys(restricted, primaryKey);
    const result = await write.query(args);
    if (write.operation === 'deleteMany') {
      for (const row of before)
        this.add(write.changes, model, { kind: 'delete', id: rowId(primaryKey, row), before: row });
      return result;
    }
    const after = before.length > 0 ? await readRows(db, model, keyWhere(primaryKey, before)) : [];
    const afterById = new Map(after.map((row) => [rowId(primaryKey, row), row]));
    for (const row of before) {
      const id = rowId(primaryKey, row);
      const now = afterById.get(id);
      if (now)
        this.add(write.changes, model, {
          kind: this.updateKind(model, row, now),
          id,
          before: row,
          after: now,
        });
    }
    return stripKeys(result, added);
  }

  private async addRelated(
    write: WriteCall,
    before: RelatedRows[],
    after: RelatedRows[],
  ): Promise<void> {
    const changes = await relatedChanges(write.db, before, after, (model, change) =>
      this.change(model, change),
    );
    for (const change of changes) write.changes.add(change);
  }

  private add(
    changes: TransactionChanges,
    model: PrismaModelInfo,
    change: Omit<AuditRowChange, 'resourceType'>,
  ): void {
    changes.add(this.change(model, change));
  }

  private change(
    model: PrismaModelInfo,
    change: Omit<AuditRowChange, 'resourceType'>,
  ): AuditRowChange {
    const recorded: AuditRowChange = { ...change, resourceType: this.resourceType(model) };
    if (change.before) recorded.before = recordedState(change.before, this.options.ignore);
    if (change.after) recorded.after = recordedState(change.after, this.options.ignore);
    return recorded;
  }

  private resourceType(model: PrismaModelInfo): string {
    return this.options.resourceType?.(model.name) ?? resourceTypeOf(model.name);
  }

  private updateKind(
    model: PrismaModelInfo,
    before: RowState,
    after: RowState,
  ): AuditRowChangeKind {
    const field = softDeleteFieldOf(this.options, model.name);
    if (field === undefined || !model.scalars.includes(field)) return 'update';
    const was = isMarked(before[field]);
    const is = isMarked(after[field]);
    return was === is ? 'update' : is ? 'soft-delete' : 'restore';
  }

  private summaryKind(model: PrismaModelInfo, operation: string, set: unknown): AuditRowChangeKind {
    if (operation.startsWith('create')) return 'create';
    if (operation.startsWith('delete')) return 'delete';
    const field = softDeleteFieldOf(this.options, model.name);
    if (field !== undefined && typeof set === 'object' && set !== null && field in set) {
      return isMarked((set as Args)[field]) ? 'soft-delete' : 'restore';
    }
    return 'update';
  }
}

/** The args with the primary key added to a `select` (or removed from an `omit`). */
function withKeys(args: Args, primaryKey: readonly string[]): { args: Args; added: string[] } {
  const added: string[] = [];
  const select = args.select as Record<string, unknown> | undefined;
  const omit = args.omit as Record<string, unknown> | undefined;
  if (!select && !omit) return { args, added };
  const copy: Args = { ...args };
  if (select) {
    const next = { ...select };
    for (const field of primaryKey) {
      if (next[field]) continue;
      next[field] = true;
      added.push(field);
    }
    copy.select = next;
  }
  if (omit) {
    const next = { ...omit };
    for (const field of primaryKey) {
      if (!next[field]) continue;
      delete next[field];
      added.push(field);
    }
    copy.omit = next;
  }
  return { args: copy, added };
}

/** The result without the key fields {@link withKeys} added. */
function stripKeys(result: unknown, added: readonly string[]): unknown {
  if (added.length === 0 || typeof result !== 'object' || result === null) return result;
  const strip = (row: unknown): unknown => {
    if (typeof row !== 'object' || row === null) return row;
    const copy = { ...(row as Args) };
    for (const field of added) delete copy[field];
    return copy;
  };
  return Array.isArray(result) ? result.map(strip) : strip(result);
}
