import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import type { DataSource, EntityMetadata, QueryRunner } from 'typeorm';
import type { AuditSqlDialect } from '../../stores/sql-append';

/** A loaded entity or the values of a write, as TypeORM hands them to subscribers. */
type Row = Record<string, unknown>;

function isObject(value: unknown): value is Row {
  return value !== null && typeof value === 'object';
}

/**
 * The id of a related row: the related entity's primary key (or the raw key TypeORM put in the
 * property with `loadAllRelationIds`). Relations are recorded by id, never as nested rows.
 */
function relationId(value: unknown): unknown {
  if (!isObject(value) || value instanceof Date) return value;
  const keys = Object.keys(value);
  const only = keys.length === 1 ? keys[0] : undefined;
  if ('id' in value) return value.id;
  return only === undefined ? undefined : value[only];
}

/**
 * The state of one row by property name: columns as the entity holds them (transformers
 * applied), each owning relation (many-to-one, owning one-to-one) by the related id. Collections
 * (one-to-many, many-to-many) are rows of their own and are recorded as their own changes.
 * Properties left undefined (not selected, not set) are left out.
 */
export function rowState(metadata: EntityMetadata, entity: Row, ignore: readonly string[]): Row {
  const state: Row = {};
  for (const column of metadata.columns) {
    if (column.relationMetadata || ignore.includes(column.propertyName)) continue;
    const value: unknown = column.getEntityValue(entity);
    if (value !== undefined) state[column.propertyPath] = value;
  }
  for (const relation of metadata.relations) {
    if (!relation.isOwning || relation.isManyToMany) continue;
    if (ignore.includes(relation.propertyName)) continue;
    const value = entity[relation.propertyName];
    if (value === undefined) continue;
    state[relation.propertyName] = value === null ? null : relationId(value);
  }
  return state;
}

/** The row's primary key as text; a composite key joins its parts with `:`. */
export function rowId(metadata: EntityMetadata, entity: Row): string | undefined {
  const parts: string[] = [];
  for (const column of metadata.primaryColumns) {
    const value: unknown = column.getEntityValue(entity);
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') {
      parts.push(String(value));
    } else if (value instanceof Date) {
      parts.push(value.toISOString());
    } else {
      return undefined;
    }
  }
  return parts.length === 0 ? undefined : parts.join(':');
}

/** One entity's row read: SQL built once, and which column each selected value belongs to. */
interface RowRead {
  text: string;
  columns: readonly ColumnMetadata[];
}

const rowReads = new WeakMap<EntityMetadata, RowRead>();

/**
 * `SELECT <every column> FROM <table> WHERE <primary key> [FOR UPDATE]`, written once per
 * entity: a query builder per write would cost more than the read itself.
 */
function rowRead(queryRunner: QueryRunner, metadata: EntityMetadata): RowRead {
  const cached = rowReads.get(metadata);
  if (cached) return cached;
  const driver = queryRunner.connection.driver;
  const postgres = queryRunner.connection.options.type === 'postgres';
  // Foreign keys without a property of their own are "virtual" columns, but columns all the same.
  const columns = metadata.columns.filter((column) => !column.isVirtualProperty);
  const select = columns
    .map((column, i) => `${driver.escape(column.databaseName)} AS ${driver.escape(`c${i}`)}`)
    .join(', ');
  const table = metadata.tablePath
    .split('.')
    .map((part) => driver.escape(part))
    .join('.');
  const where = metadata.primaryColumns
    .map((column, i) => `${driver.escape(column.databaseName)} = ${postgres ? `$${i + 1}` : '?'}`)
    .join(' AND ');
  const read = {
    text: `SELECT ${select} FROM ${table} WHERE ${where}${locksRows(queryRunner) ? ' FOR UPDATE' : ''}`,
    columns,
  };
  rowReads.set(metadata, read);
  return read;
}

/**
 * Reads the row inside the write's transaction, locked until it ends (`SELECT … FOR UPDATE` on
 * PostgreSQL; SQLite serialises writers itself), so that the state returned is exactly the one
 * this write replaces, whatever other transactions do meanwhile. Values are hydrated as TypeORM
 * hydrates an entity's (column types, transformers); a foreign key stands for its relation.
 */
export async function readLocked(
  queryRunner: QueryRunner,
  metadata: EntityMetadata,
  entity: Row,
  ignore: readonly string[],
): Promise<Row | undefined> {
  const keys: unknown[] = [];
  for (const column of metadata.primaryColumns) {
    const key: unknown = column.getEntityValue(entity);
    if (key === undefined || key === null) return undefined;
    keys.push(key);
  }
  const read = rowRead(queryRunner, metadata);
  const rows = (await queryRunner.query(read.text, keys)) as Row[];
  const raw = rows[0];
  if (!raw) return undefined;
  const driver = queryRunner.connection.driver;
  const state: Row = {};
  read.columns.forEach((column, i) => {
    const relation = column.relationMetadata;
    const name = relation ? relation.propertyName : column.propertyPath;
    if (ignore.includes(name) || (relation && (!relation.isOwning || relation.isManyToMany))) {
      return;
    }
    const value: unknown = raw[`c${i}`];
    state[name] = relation ? value : (driver.prepareHydratedValue(value, column) as unknown);
  });
  return state;
}

/** Whether the database takes row locks (`FOR UPDATE`); SQLite locks the whole file instead. */
function locksRows(queryRunner: QueryRunner): boolean {
  const type: string = queryRunner.connection.options.type;
  return type !== 'better-sqlite3' && type !== 'sqlite' && type !== 'sqljs';
}

/** The SQL dialect of an atomic append on this connection, if the store can share it. */
export function dialectOf(queryRunner: QueryRunner): AuditSqlDialect | undefined {
  return atomicDialectOf(queryRunner.connection);
}

/**
 * The SQL dialect of atomic appends on a data source: PostgreSQL, or SQLite through
 * better-sqlite3 (whose one synchronous connection a store can share); `undefined` for others.
 */
export function atomicDialectOf(dataSource: DataSource): AuditSqlDialect | undefined {
  const type: string = dataSource.options.type;
  if (type === 'postgres') return 'postgres';
  return type === 'better-sqlite3' ? 'sqlite' : undefined;
}

/** The better-sqlite3 connection of a data source (open once it is initialised), if it has one. */
export function sqliteConnectionOf(dataSource: DataSource): object | undefined {
  if (dataSource.options.type !== 'better-sqlite3') return undefined;
  const connection = (dataSource.driver as { databaseConnection?: unknown }).databaseConnection;
  return connection !== null && typeof connection === 'object' ? connection : undefined;
}
