import type { OrmAuditOptions } from '../orm-audit.options';

/** Options of the MikroORM integration (`nestjs-audit/mikro-orm`). */
export interface MikroOrmAuditOptions extends OrmAuditOptions {
  /**
   * The soft-delete convention: the property that marks a row deleted (a nullable date or
   * boolean such as `deletedAt`), for every entity that has it, or per entity name. An update
   * that sets it (from `null`/`false` to a value) is recorded as `soft-delete`, one that clears
   * it as `restore`; other updates stay `update`. Detected from the row as the write found it
   * and left it, so it works whether the app sets the property itself or turns `em.remove()`
   * into an update in an `onFlush` subscriber.
   * @default none (every update is an `update`)
   * @example 'deletedAt'
   * @example { Order: 'deletedAt', Customer: 'archived' }
   */
  softDelete?: string | Readonly<Record<string, string>>;
  /**
   * `nativeUpdate()` / `nativeDelete()` of {@link MikroOrmAuditSubscriber}: most rows recorded
   * one by one (each locked and read before the write). When more rows match, one summary
   * change is recorded instead: the criteria, the values set and the number of rows touched.
   * @default 1000
   */
  maxBulkRows?: number;
}

/** The property marking a soft-deleted row of this entity, if any. */
export function softDeletePropertyOf(
  options: MikroOrmAuditOptions,
  entityName: string,
): string | undefined {
  const convention = options.softDelete;
  if (convention === undefined || typeof convention === 'string') return convention;
  return Object.prototype.hasOwnProperty.call(convention, entityName)
    ? convention[entityName]
    : undefined;
}

/** Whether a soft-delete mark holds a value (a date, `true`, a non-empty value). */
export function isMarked(value: unknown): boolean {
  return value !== null && value !== undefined && value !== false;
}
