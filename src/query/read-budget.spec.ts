import { makeEvent } from '../../test/fixtures/events';
import { INLINE_EVENT_BYTES, isCollapsed, withinReadBudget } from './read-budget';

const large = () =>
  makeEvent({ labels: { text: 'x'.repeat(INLINE_EVENT_BYTES) }, target: { type: 'doc', id: '1' } });

describe('withinReadBudget', () => {
  it('keeps small events whole and collapses large ones to their facts', async () => {
    const small = makeEvent();
    const [kept, collapsed] = await withinReadBudget([small, large()]);
    expect(kept).toBe(small);
    expect(isCollapsed(collapsed!)).toBe(true);
    expect(collapsed).toMatchObject({ target: { type: 'doc', id: '1' } });
    expect(collapsed).not.toHaveProperty('labels');
    expect(JSON.stringify(collapsed).length).toBeLessThan(2048);
  });

  it('yields to the event loop between groups of events, so other work runs meanwhile', async () => {
    let turns = 0;
    let running = true;
    const tick = (): void => {
      turns += 1;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    await withinReadBudget(Array.from({ length: 40 }, large));
    running = false;
    // 40 events measured 8 per turn: at least 4 turns of other work ran in between.
    expect(turns).toBeGreaterThanOrEqual(4);
  });
});
