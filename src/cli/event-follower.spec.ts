import { makeEvent } from '../../test/fixtures/events';
import type { AuditEvent } from '../event/audit-event';
import { parseAuditQuery } from '../query/audit-query';
import { InMemoryAuditStore } from '../stores/memory/memory-audit.store';
import { EventFollower } from './event-follower';

const T = Date.parse('2026-03-01T12:00:00.000Z');

function at(ms: number, id: string, actor = 'u-1'): AuditEvent {
  return makeEvent({
    id,
    timestamp: new Date(T + ms).toISOString(),
    actor: { type: 'user', id: actor, authenticated: true },
  });
}

const ids = (events: readonly AuditEvent[]) => events.map((event) => event.id);

describe('EventFollower', () => {
  let store: InMemoryAuditStore;

  beforeEach(async () => {
    store = new InMemoryAuditStore();
    await store.append([at(-3, 'e-1'), at(-2, 'e-2'), at(-1, 'e-3')]);
  });

  const follower = (lookbackMs = 10_000, extra: Record<string, unknown> = {}) =>
    new EventFollower(store, { query: parseAuditQuery(extra), lookbackMs, pageSize: 2 });

  it('starts with the latest N events, oldest first', async () => {
    expect(ids(await follower().start(2, T))).toEqual(['e-2', 'e-3']);
    expect(ids(await follower().start(10, T))).toEqual(['e-1', 'e-2', 'e-3']);
    expect(ids(await follower().start(0, T))).toEqual([]);
  });

  it('returns only what was committed since, each event once', async () => {
    const f = follower();
    await f.start(1, T);
    expect(await f.poll(T)).toEqual([]);
    await store.append([at(5, 'n-2'), at(4, 'n-1')]);
    expect(ids(await f.poll(T))).toEqual(['n-1', 'n-2']);
    expect(await f.poll(T)).toEqual([]);
  });

  it('returns an event of an already shown millisecond, and one committed late', async () => {
    const f = follower();
    await f.start(3, T);
    await store.append([at(10, 'm-z')]);
    expect(ids(await f.poll(T))).toEqual(['m-z']);
    // Same millisecond, an id that sorts before the one already shown.
    await store.append([at(10, 'm-a')]);
    expect(ids(await f.poll(T))).toEqual(['m-a']);
    // Stamped before everything shown so far, committed now.
    await store.append([at(-500, 'late')]);
    expect(ids(await f.poll(T))).toEqual(['late']);
  });

  it('does not return events stamped before the window', async () => {
    const f = follower(1_000);
    await f.start(3, T);
    await store.append([at(-5_000, 'too-late'), at(20, 'fresh')]);
    expect(ids(await f.poll(T))).toEqual(['fresh']);
  });

  it('reads every page of a window larger than one page', async () => {
    const f = follower();
    await f.start(1, T);
    await store.append(Array.from({ length: 7 }, (_, i) => at(100 + i, `p-${i}`)));
    expect(ids(await f.poll(T))).toEqual(['p-0', 'p-1', 'p-2', 'p-3', 'p-4', 'p-5', 'p-6']);
  });

  it('applies the filters', async () => {
    const f = follower(10_000, { actorId: 'u-2' });
    expect(await f.start(5, T)).toEqual([]);
    await store.append([at(1, 'other'), at(2, 'mine', 'u-2')]);
    expect(ids(await f.poll(T))).toEqual(['mine']);
  });

  it('uses the current time as the window when the store is empty', async () => {
    const empty = new InMemoryAuditStore();
    const f = new EventFollower(empty, { query: parseAuditQuery(), lookbackMs: 1_000 });
    expect(await f.start(5, T)).toEqual([]);
    await empty.append([at(-2_000, 'old'), at(-10, 'recent')]);
    expect(ids(await f.poll(T))).toEqual(['recent']);
  });

  it('forgets ids that left the window, and still never repeats an event', async () => {
    const f = follower(100);
    await f.start(3, T);
    for (let i = 1; i <= 20; i += 1) {
      await store.append([at(i * 50, `s-${i}`)]);
      expect(ids(await f.poll(T))).toEqual([`s-${i}`]);
    }
    const seen = (f as unknown as { seen: Map<string, number> }).seen;
    // Only the ids inside the last 100 ms of event time are kept.
    expect([...seen.keys()].sort()).toEqual(['s-18', 's-19', 's-20']);
  });
});
