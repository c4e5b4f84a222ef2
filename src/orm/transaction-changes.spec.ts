import type { AuditRowChange } from '../event/row-change';
import { TransactionChanges } from './transaction-changes';

const order = (change: Partial<AuditRowChange>): AuditRowChange => ({
  kind: 'update',
  resourceType: 'order',
  id: '7',
  ...change,
});

describe('TransactionChanges', () => {
  it('keeps changes in write order', () => {
    const changes = new TransactionChanges(undefined);
    changes.add(order({ id: '1', after: { note: 'a' } }));
    changes.add(order({ resourceType: 'order_item', id: '1', after: { qty: 2 } }));
    changes.add(order({ id: '2', after: { note: 'b' } }));
    expect(changes.list().map((c) => `${c.resourceType}:${c.id}`)).toEqual([
      'order:1',
      'order_item:1',
      'order:2',
    ]);
  });

  it('folds writes of one row: the first before-state, the last after-state', () => {
    const changes = new TransactionChanges(undefined);
    changes.add(order({ before: { note: 'v0' }, after: { note: 'v1' } }));
    changes.add(order({ before: { note: 'v1' }, after: { note: 'v2' } }));
    expect(changes.list()).toEqual([order({ before: { note: 'v0' }, after: { note: 'v2' } })]);
  });

  it('keeps a created row a creation when it is updated in the same transaction', () => {
    const changes = new TransactionChanges(undefined);
    changes.add(order({ kind: 'create', after: { note: 'new' } }));
    changes.add(order({ before: { note: 'new' }, after: { note: 'edited' } }));
    expect(changes.list()).toEqual([order({ kind: 'create', after: { note: 'edited' } })]);
  });

  it('forgets a row created and deleted in the same transaction, and starts anew after', () => {
    const changes = new TransactionChanges(undefined);
    changes.add(order({ kind: 'create', after: { note: 'brief' } }));
    changes.add(order({ kind: 'delete', before: { note: 'brief' } }));
    expect(changes.isEmpty).toBe(true);
    changes.add(order({ kind: 'create', after: { note: 'again' } }));
    expect(changes.list()).toEqual([order({ kind: 'create', after: { note: 'again' } })]);
  });

  it('never folds bulk writes, which have no row id', () => {
    const changes = new TransactionChanges(undefined);
    const bulk = order({ id: undefined, bulk: { criteria: { status: 'open' }, count: 3 } });
    changes.add(bulk);
    changes.add(bulk);
    expect(changes.list()).toHaveLength(2);
  });
});
