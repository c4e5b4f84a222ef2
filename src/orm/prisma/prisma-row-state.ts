import { leafBuiltIn, NOT_LEAF } from '../../event/json-builtins';
import type { PrismaClientLike, PrismaDelegate } from './prisma-client-shape';
import { quoteIdent, type PrismaModelInfo } from './prisma-model-catalog';
import { AuditInternalError } from '../../common/audit-internal.error';

/** A row's recorded state: its columns by field name (foreign keys are columns: relations by id). */
export type RowState = Record<string, unknown>;

/** Most rows locked by one statement (PostgreSQL takes at most 65535 parameters). */
const LOCK_CHUNK = 1000;

/**
 * A value as it is recorded: Prisma `Decimal` as its exact decimal string, `BigInt` as a string,
 * `Date` as ISO 8601, binary data as a marker (size and SHA-256, never the bytes); lists and
 * JSON values element by element.
 */
export function recordedValue(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(recordedValue);
  if (isDecimal(value)) return value.toFixed();
  const leaf = leafBuiltIn(value);
  if (leaf !== NOT_LEAF) return leaf;
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) copy[key] = recordedValue(inner);
  return copy;
}

/** decimal.js (Prisma's `Decimal`), recognised by shape: the runtime may be a second copy. */
function isDecimal(value: object): value is { toFixed(): string } {
  const candidate = value as { toFixed?: unknown; d?: unknown; e?: unknown; s?: unknown };
  return (
    typeof candidate.toFixed === 'function' &&
    Array.isArray(candidate.d) &&
    typeof candidate.e === 'number' &&
    typeof candidate.s === 'number'
  );
}

/** The recorded id of a row: its primary key, a composite one joined with `:`. */
export function rowId(primaryKey: readonly string[], row: RowState): string {
  return primaryKey.map((field) => String(recordedValue(row[field]))).join(':');
}

/** A Prisma `where` matching exactly the given rows by primary key (none when empty). */
export function keyWhere(primaryKey: readonly string[], rows: readonly RowState[]): RowState {
  const [only] = primaryKey;
  if (primaryKey.length === 1 && only !== undefined) {
    return { [only]: { in: rows.map((row) => row[only]) } };
  }
  return { OR: rows.map((row) => Object.fromEntries(primaryKey.map((f) => [f, row[f]]))) };
}

/** The `select` of a model's scalar fields (every column, whatever the client's `omit`). */
export function scalarSelect(model: PrismaModelInfo): Record<string, true> {
  return Object.fromEntries(model.scalars.map((field) => [field, true]));
}

/** The `select` of a model's primary key. */
export function keySelect(primaryKey: readonly string[]): Record<string, true> {
  return Object.fromEntries(primaryKey.map((field) => [field, true]));
}

/** The delegate of a model on a client (`tx.order`). */
export function delegateOf(db: PrismaClientLike, model: PrismaModelInfo): PrismaDelegate {
  const delegate = (db as unknown as Record<string, unknown>)[model.key];
  if (typeof delegate !== 'object' || delegate === null) {
    throw new AuditInternalError(`nestjs-audit/prisma: the client has no model "${model.name}".`);
  }
  return delegate as PrismaDelegate;
}

/** Calls one operation of a delegate. */
export async function call(
  delegate: PrismaDelegate,
  operation: string,
  args: unknown,
): Promise<unknown> {
  const method = delegate[operation];
  if (!method)
    throw new AuditInternalError(`nestjs-audit/prisma: the model has no operation "${operation}".`);
  return method.call(delegate, args);
}

/**
 * Locks the rows (`SELECT … FOR UPDATE`, in key order so that two bulk writers never deadlock
 * each other) in the transaction of `db`. A writer of one of them waits until this transaction
 * ends; a read after this one sees the last committed state of each row.
 */
export async function lockRows(
  db: PrismaClientLike,
  model: PrismaModelInfo,
  primaryKey: readonly string[],
  rows: readonly RowState[],
): Promise<void> {
  const columns = primaryKey.map((field) => quoteIdent(model.columns.get(field) ?? field));
  const tuple = `(${columns.join(', ')})`;
  for (let start = 0; start < rows.length; start += LOCK_CHUNK) {
    const chunk = rows.slice(start, start + LOCK_CHUNK);
    const values: unknown[] = [];
    const tuples = chunk.map((row) => {
      const marks = primaryKey.map((field) => {
        values.push(row[field]);
        return `$${values.length}`;
      });
      return `(${marks.join(', ')})`;
    });
    await db.$queryRawUnsafe(
      `SELECT 1 FROM ${model.table} WHERE ${tuple} IN (${tuples.join(', ')}) ORDER BY ${columns.join(', ')} FOR UPDATE`,
      ...values,
    );
  }
}

/** Reads the full scalar state of rows by a Prisma `where`, in the transaction of `db`. */
export async function readRows(
  db: PrismaClientLike,
  model: PrismaModelInfo,
  where: unknown,
): Promise<RowState[]> {
  const rows = await call(delegateOf(db, model), 'findMany', {
    where,
    select: scalarSelect(model),
  });
  return rows as RowState[];
}

/** A row's state as recorded: values normalised, ignored fields left out. */
export function recordedState(row: RowState, ignore: readonly string[] | undefined): RowState {
  const state: RowState = {};
  for (const [field, value] of Object.entries(row)) {
    if (ignore?.includes(field)) continue;
    state[field] = recordedValue(value);
  }
  return state;
}
