import type { PostgresConnections } from './postgres-connections';
import type { PostgresNames } from './postgres-names';
import { toPostgresTimestamp } from './postgres-timestamp';
import type { PostgresSql } from './postgres-session';
import { AuditRecordError } from '../../common/audit-record.error';
import { AuditStoreError } from '../../common/audit-store.error';

/**
 * Monthly partitions of the events table, one per UTC month, named `<table>_yYYYYmMM`.
 *
 * Partitions are created on demand, just before a batch that needs them is inserted, so the
 * table never needs a DEFAULT partition. There deliberately is none: rows in a default
 * partition would escape retention (no month partition to drop holds them), and once it held a
 * row of some month, creating that month's partition would fail until those rows were moved out
 * by hand.
 *
 * Retention drops whole months instead of deleting rows, e.g. for March 2025:
 * `ALTER TABLE "public"."audit_events" DETACH PARTITION "public"."audit_events_y2025m03" CONCURRENTLY;`
 * then `DROP TABLE "public"."audit_events_y2025m03";` (or a plain `DROP TABLE` of the partition,
 * which briefly locks the whole table). An event of a dropped month that arrives later (a
 * backfill, a spool replay) re-creates that month's partition.
 */
export class PostgresMonthlyPartitions {
  /** Months known to have an attached partition, as `year * 12 + monthIndex`. */
  private readonly known = new Set<number>();

  /** @param names the table whose partitions these are. */
  constructor(private readonly names: PostgresNames) {}

  /**
   * The UTC month of an instant, as `year * 12 + monthIndex`.
   * @throws AuditRecordError for instants before year 1 or after 9999, which have no partition name.
   */
  static monthOf(ms: number): number {
    const date = new Date(ms);
    const year = date.getUTCFullYear();
    if (year < 1 || year > 9999) {
      throw new AuditRecordError(
        `Cannot store an audit event dated ${date.toISOString()} in a monthly-partitioned table: only years 1 to 9999 have partitions. Fix the event's timestamp.`,
      );
    }
    return year * 12 + date.getUTCMonth();
  }

  /** Months of `months` that may still lack a partition. */
  missing(months: Iterable<number>): number[] {
    return [...new Set(months)].filter((month) => !this.known.has(month)).sort((a, b) => a - b);
  }

  /** Forgets what is known, e.g. after an insert found a partition missing (dropped by retention). */
  forget(): void {
    this.known.clear();
  }

  /** Records the partitions that are attached now. Runs at start-up, to skip needless DDL later. */
  async load(sql: PostgresSql): Promise<void> {
    for (const month of await this.attached(sql)) this.known.add(month);
  }

  /**
   * Creates the partitions of `months` that do not exist. Runs inside a transaction and takes
   * the table's advisory lock first: two sessions racing through `CREATE TABLE IF NOT EXISTS`
   * can otherwise both miss the other's table and one fails on a catalog unique key.
   * @throws AuditStoreError when a table with a partition's name exists but is not attached (e.g. detached
   *   for archiving and not dropped), since rows of that month would have nowhere to go.
   */
  async create(sql: PostgresSql, months: readonly number[]): Promise<void> {
    if (months.length === 0) return;
    await sql('SELECT pg_advisory_xact_lock($1::bigint)', [this.names.lockKey]);
    for (const month of months) {
      const name = this.nameOf(month);
      const from = toPostgresTimestamp(Date.UTC(Math.floor(month / 12), month % 12, 1));
      const to = toPostgresTimestamp(Date.UTC(Math.floor((month + 1) / 12), (month + 1) % 12, 1));
      await sql(
        `CREATE TABLE IF NOT EXISTS ${this.names.qualified(name)} PARTITION OF ${this.names.qualifiedTable}
          FOR VALUES FROM ('${from}') TO ('${to}')`,
      );
    }
    const attached = await this.attached(sql);
    const detached = months.filter((month) => !attached.has(month));
    if (detached.length > 0) {
      const tables = detached.map((month) => this.names.qualified(this.nameOf(month)));
      throw new AuditStoreError(
        `Cannot store audit events in ${this.names.qualifiedTable}: ${tables.join(', ')} exist but are not partitions of it (detached for archiving?). Drop or rename them, or attach them again with ALTER TABLE ... ATTACH PARTITION.`,
      );
    }
    for (const month of months) this.known.add(month);
  }

  /**
   * Creates, in a transaction of its own on `connections`, the partitions of `months` that may
   * still be missing (see {@link PostgresMonthlyPartitions.create}).
   */
  async ensure(connections: PostgresConnections, months: readonly number[]): Promise<void> {
    const missing = this.missing(months);
    if (missing.length === 0) return;
    await connections.withSession((session) =>
      session.transaction((sql) => this.create(sql, missing)),
    );
  }

  private nameOf(month: number): string {
    return this.names.partition(Math.floor(month / 12), (month % 12) + 1);
  }

  private async attached(sql: PostgresSql): Promise<Set<number>> {
    const rows = await sql(
      `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = to_regclass($1)`,
      [this.names.qualifiedTable],
    );
    const pattern = new RegExp(`^${this.names.table}_y(\\d{4})m(\\d{2})$`);
    const months = new Set<number>();
    for (const [relname] of rows) {
      const match = typeof relname === 'string' ? pattern.exec(relname) : null;
      if (match) months.add(Number(match[1]) * 12 + Number(match[2]) - 1);
    }
    return months;
  }
}
