import type { PrismaClientLike, PrismaInternals, RuntimeModel } from './prisma-client-shape';
import { AuditConfigurationError } from '../../common/audit-configuration.error';

/** What the integration knows of one model: its table, columns, fields and primary key. */
export interface PrismaModelInfo {
  /** The model name (`OrderItem`). */
  name: string;
  /** The client property (`orderItem`). */
  key: string;
  /** The quoted, schema-qualified table (`"shop"."order_items"`). */
  table: string;
  /** Scalar and enum field names, in schema order. */
  scalars: string[];
  /** Relation field name → related model name. */
  relations: Map<string, string>;
  /** Field name → column name. */
  columns: Map<string, string>;
  /** Primary key field names, in key order; empty when the table has none. */
  primaryKey: string[];
}

const PRIMARY_KEY_SQL = `SELECT a.attname AS "column"
  FROM pg_index i
  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
 WHERE i.indrelid = to_regclass($1::text) AND i.indisprimary
 ORDER BY array_position(i.indkey::int2[], a.attnum)`;

/** Quotes a PostgreSQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The models of one client, read from the runtime data model the generated client carries. That
 * model names no primary keys, so each table's key is read from the PostgreSQL catalog the first
 * time a write of the model is captured (and kept).
 */
export class PrismaModelCatalog {
  private readonly models = new Map<string, PrismaModelInfo>();
  private readonly keys = new Map<string, Promise<string[]>>();

  private constructor(
    runtime: Record<string, RuntimeModel>,
    private readonly schema: string | undefined,
  ) {
    for (const [name, model] of Object.entries(runtime))
      this.models.set(name, this.infoOf(name, model));
  }

  /**
   * Reads the catalog of a client.
   * @throws AuditConfigurationError when the client is not a Prisma 7 client on PostgreSQL.
   */
  static of(client: PrismaClientLike, schema: string | undefined): PrismaModelCatalog {
    const internals = client as unknown as PrismaInternals;
    const models = internals._runtimeDataModel?.models;
    if (!models) {
      throw new AuditConfigurationError(
        'nestjs-audit/prisma: this client carries no runtime data model. Apply auditExtension() to a Prisma 7 client: new PrismaClient({ adapter }).$extends(auditExtension(recorder)).',
      );
    }
    const adapter = internals._engineConfig?.adapter;
    if (adapter?.provider !== undefined && adapter.provider !== 'postgres') {
      throw new AuditConfigurationError(
        `nestjs-audit/prisma: the client's adapter is "${adapter.provider}", but the Prisma integration supports PostgreSQL only (@prisma/adapter-pg).`,
      );
    }
    const adapterSchema = adapter?.options?.schema;
    return new PrismaModelCatalog(
      models,
      schema ?? (typeof adapterSchema === 'string' ? adapterSchema : undefined),
    );
  }

  /** The model of that name, if the client has it. */
  get(name: string): PrismaModelInfo | undefined {
    return this.models.get(name);
  }

  /**
   * The primary key fields of a model, read once from the catalog through `db` (the
   * transaction's client, so the read needs no other connection).
   */
  async primaryKey(model: PrismaModelInfo, db: PrismaClientLike): Promise<string[]> {
    if (model.primaryKey.length > 0) return model.primaryKey;
    let pending = this.keys.get(model.name);
    if (!pending) {
      pending = this.readPrimaryKey(model, db);
      this.keys.set(model.name, pending);
      // A failed read (e.g. a transaction already aborted) is tried again next time.
      pending.then(undefined, () => this.keys.delete(model.name));
    }
    model.primaryKey = await pending;
    return model.primaryKey;
  }

  private async readPrimaryKey(model: PrismaModelInfo, db: PrismaClientLike): Promise<string[]> {
    const rows = (await db.$queryRawUnsafe(PRIMARY_KEY_SQL, model.table)) as { column: string }[];
    const fieldOf = new Map([...model.columns].map(([field, column]) => [column, field]));
    return rows.map((row) => fieldOf.get(row.column) ?? row.column);
  }

  private infoOf(name: string, model: RuntimeModel): PrismaModelInfo {
    const scalars: string[] = [];
    const relations = new Map<string, string>();
    const columns = new Map<string, string>();
    for (const field of model.fields) {
      if (field.kind === 'object') relations.set(field.name, field.type);
      else if (field.kind === 'scalar' || field.kind === 'enum') {
        scalars.push(field.name);
        columns.set(field.name, field.dbName ?? field.name);
      }
    }
    const table = quoteIdent(model.dbName ?? name);
    return {
      name,
      key: name.charAt(0).toLowerCase() + name.slice(1),
      table: this.schema === undefined ? table : `${quoteIdent(this.schema)}.${table}`,
      scalars,
      relations,
      columns,
      primaryKey: [],
    };
  }
}
