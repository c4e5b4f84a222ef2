import { AuditLogger } from '../../common/audit-logger';
import type { AuditChangeRecorder } from '../audit-change-recorder';
import { auditsEntity } from '../orm-audit.options';
import type { TransactionChanges } from '../transaction-changes';
import type { PrismaAuditOptions } from './prisma-audit.options';
import type { PrismaClientLike, PrismaExtensionResult, QueryParams } from './prisma-client-shape';
import { PrismaModelCatalog } from './prisma-model-catalog';
import { call, delegateOf } from './prisma-row-state';
import { PrismaTransactions } from './prisma-transactions';
import { PrismaWriteCapture, WRITE_OPERATIONS } from './prisma-write-capture';
import { AuditConfigurationError } from '../../common/audit-configuration.error';

/**
 * A Prisma 7 client extension that records every write of the audited models where it happens:
 * inside its transaction, with the row's state locked and read before the write and read again
 * after it. Changes of a committed transaction go to {@link AuditChangeRecorder} (the request's
 * `@Audited` event when they are its target's, events of their own otherwise); a rolled-back
 * transaction records nothing.
 *
 * - Writes outside `$transaction()` run in a transaction the extension opens.
 * - Writes in `prisma.$transaction(async (tx) => …)` use that transaction; call `$transaction`
 *   on the extended client (or on `tx`, a savepoint).
 * - `createMany` runs as `createManyAndReturn`; `updateMany`/`deleteMany` lock, read and write
 *   exactly the matching rows (one change per row, up to `maxBulkRows`).
 * - Writes in an array `$transaction([...])` are recorded by criteria (no before-state).
 *
 * PostgreSQL only (`@prisma/adapter-pg`).
 *
 * @param recorder - `app.get(AuditChangeRecorder)` or an injected one
 * @param options - models, soft-delete convention, atomic mode
 * @returns an extension for `$extends()`
 * @throws AuditConfigurationError with `atomic: true` when the audit store cannot write in the
 *   app's PostgreSQL transactions (it must be `PostgresAuditStore` on the same database)
 * @example
 * const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString }) })
 *   .$extends(auditExtension(app.get(AuditChangeRecorder), { softDelete: 'deletedAt' }));
 */
export function auditExtension(
  recorder: AuditChangeRecorder,
  options: PrismaAuditOptions = {},
): (client: unknown) => PrismaExtensionResult {
  if (options.atomic && recorder.atomicDialect !== 'postgres') {
    throw new AuditConfigurationError(
      `nestjs-audit/prisma: atomic: true needs PostgresAuditStore on the Prisma client's own database, but the audit store cannot write in another connection\u2019s transaction. Configure AuditModule.forRoot({ store: new PostgresAuditStore(...) }) on the same database, or leave atomic off.`,
    );
  }
  if (options.atomic) recorder.startAtomic(options, 'nestjs-audit/prisma');
  return (client: unknown) =>
    new PrismaAuditBinding(client as PrismaClientLike, recorder, options).extended;
}

/** The extension applied to one client. */
class PrismaAuditBinding {
  readonly extended: PrismaExtensionResult;
  private readonly logger = new AuditLogger();
  private readonly catalog: PrismaModelCatalog;
  private readonly capture: PrismaWriteCapture;
  private readonly transactions: PrismaTransactions;
  private warnedForeign = false;

  constructor(
    client: PrismaClientLike,
    private readonly recorder: AuditChangeRecorder,
    private readonly options: PrismaAuditOptions,
  ) {
    this.catalog = PrismaModelCatalog.of(client, options.schema);
    this.capture = new PrismaWriteCapture(this.catalog, options);
    // The built-in method, called on the extended client (`this`), so that the transaction
    // client it hands out carries every extension, this one included.
    this.transactions = new PrismaTransactions(recorder, client.$transaction, (tx, changes) =>
      this.beforeCommit(tx, changes),
    );
    const transactions = this.transactions;
    this.extended = client.$extends({
      name: 'nestjs-audit',
      client: {
        $transaction(this: unknown, arg: unknown, transactionOptions?: unknown) {
          return transactions.run(this, arg, transactionOptions);
        },
      },
      query: {
        $allModels: {
          $allOperations: (params: QueryParams) => this.handle(params),
        },
      },
    }) as PrismaExtensionResult;
  }

  private async handle(params: QueryParams): Promise<unknown> {
    const { model: name, operation, query } = params;
    const args = (params.args ?? {}) as Record<string, unknown>;
    const model = name === undefined ? undefined : this.catalog.get(name);
    if (!model || !WRITE_OPERATIONS.has(operation) || !auditsEntity(this.options, model.name)) {
      return query(params.args);
    }
    const transaction = params.__internalParams?.transaction;
    if (!transaction) {
      // Its own transaction, so that the before-state is read and locked where the write runs.
      const client = this.extended as unknown as PrismaClientLike;
      return client.$transaction(
        (tx: PrismaClientLike) => call(delegateOf(tx, model), operation, params.args),
        this.options.transactionOptions,
      );
    }
    const frame = this.transactions.frameOf(transaction);
    if (!frame) {
      this.warnForeign();
      return query(params.args);
    }
    if (frame.kind === 'batch' || !frame.tx) {
      if (this.options.atomic) {
        throw new AuditConfigurationError(
          `nestjs-audit/prisma: atomic auditing cannot write events inside an array $transaction([...]) (${model.name}.${operation}). Use an interactive transaction: prisma.$transaction(async (tx) => ...).`,
        );
      }
      return this.capture.summary(
        { changes: frame.changes, model, operation, args, query },
        undefined,
      );
    }
    return this.capture.run({
      db: frame.tx,
      changes: frame.changes,
      model,
      operation,
      args,
      query,
    });
  }

  /** Atomic mode: the events are inserted by the transaction itself, right before it commits. */
  private async beforeCommit(tx: PrismaClientLike, changes: TransactionChanges): Promise<void> {
    if (!this.options.atomic || changes.isEmpty) return;
    for (const statement of await this.recorder.atomicStatements(changes, 'postgres')) {
      await tx.$executeRawUnsafe(statement.text, ...statement.values);
    }
  }

  private warnForeign(): void {
    if (this.warnedForeign) return;
    this.warnedForeign = true;
    this.logger.warn(
      'nestjs-audit/prisma: a write ran in a transaction that was not started through the audited client; it is not recorded. Call $transaction() on the client returned by $extends(auditExtension(...)).',
    );
  }
}
