import { makeEvent } from '../../test/fixtures/events';
import { makeEvents } from '../../test/fixtures/events';
import { InMemoryAuditStore } from '../stores/memory/memory-audit.store';
import { parseAuditQuery } from './audit-query';
import { AuditQueryError } from '../common/audit-query.error';
import {
  INLINE_EVENT_BYTES,
  isCollapsed,
  READ_SLICE_EVENTS,
  readInSlices,
  withinReadBudget,
} from './read-budget';

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

describe('readInSlices', () => {
  it('reads the same page and cursor as one read, a few events per store call', async () => {
    const store = new InMemoryAuditStore();
    await store.append(makeEvents(30));
    const calls: number[] = [];
    const read = (q: { limit: number; cursor?: string }) => {
      calls.push(q.limit);
      return store.query(parseAuditQuery(q));
    };
    const whole = await store.query(parseAuditQuery({ limit: 20 }));
    const sliced = await readInSlices(read, 20);
    expect(sliced.items.map((e) => e.id)).toEqual(whole.items.map((e) => e.id));
    expect(sliced.nextCursor).toBe(whole.nextCursor);
    expect(Math.max(...calls)).toBe(READ_SLICE_EVENTS);
    expect(calls.reduce((a, b) => a + b, 0)).toBe(20);
    // From that cursor on, the rest: 10 events and no cursor, as one read says.
    const rest = await readInSlices(read, 50, sliced.nextCursor);
    const wholeRest = await store.query(parseAuditQuery({ limit: 50, cursor: whole.nextCursor }));
    expect(rest.items.map((e) => e.id)).toEqual(wholeRest.items.map((e) => e.id));
    expect(rest.nextCursor).toBeUndefined();
  });

  it('refuses a page size outside 1..1000, as a single read would', async () => {
    const store = new InMemoryAuditStore();
    const read = (q: { limit: number }) => store.query(parseAuditQuery(q));
    await expect(readInSlices(read, 1001)).rejects.toBeInstanceOf(AuditQueryError);
    await expect(readInSlices(read, 0)).rejects.toBeInstanceOf(AuditQueryError);
  });
});
