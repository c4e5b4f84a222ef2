import type { AuditContext } from '../capture/audit-context';
import { foldRowChanges, rowKey, type AuditRowChange } from '../event/row-change';

/**
 * The row changes of one ORM transaction, in the order they were written, with the changes of
 * one row folded into one (first before-state, last after-state). An integration adds to it
 * while the transaction runs and hands it to {@link AuditChangeRecorder} once it committed; a
 * rolled-back transaction's set is simply dropped, so nothing it did is ever recorded.
 */
export class TransactionChanges {
  private readonly byRow = new Map<string, number>();
  private readonly changes: (AuditRowChange | undefined)[] = [];

  /** @param context the audit context of the request the transaction runs in, if any. */
  constructor(readonly context: AuditContext | undefined) {}

  /** Adds a change the transaction made (an insert, update, delete, or a bulk write). */
  add(change: AuditRowChange): void {
    const key = rowKey(change);
    const at = key === undefined ? undefined : this.byRow.get(key);
    const earlier = at === undefined ? undefined : this.changes[at];
    if (at === undefined || earlier === undefined || key === undefined) {
      if (key !== undefined) this.byRow.set(key, this.changes.length);
      this.changes.push(change);
      return;
    }
    const folded = foldRowChanges(earlier, change);
    this.changes[at] = folded;
    // A row created and deleted again is forgotten; a later write of the same id starts anew.
    if (folded === undefined) this.byRow.delete(key);
  }

  /** The changes, in write order, without the ones that cancelled out. */
  list(): AuditRowChange[] {
    return this.changes.filter((change): change is AuditRowChange => change !== undefined);
  }

  /** Whether nothing was recorded. */
  get isEmpty(): boolean {
    return this.list().length === 0;
  }
}
