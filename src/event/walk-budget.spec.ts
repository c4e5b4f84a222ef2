import { WalkBudget } from './walk-budget';
import { AuditInternalError } from '../common/audit-internal.error';

describe('WalkBudget', () => {
  it('gives as many visits as its limit, then refuses and stays exhausted', () => {
    const budget = new WalkBudget(2);
    expect([budget.take(), budget.take(), budget.take(), budget.take()]).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect(budget.visited).toBe(2);
    expect(budget.left).toBe(0);
    expect(budget.exhausted).toBe(true);
  });

  it('is not exhausted by using every visit, only by a refusal', () => {
    const budget = new WalkBudget(1);
    budget.take();
    expect(budget.exhausted).toBe(false);
  });

  it('counts without bound when the limit is Infinity', () => {
    const budget = new WalkBudget(Number.POSITIVE_INFINITY);
    for (let i = 0; i < 1000; i += 1) budget.take();
    expect(budget.visited).toBe(1000);
    expect(budget.exhausted).toBe(false);
  });

  it('shares: a share takes from its parent, stops at its own limit and reports to it', () => {
    const parent = new WalkBudget(10);
    const share = parent.within(3);
    while (share.take());
    expect(share.visited).toBe(3);
    expect(parent.visited).toBe(3);
    expect(parent.left).toBe(7);
    expect(parent.exhausted).toBe(true);
    expect(parent.within(100).limit).toBe(7);
    const copy = {};
    share.markPartial(copy);
    expect(parent.isPartial(copy)).toBe(true);
  });

  it('stops a share when its parent runs out first', () => {
    const parent = new WalkBudget(1);
    const share = parent.within(5);
    expect([share.take(), share.take()]).toEqual([true, false]);
    expect(share.exhausted).toBe(true);
  });

  it('knows only the containers marked partial', () => {
    const budget = new WalkBudget(1);
    const marked = {};
    budget.markPartial(marked);
    expect(budget.isPartial(marked)).toBe(true);
    expect(budget.isPartial({})).toBe(false);
    expect(budget.isPartial('text')).toBe(false);
    expect(budget.isPartial(null)).toBe(false);
  });

  it('takes several visits at once from a share and its parent, only when all have them', () => {
    const parent = new WalkBudget(10);
    const share = parent.within(6);
    parent.take();
    expect(share.has(6)).toBe(true);
    expect(share.has(7)).toBe(false);
    share.takeMany(4);
    expect([share.left, parent.left, parent.visited]).toEqual([2, 5, 5]);
    expect(() => share.takeMany(3)).toThrow(AuditInternalError);
    expect([share.left, parent.left, share.exhausted]).toEqual([2, 5, false]);
    parent.takeMany(4);
    expect(share.has(2)).toBe(false);
  });

  it.each([-1, 1.5, Number.NaN, '3'])('rejects the limit %p', (limit) => {
    expect(() => new WalkBudget(limit as number)).toThrow(AuditInternalError);
  });
});
