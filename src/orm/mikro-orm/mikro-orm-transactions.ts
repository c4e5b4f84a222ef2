import type { AuditRowChange } from '../../event/row-change';
import type { TransactionChanges } from '../transaction-changes';

/** One database transaction or savepoint the integration saw a write in. */
interface TransactionNode {
  parent: TransactionNode | undefined;
  /** Set when this savepoint was rolled back: its writes (and its children's) never happened. */
  rolledBack: boolean;
}

/** What one top-level transaction wrote so far, and where it wrote it. */
interface RootState {
  /** Made by `AuditChangeRecorder.begin()` in the writer's async context. */
  changes: TransactionChanges;
  entries: { node: TransactionNode; change: AuditRowChange }[];
  /** Set once the surviving changes were added to `changes` (before the commit). */
  settled: boolean;
}

/**
 * MikroORM marks a nested transaction (a savepoint) with a symbol-keyed link to its parent and
 * fires transaction events only for the top-level one; the symbol is not exported, so it is found
 * by its description.
 */
function parentOf(trx: object): object | undefined {
  for (const symbol of Object.getOwnPropertySymbols(trx)) {
    if (symbol.description === 'parentTransaction') {
      const parent: unknown = (trx as Record<symbol, unknown>)[symbol];
      return typeof parent === 'object' && parent !== null ? parent : undefined;
    }
  }
  return undefined;
}

/**
 * The row changes of the transactions in flight, keyed by their top-level transaction object
 * (knex's transaction, or the unit of work when a flush runs without one). Weakly held, so a
 * transaction that ends in a way no event reports cannot leak.
 */
export class MikroOrmTransactionRegistry {
  private readonly nodes = new WeakMap<object, TransactionNode>();
  private readonly roots = new WeakMap<object, RootState>();

  constructor(private readonly begin: () => TransactionChanges) {}

  /** Adds a change written in `trx` (a top-level transaction or a savepoint inside one). */
  add(trx: object, change: AuditRowChange): void {
    const root = this.rootOf(trx);
    let state = this.roots.get(root);
    if (!state) {
      state = { changes: this.begin(), entries: [], settled: false };
      this.roots.set(root, state);
    }
    state.entries.push({ node: this.nodeOf(trx), change });
  }

  /**
   * The changes of a top-level transaction that is about to commit, without those of rolled-back
   * savepoints. Calling it again returns the same set; `undefined` when nothing was written.
   */
  settle(root: object): TransactionChanges | undefined {
    const state = this.roots.get(root);
    if (!state) return undefined;
    if (!state.settled) {
      state.settled = true;
      for (const { node, change } of state.entries) if (survives(node)) state.changes.add(change);
    }
    return state.changes;
  }

  /** Settles and forgets a transaction that committed. */
  take(root: object): TransactionChanges | undefined {
    const changes = this.settle(root);
    this.roots.delete(root);
    return changes;
  }

  /** Forgets a transaction that was rolled back: nothing it wrote is recorded. */
  drop(root: object): void {
    this.roots.delete(root);
  }

  private rootOf(trx: object): object {
    let current = trx;
    for (let parent = parentOf(current); parent; parent = parentOf(current)) current = parent;
    return current;
  }

  private nodeOf(trx: object): TransactionNode {
    const known = this.nodes.get(trx);
    if (known) return known;
    const parent = parentOf(trx);
    const node: TransactionNode = {
      parent: parent ? this.nodeOf(parent) : undefined,
      rolledBack: false,
    };
    if (parent) watchRollback(trx, node);
    this.nodes.set(trx, node);
    return node;
  }
}

function survives(node: TransactionNode): boolean {
  for (let at: TransactionNode | undefined = node; at; at = at.parent)
    if (at.rolledBack) return false;
  return true;
}

/**
 * A savepoint's rollback fires no MikroORM event (only the top-level transaction's do), so the
 * savepoint's own `rollback()` is wrapped to note it.
 */
function watchRollback(trx: object, node: TransactionNode): void {
  const target = trx as { rollback?: (...args: unknown[]) => unknown };
  const rollback = target.rollback;
  if (typeof rollback !== 'function') return;
  target.rollback = (...args: unknown[]): unknown => {
    node.rolledBack = true;
    return rollback.apply(trx, args);
  };
}
