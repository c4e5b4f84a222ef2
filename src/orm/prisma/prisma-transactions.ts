import { AsyncLocalStorage } from 'node:async_hooks';
import type { AuditChangeRecorder } from '../audit-change-recorder';
import { TransactionChanges } from '../transaction-changes';
import type { PrismaClientLike, QueryTransaction } from './prisma-client-shape';

/** One transaction started through the audited client, while its callback (or batch) runs. */
export interface TransactionFrame {
  kind: 'itx' | 'batch';
  /** The changes of this transaction (of this savepoint, for a nested one). */
  changes: TransactionChanges;
  /** The transaction client handed to the callback (interactive transactions only). */
  tx?: PrismaClientLike;
  /** Prisma's id of the transaction, learned from its first query. */
  id?: string | number;
  /** The frame this one runs inside (in the caller's async context). */
  outer: TransactionFrame | undefined;
}

type TransactionMethod = (this: unknown, arg: unknown, options?: unknown) => PromiseLike<unknown>;
type Callback = (tx: PrismaClientLike) => PromiseLike<unknown>;

/**
 * Tracks the transactions of an audited client. `$transaction` is wrapped: the changes of an
 * interactive transaction are collected while its callback runs and handed to the recorder once
 * it committed (a rolled-back one records nothing); a nested `tx.$transaction()` (a savepoint)
 * adds its changes to the enclosing transaction only if it succeeded.
 */
export class PrismaTransactions {
  private readonly storage = new AsyncLocalStorage<TransactionFrame>();
  private readonly byClient = new WeakMap<object, TransactionFrame>();

  constructor(
    private readonly recorder: AuditChangeRecorder,
    private readonly builtin: TransactionMethod,
    private readonly beforeCommit: (
      tx: PrismaClientLike,
      changes: TransactionChanges,
    ) => Promise<void>,
  ) {}

  /** The `$transaction` of the audited client (and of its transaction clients). */
  run(self: unknown, arg: unknown, options: unknown): Promise<unknown> {
    if (typeof arg === 'function') return this.interactive(self, arg as Callback, options);
    return this.batch(self, arg, options);
  }

  /**
   * The frame of the transaction a query runs in: the innermost frame of the caller's context
   * with that transaction's id (a frame whose transaction has not run a query yet takes it).
   */
  frameOf(transaction: QueryTransaction): TransactionFrame | undefined {
    for (let frame = this.storage.getStore(); frame; frame = frame.outer) {
      if (frame.kind !== transaction.kind) continue;
      if (frame.id === undefined) frame.id = transaction.id;
      if (frame.id === transaction.id) return frame;
    }
    return undefined;
  }

  private async interactive(self: unknown, callback: Callback, options: unknown): Promise<unknown> {
    const enclosing =
      typeof self === 'object' && self !== null ? this.byClient.get(self) : undefined;
    const changes = enclosing
      ? new TransactionChanges(enclosing.changes.context)
      : this.recorder.begin();
    const outer = this.storage.getStore();
    const result = await this.builtin.call(
      self,
      (tx: PrismaClientLike) => {
        const frame: TransactionFrame = { kind: 'itx', changes, tx, outer };
        if (enclosing?.id !== undefined) frame.id = enclosing.id;
        this.byClient.set(tx, frame);
        return this.storage.run(frame, async () => {
          const value = await callback(tx);
          if (!enclosing) await this.beforeCommit(tx, changes);
          return value;
        });
      },
      options,
    );
    if (enclosing) for (const change of changes.list()) enclosing.changes.add(change);
    else await this.recorder.committed(changes);
    return result;
  }

  private async batch(self: unknown, promises: unknown, options: unknown): Promise<unknown> {
    const changes = this.recorder.begin();
    const frame: TransactionFrame = { kind: 'batch', changes, outer: this.storage.getStore() };
    const result = await this.storage.run(frame, () => this.builtin.call(self, promises, options));
    await this.recorder.committed(changes);
    return result;
  }
}
