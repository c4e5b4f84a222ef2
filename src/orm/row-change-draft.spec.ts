import { resolveAuditOptions } from '../options/resolve-audit-options';
import { originOf } from '../capture/request-facts';
import { rowChangeDraft } from './row-change-draft';

const options = resolveAuditOptions({ serviceName: 'shop', store: ':memory:', stream: false });

describe('rowChangeDraft', () => {
  it('records a change outside a request with the service as the actor', () => {
    const draft = rowChangeDraft(
      { kind: 'soft-delete', resourceType: 'order', id: '7', before: { deletedAt: null } },
      originOf(undefined, options),
    );
    expect(draft).toMatchObject({
      action: 'order.soft_delete',
      outcome: 'success',
      actor: { type: 'service', id: 'shop' },
      target: { type: 'order', id: '7' },
      before: { deletedAt: null },
    });
    expect(draft.request).toBeUndefined();
    expect('after' in draft).toBe(false);
  });

  it('records a bulk write by what it asked and how many rows it touched, never as a diff', () => {
    const draft = rowChangeDraft(
      {
        kind: 'update',
        resourceType: 'order',
        bulk: { criteria: { status: 'open' }, set: { status: 'void' }, count: 3 },
      },
      originOf(undefined, options),
    );
    expect(draft).toMatchObject({
      action: 'order.update',
      target: { type: 'order' },
      filter: { status: 'open' },
      results: { set: { status: 'void' }, count: 3 },
      message: 'update of 3 order rows by criteria',
    });
    expect(draft.before).toBeUndefined();
    expect(draft.after).toBeUndefined();
  });
});
