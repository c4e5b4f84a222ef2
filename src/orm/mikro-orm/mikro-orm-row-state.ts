import {
  LockMode,
  ReferenceKind,
  Utils,
  type EntityManager,
  type EntityMetadata,
  type FilterQuery,
} from '@mikro-orm/core';

/** A row's recorded state: its columns by property name, relations by the related row's id. */
export type RowState = Record<string, unknown>;

/** The relation kinds whose value lives in the row itself (a foreign key). */
const OWNED_RELATIONS: readonly ReferenceKind[] = [
  ReferenceKind.MANY_TO_ONE,
  ReferenceKind.ONE_TO_ONE,
];

/**
 * Reads rows of an entity as they are now, inside the given transaction. With `lock`, the rows
 * are locked (`SELECT … FOR UPDATE`) so that the state read is the one the following write
 * replaces: a concurrent writer of the same row waits for this transaction to end, and this one
 * waits for any writer that holds the row, then reads its committed result.
 *
 * It goes to the driver, not the EntityManager: nothing enters the identity map, no `onLoad`
 * hooks or entity filters run, and the caller's (possibly stale) entity data is never used.
 */
export async function readRows(
  em: EntityManager,
  meta: EntityMetadata,
  where: FilterQuery<object>,
  options: { ctx: unknown; lock: boolean; schema?: string; limit?: number },
): Promise<RowState[]> {
  const rows = await em.getDriver().find<object>(meta.className, where, {
    ctx: options.ctx as object | undefined,
    ...(options.lock && options.ctx ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {}),
    ...(options.schema === undefined ? {} : { schema: options.schema }),
    ...(options.limit === undefined ? {} : { limit: options.limit }),
    populate: [],
  });
  return rows.map((row) => stateOf(meta, row as Record<string, unknown>));
}

/** The row's own columns (collections left out), relations reduced to their ids. */
function stateOf(meta: EntityMetadata, row: Record<string, unknown>): RowState {
  const state: RowState = {};
  for (const prop of meta.props) {
    if (!(prop.name in row)) continue;
    const isRelation = prop.kind !== ReferenceKind.SCALAR && prop.kind !== ReferenceKind.EMBEDDED;
    if (isRelation && !OWNED_RELATIONS.includes(prop.kind)) continue;
    const value = row[prop.name];
    state[prop.name] = isRelation ? relationId(value) : value;
  }
  return state;
}

/** A foreign key as it is recorded: the related id, a composite one joined with `:`. */
function relationId(value: unknown): unknown {
  if (value === null || value === undefined) return value ?? null;
  if (Array.isArray(value)) return value.map(String).join(':');
  if (typeof value === 'object') return Utils.extractPK(value) ?? null;
  return value;
}

/** The recorded id of a row: its primary key, a composite one joined with `:`. */
export function rowId(meta: EntityMetadata, state: RowState): string {
  return meta.primaryKeys.map((key) => String(state[key])).join(':');
}

/** The condition matching exactly one row by its primary key, from a row state. */
export function primaryKeyCondition(
  meta: EntityMetadata,
  state: RowState,
): Record<string, unknown> {
  return Object.fromEntries(meta.primaryKeys.map((key) => [key, state[key]]));
}

/** The condition matching exactly one entity by its primary key, from a managed entity. */
export function entityCondition(meta: EntityMetadata, entity: object): FilterQuery<object> {
  const cond: unknown = Utils.getPrimaryKeyCond<Record<string, unknown>>(
    entity as Record<string, unknown>,
    meta.primaryKeys,
  );
  return cond as FilterQuery<object>;
}

/** The condition matching every one of the given rows by primary key. */
export function rowsCondition(
  meta: EntityMetadata,
  states: readonly RowState[],
): FilterQuery<object> {
  const [key, ...more] = meta.primaryKeys;
  if (key !== undefined && more.length === 0) {
    return { [key]: { $in: states.map((state) => state[key]) } };
  }
  return { $or: states.map((state) => primaryKeyCondition(meta, state)) };
}

/** A state without the ignored properties. */
export function withoutIgnored(state: RowState, ignore: readonly string[] | undefined): RowState {
  if (!ignore?.length) return state;
  const kept: RowState = {};
  for (const [key, value] of Object.entries(state)) if (!ignore.includes(key)) kept[key] = value;
  return kept;
}
