import { createHash } from 'node:crypto';
import { describe } from '../../common/option-checks';

/**
 * Every database object name the PostgreSQL store uses, derived from the configured schema and
 * table. Names are validated once and always quoted, so configuration can never inject SQL and
 * the case of a name is kept as written.
 */
export interface PostgresNames {
  /** Schema name as configured (unquoted), for messages and catalog lookups. */
  schema: string;
  /** Table name as configured (unquoted). */
  table: string;
  /** `"schema"` */
  quotedSchema: string;
  /** `"schema"."table"`: the events table. */
  qualifiedTable: string;
  /** `"schema"."table_migrations"`: one row per applied schema step. */
  qualifiedMigrations: string;
  /** `"schema"."table_alarms"`: the alarm outbox. */
  qualifiedAlarms: string;
  /** `"schema"."table_alarm_tries"`: one row per delivery attempt. */
  qualifiedAlarmAttempts: string;
  /** `"schema"."table_alarm_keys"`: when each digest key may send its next digest. */
  qualifiedAlarmDigests: string;
  /** `"schema"."table_relay"`: events whose ECS lines are not confirmed written (atomic mode). */
  qualifiedRelay: string;
  /** Key of the transaction-level advisory lock that serialises DDL on this table. */
  lockKey: string;
  /** Quoted, unqualified name of one index or constraint: `"table_<suffix>"`. */
  object(suffix: string): string;
  /**
   * Unquoted name of the partition holding one UTC month (year 1 to 9999, month 1 to 12),
   * e.g. `audit_events_y2026m03`.
   */
  partition(year: number, month: number): string;
  /** `"schema"."<partition>"` */
  qualified(name: string): string;
}

/** PostgreSQL truncates identifiers longer than this many bytes (NAMEDATALEN - 1). */
const MAX_IDENTIFIER_BYTES = 63;
/**
 * Longest suffix appended to the table name (`_resource_ts`, `_alarm_tries`, `_alarms_pkey`; a
 * partition adds `_y2026m03`, the migrations table `_migrations`), so that no derived name is
 * silently truncated. New objects must keep to it, or existing table names would stop fitting.
 */
const LONGEST_SUFFIX = '_resource_ts'.length;
/** Longest schema name the store accepts (nothing is derived from it). */
export const MAX_SCHEMA_NAME_LENGTH = MAX_IDENTIFIER_BYTES;
/** Longest table name the store accepts. */
export const MAX_TABLE_NAME_LENGTH = MAX_IDENTIFIER_BYTES - LONGEST_SUFFIX;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function quote(name: string): string {
  // Validated names contain no double quote; quoting keeps reserved words and case intact.
  return `"${name}"`;
}

/**
 * Checks one configured identifier.
 * @returns a problem description, or `undefined` when the name is usable.
 */
export function identifierProblem(
  kind: 'schema' | 'table',
  value: unknown,
  maxLength: number,
): string | undefined {
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    return `expected a ${kind} name made of letters, digits and underscores, not starting with a digit (such as "audit_events"), got ${describe(value)}`;
  }
  if (value.length > maxLength) {
    return `${describe(value)} is ${value.length} characters long; use at most ${maxLength} so that the names derived from it fit PostgreSQL's ${MAX_IDENTIFIER_BYTES}-byte limit`;
  }
  if (kind === 'schema' && value.toLowerCase().startsWith('pg_')) {
    return `${describe(value)} starts with "pg_", which PostgreSQL reserves for system schemas; choose another name`;
  }
  return undefined;
}

/**
 * A 64-bit advisory lock key for one table, as a decimal string. Derived from the names (not
 * from an OID) so that instances that have not created anything yet agree on it.
 */
function lockKeyOf(schema: string, table: string): string {
  const digest = createHash('sha256').update(`nestjs-audit:${schema}.${table}`).digest();
  return digest.readBigInt64BE(0).toString();
}

/** Derives every object name from validated `schema` and `table` names. */
export function postgresNames(schema: string, table: string): PostgresNames {
  const quotedSchema = quote(schema);
  const qualified = (name: string) => `${quotedSchema}.${quote(name)}`;
  return {
    schema,
    table,
    quotedSchema,
    qualifiedTable: qualified(table),
    qualifiedMigrations: qualified(`${table}_migrations`),
    qualifiedAlarms: qualified(`${table}_alarms`),
    qualifiedAlarmAttempts: qualified(`${table}_alarm_tries`),
    qualifiedAlarmDigests: qualified(`${table}_alarm_keys`),
    qualifiedRelay: qualified(`${table}_relay`),
    lockKey: lockKeyOf(schema, table),
    object: (suffix) => quote(`${table}_${suffix}`),
    partition: (year, month) =>
      `${table}_y${String(year).padStart(4, '0')}m${String(month).padStart(2, '0')}`,
    qualified,
  };
}
