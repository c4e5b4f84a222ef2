import { sameFields } from '../../event/changed-fields';
import type { AuditRowChange } from '../../event/row-change';
import type { PrismaClientLike } from './prisma-client-shape';
import type { PrismaModelCatalog, PrismaModelInfo } from './prisma-model-catalog';
import {
  call,
  delegateOf,
  keySelect,
  keyWhere,
  lockRows,
  readRows,
  rowId,
  type RowState,
} from './prisma-row-state';

/** Nested operations that may attach a row that existed before (its before-state is unknown). */
const ATTACHING = ['connect', 'connectOrCreate', 'set'];

/** The related rows of the relations one nested write touches, read at one moment. */
export interface RelatedRows {
  relation: string;
  model: PrismaModelInfo;
  primaryKey: string[];
  rows: Map<string, RowState>;
  attaches: boolean;
}

/** Relation fields a write's `data` (or an upsert's `create`/`update`) writes through. */
export function touchedRelations(
  model: PrismaModelInfo,
  args: Record<string, unknown>,
): Map<string, boolean> {
  const touched = new Map<string, boolean>();
  for (const part of [args.data, args.create, args.update]) {
    if (typeof part !== 'object' || part === null || Array.isArray(part)) continue;
    for (const [field, nested] of Object.entries(part as Record<string, unknown>)) {
      if (!model.relations.has(field) || typeof nested !== 'object' || nested === null) continue;
      const attaches = ATTACHING.some((op) => op in nested);
      touched.set(field, (touched.get(field) ?? false) || attaches);
    }
  }
  return touched;
}

/**
 * Reads (and with `lock`, locks first) the rows related to one parent row through the touched
 * relations, in the transaction of `db`.
 */
export async function readRelated(
  db: PrismaClientLike,
  catalog: PrismaModelCatalog,
  parent: { model: PrismaModelInfo; where: RowState },
  touched: Map<string, boolean>,
  lock: boolean,
): Promise<RelatedRows[]> {
  const result: RelatedRows[] = [];
  for (const [relation, attaches] of touched) {
    const related = catalog.get(parent.model.relations.get(relation) ?? '');
    if (!related) continue;
    const primaryKey = await catalog.primaryKey(related, db);
    if (primaryKey.length === 0) continue;
    const found = (await call(delegateOf(db, parent.model), 'findFirst', {
      where: parent.where,
      select: { [relation]: { select: keySelect(primaryKey) } },
    })) as Record<string, unknown> | null;
    const value = found?.[relation];
    const keys = (Array.isArray(value) ? value : value ? [value] : []) as RowState[];
    if (lock && keys.length > 0) await lockRows(db, related, primaryKey, keys);
    const rows = keys.length > 0 ? await readRows(db, related, keyWhere(primaryKey, keys)) : [];
    result.push({
      relation,
      model: related,
      primaryKey,
      rows: new Map(rows.map((row) => [rowId(primaryKey, row), row])),
      attaches,
    });
  }
  return result;
}

/**
 * The changes of related rows between two reads: a row that appeared was created (or, through
 * `connect`/`set`, attached: an update whose before-state was not read); a row that disappeared
 * was deleted, or detached (then re-read: an update of its foreign key); a row in both that
 * differs was updated.
 */
export async function relatedChanges(
  db: PrismaClientLike,
  before: readonly RelatedRows[],
  after: readonly RelatedRows[],
  toChange: (
    model: PrismaModelInfo,
    change: Omit<AuditRowChange, 'resourceType'>,
  ) => AuditRowChange,
): Promise<AuditRowChange[]> {
  const changes: AuditRowChange[] = [];
  for (const now of after) {
    const then = before.find((entry) => entry.relation === now.relation);
    const earlier = then?.rows ?? new Map<string, RowState>();
    for (const [id, row] of now.rows) {
      const old = earlier.get(id);
      if (!old) {
        const kind = now.attaches ? 'update' : 'create';
        changes.push(toChange(now.model, { kind, id, after: row }));
      } else if (!sameFields(old, row)) {
        changes.push(toChange(now.model, { kind: 'update', id, before: old, after: row }));
      }
    }
    const gone = [...earlier].filter(([id]) => !now.rows.has(id)).map(([, row]) => row);
    if (gone.length === 0) continue;
    const still = await readRows(db, now.model, keyWhere(now.primaryKey, gone));
    const stillById = new Map(still.map((row) => [rowId(now.primaryKey, row), row]));
    for (const row of gone) {
      const id = rowId(now.primaryKey, row);
      const left = stillById.get(id);
      changes.push(
        toChange(
          now.model,
          left
            ? { kind: 'update', id, before: row, after: left }
            : { kind: 'delete', id, before: row },
        ),
      );
    }
  }
  return changes;
}
