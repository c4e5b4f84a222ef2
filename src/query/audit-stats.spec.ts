import { makeEvent, makeEvents } from '../../test/fixtures/events';
import { InMemoryAuditStore } from '../stores/memory/memory-audit.store';
import { parseAuditQuery } from './audit-query';
import { collectAuditStats } from './audit-stats';

describe('collectAuditStats', () => {
  const base = Date.parse('2026-03-01T00:00:00.000Z');
  let store: InMemoryAuditStore;

  beforeAll(async () => {
    store = new InMemoryAuditStore();
    await store.init();
    await store.append(
      makeEvents(250, (i) => ({
        timestamp: new Date(base + i * 60_000).toISOString(),
        action: i % 5 === 0 ? 'user.delete' : 'user.update',
        outcome: i % 10 === 0 ? 'failure' : 'success',
        actor:
          i % 50 === 0
            ? { type: 'anonymous', authenticated: false }
            : { type: 'user', id: `u-${i % 3}`, authenticated: true },
        tenant: i < 100 ? 'acme' : 'globex',
      })),
    );
  });

  it('counts by outcome, action and actor, largest first, over every page', async () => {
    const pages: number[] = [];
    const stats = await collectAuditStats(store, parseAuditQuery(), {
      pageSize: 40,
      onProgress: (counted) => pages.push(counted),
    });
    expect(stats.total).toBe(250);
    expect(stats.byOutcome).toEqual([
      { key: 'success', count: 225 },
      { key: 'failure', count: 25 },
    ]);
    expect(stats.byAction).toEqual([
      { key: 'user.update', count: 200 },
      { key: 'user.delete', count: 50 },
    ]);
    // i % 50 === 0 (5 events) are anonymous; the rest split by i % 3.
    const expectedActors = new Map<string, number>();
    for (let i = 0; i < 250; i += 1) {
      const key = i % 50 === 0 ? '(anonymous)' : `u-${i % 3}`;
      expectedActors.set(key, (expectedActors.get(key) ?? 0) + 1);
    }
    expect(Object.fromEntries(stats.byActor.map(({ key, count }) => [key, count]))).toEqual(
      Object.fromEntries(expectedActors),
    );
    const counts = stats.byActor.map((entry) => entry.count);
    expect([...counts].sort((a, b) => b - a)).toEqual(counts);
    // One progress call per page of 40: 7 pages (the last one partial).
    expect(pages).toEqual([40, 80, 120, 160, 200, 240, 250]);
  });

  it('applies the filters and the period of the query', async () => {
    const stats = await collectAuditStats(
      store,
      parseAuditQuery({
        tenant: 'acme',
        from: new Date(base + 10 * 60_000),
        to: new Date(base + 20 * 60_000),
      }),
    );
    expect(stats.total).toBe(10);
    expect(stats.byOutcome).toEqual([
      { key: 'success', count: 9 },
      { key: 'failure', count: 1 },
    ]);
  });

  it('breaks ties by key, so the order is stable', async () => {
    const tied = new InMemoryAuditStore();
    await tied.append(['b.x', 'a.x', 'c.x', 'a.y'].map((action) => makeEvent({ action })));
    const stats = await collectAuditStats(tied, parseAuditQuery());
    expect(stats.byAction.map((entry) => entry.key)).toEqual(['a.x', 'a.y', 'b.x', 'c.x']);
  });

  it('returns zero counts for an empty result', async () => {
    expect(await collectAuditStats(store, parseAuditQuery({ tenant: 'nobody' }))).toEqual({
      total: 0,
      byOutcome: [],
      byAction: [],
      byActor: [],
    });
  });

  it('rejects a page size the stores do not accept', async () => {
    await expect(collectAuditStats(store, parseAuditQuery(), { pageSize: 1001 })).rejects.toThrow(
      'collectAuditStats: pageSize must be a whole number from 1 to 1000, got 1001.',
    );
  });

  it('stops when the signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(
      collectAuditStats(store, parseAuditQuery(), { signal: controller.signal }),
    ).rejects.toThrow('stop');
  });
});
