import type { OrmAuditOptions } from '../orm-audit.options';

/** Options of the Prisma integration (`nestjs-audit/prisma`). */
export interface PrismaAuditOptions extends OrmAuditOptions {
  /**
   * The soft-delete convention: the field that marks a row deleted (a nullable `DateTime` or a
   * `Boolean` such as `deletedAt`), for every model that has it, or per model name. An update that
   * sets it (from `null`/`false` to a value) is recorded as `soft-delete`, one that clears it as
   * `restore`; other updates stay `update`. Detected from the row as the write found it and left
   * it.
   * @default none (every update is an `update`)
   * @example 'deletedAt'
   * @example { Order: 'deletedAt', Customer: 'archived' }
   */
  softDelete?: string | Readonly<Record<string, string>>;
  /**
   * `updateMany` / `deleteMany` (and their `AndReturn` forms): most rows recorded one by one
   * (each locked and read before the write). When more rows match, the write runs as the app
   * asked and one summary change is recorded instead: the criteria, the values set and the
   * number of rows touched.
   * @default 1000
   */
  maxBulkRows?: number;
  /**
   * The PostgreSQL schema of the tables, for the integration's own SQL (row locks, primary-key
   * lookup).
   * @default the `schema` option of `PrismaPg`, else the connection's `search_path`
   */
  schema?: string;
  /**
   * Options of the transaction the integration opens around a write made outside
   * `$transaction()` (so that its before-state is read and locked in the write's transaction).
   * Concurrent writers of one row wait for each other inside it: under contention raise
   * `timeout` (Prisma's default is 5 s, counted from the start, lock waits included).
   * @default the client's `transactionOptions`
   */
  transactionOptions?: { maxWait?: number; timeout?: number; isolationLevel?: string };
}

/** The field marking a soft-deleted row of this model, if any. */
export function softDeleteFieldOf(options: PrismaAuditOptions, model: string): string | undefined {
  const convention = options.softDelete;
  if (convention === undefined || typeof convention === 'string') return convention;
  return Object.prototype.hasOwnProperty.call(convention, model) ? convention[model] : undefined;
}

/** Whether a soft-delete mark holds a value (a date, `true`, a non-empty value). */
export function isMarked(value: unknown): boolean {
  return value !== null && value !== undefined && value !== false;
}
