/**
 * The parts of a Prisma 7 client this integration uses, typed structurally so that no Prisma type
 * appears in the library's public declarations and `@prisma/client` stays an optional peer.
 */

/** A model delegate (`prisma.order`): every operation takes one argument object. */
export type PrismaDelegate = Record<string, ((args?: unknown) => PromiseLike<unknown>) | undefined>;

/** A Prisma client or interactive-transaction client, as far as this integration calls it. */
export interface PrismaClientLike {
  $queryRawUnsafe(query: string, ...values: unknown[]): PromiseLike<unknown>;
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>;
  /** Called with the client it belongs to (or a transaction client) as `this`. */
  $transaction: (this: unknown, arg: unknown, options?: unknown) => PromiseLike<unknown>;
  $extends(extension: unknown): unknown;
}

/** One field of the runtime data model the generated client carries. */
export interface RuntimeField {
  name: string;
  /** `scalar`, `enum`, `object` (a relation) or `unsupported`. */
  kind: string;
  type: string;
  dbName?: string | null;
}

/** One model of the runtime data model. */
export interface RuntimeModel {
  fields: RuntimeField[];
  dbName?: string | null;
}

/** The internals read once, when the extension is applied; each read is guarded. */
export interface PrismaInternals {
  _runtimeDataModel?: { models?: Record<string, RuntimeModel> };
  _engineConfig?: { adapter?: { provider?: string; options?: { schema?: unknown } } };
}

/** The transaction a query runs in, as the query extension's internal parameters say. */
export interface QueryTransaction {
  kind: 'itx' | 'batch';
  id: string | number;
}

/** What Prisma hands to an `$allModels.$allOperations` query extension. */
export interface QueryParams {
  model?: string;
  operation: string;
  args: unknown;
  query: (args: unknown) => PromiseLike<unknown>;
  __internalParams?: { transaction?: QueryTransaction };
}

/**
 * The value an extension function returns, as `$extends` expects it: a client whose extension
 * arguments add nothing to the client's type (so `$extends(auditExtension(...))` keeps every
 * model and method typed exactly as before).
 */
export interface PrismaExtensionResult {
  $extends: {
    extArgs: {
      result: Record<never, never>;
      model: Record<never, never>;
      query: Record<never, never>;
      client: Record<never, never>;
    };
  };
}
