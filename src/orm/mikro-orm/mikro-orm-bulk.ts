import type { EntityManager, EntityMetadata, FilterQuery } from '@mikro-orm/core';
import type { AuditRowChange, AuditRowChangeKind } from '../../event/row-change';
import type { MikroOrmAuditOptions } from './mikro-orm-audit.options';
import { readRows, rowId, rowsCondition, type RowState } from './mikro-orm-row-state';

const DEFAULT_MAX_BULK_ROWS = 1000;

/** What the bulk writes need of the subscriber. */
export interface BulkWriter {
  readonly options: MikroOrmAuditOptions;
  audits(meta: EntityMetadata): boolean;
  resourceTypeFor(meta: EntityMetadata): string;
  changeOf(meta: EntityMetadata, found?: RowState, left?: RowState): AuditRowChange | undefined;
  add(em: EntityManager, change: AuditRowChange | undefined): void;
}

type Write = (em: EntityManager, where: FilterQuery<object>) => Promise<number>;

/**
 * One bulk write, recorded: in a transaction (the em's own or a new one), the matching rows are
 * locked and read, written by their primary keys (so no row that appears meanwhile is touched
 * unread), and read again. Past `maxBulkRows` matching rows, the write runs by its criteria and
 * one summary change records the criteria, the values set and the count.
 */
async function bulkWrite(
  writer: BulkWriter,
  em: EntityManager,
  meta: EntityMetadata,
  where: FilterQuery<object>,
  summary: { kind: AuditRowChangeKind; set?: Record<string, unknown> },
  write: Write,
): Promise<number> {
  const limit = writer.options.maxBulkRows ?? DEFAULT_MAX_BULK_ROWS;
  return em.transactional(async (tem) => {
    const ctx = tem.getTransactionContext<unknown>();
    const found = await readRows(tem, meta, where, { ctx, lock: true, limit: limit + 1 });
    if (found.length > limit) {
      const count = await write(tem, where);
      writer.add(tem, {
        kind: summary.kind,
        resourceType: writer.resourceTypeFor(meta),
        bulk: { criteria: where, ...(summary.set ? { set: summary.set } : {}), count },
      });
      return count;
    }
    if (found.length === 0) return 0;
    const byKeys = rowsCondition(meta, found);
    const count = await write(tem, byKeys);
    const left =
      summary.kind === 'delete' ? [] : await readRows(tem, meta, byKeys, { ctx, lock: false });
    const leftById = new Map(left.map((state) => [rowId(meta, state), state]));
    for (const state of found) {
      const after = leftById.get(rowId(meta, state));
      if (summary.kind === 'delete' || after) writer.add(tem, writer.changeOf(meta, state, after));
    }
    return count;
  });
}

/** See `MikroOrmAuditSubscriber.nativeUpdate()`. */
export function auditedNativeUpdate(
  writer: BulkWriter,
  em: EntityManager,
  entityName: string,
  where: FilterQuery<object>,
  data: Record<string, unknown>,
): Promise<number> {
  const meta = em.getMetadata().get(entityName);
  if (!writer.audits(meta)) return em.nativeUpdate<object>(entityName, where, data);
  return bulkWrite(writer, em, meta, where, { kind: 'update', set: data }, (target, criteria) =>
    target.nativeUpdate<object>(entityName, criteria, data, { filters: false }),
  );
}

/** See `MikroOrmAuditSubscriber.nativeDelete()`. */
export function auditedNativeDelete(
  writer: BulkWriter,
  em: EntityManager,
  entityName: string,
  where: FilterQuery<object>,
): Promise<number> {
  const meta = em.getMetadata().get(entityName);
  if (!writer.audits(meta)) return em.nativeDelete<object>(entityName, where);
  return bulkWrite(writer, em, meta, where, { kind: 'delete' }, (target, criteria) =>
    target.nativeDelete<object>(entityName, criteria, { filters: false }),
  );
}
