import { makeEvent } from '../../../test/fixtures/events';
import type { AuditEvent } from '../../event/audit-event';
import { InMemoryAuditStore } from '../../stores/memory/memory-audit.store';
import { parseAuditQuery, type AuditQuery, type AuditQueryResult } from '../audit-query';
import { isOwnRead, MAX_SCANNED_PAGES, queryWithoutOwnReads, showsOwnReads } from './own-reads';

const BASE = Date.parse('2026-03-01T00:00:00Z');

function read(i: number, via = 'viewer', outcome: AuditEvent['outcome'] = 'success'): AuditEvent {
  return makeEvent({
    timestamp: new Date(BASE + i * 1000).toISOString(),
    action: 'audit.read',
    outcome,
    labels: { via, page: 'list' },
  });
}

function change(i: number): AuditEvent {
  return makeEvent({
    timestamp: new Date(BASE + i * 1000).toISOString(),
    target: { type: 'order', id: String(i) },
  });
}

/** A store holding `events`, and a counter of the store queries made. */
async function storeOf(events: AuditEvent[]) {
  const store = new InMemoryAuditStore();
  await store.init?.();
  await store.append(events);
  const calls = { count: 0 };
  const query = (filter: AuditQuery): Promise<AuditQueryResult> => {
    calls.count += 1;
    return store.query(parseAuditQuery(filter));
  };
  return { query, calls };
}

/** Pages through the list without reads and returns every page's target ids. */
async function allPages(
  query: (filter: AuditQuery) => Promise<AuditQueryResult>,
  limit: number,
): Promise<{ pages: string[][]; hidden: number[] }> {
  const pages: string[][] = [];
  const hidden: number[] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 100; guard += 1) {
    const page = await queryWithoutOwnReads(query, { limit, ...(cursor ? { cursor } : {}) });
    pages.push(page.result.items.map((e) => e.target?.id ?? '?'));
    hidden.push(page.hidden);
    cursor = page.result.nextCursor;
    if (cursor === undefined) break;
  }
  return { pages, hidden };
}

describe('isOwnRead', () => {
  it('is a successful audit.read through the viewer or the API', () => {
    expect(isOwnRead(read(1, 'viewer'))).toBe(true);
    expect(isOwnRead(read(1, 'api'))).toBe(true);
  });

  it('is not a failed or refused read, a read by something else, or any other event', () => {
    expect(isOwnRead(read(1, 'viewer', 'failure'))).toBe(false);
    expect(isOwnRead(read(1, 'cli'))).toBe(false);
    expect(isOwnRead(makeEvent({ action: 'audit.read' }))).toBe(false);
    expect(isOwnRead(change(1))).toBe(false);
  });
});

describe('showsOwnReads', () => {
  it('shows them with reads=1, or when the filters name an action or a request', () => {
    expect(showsOwnReads({}, {})).toBe(false);
    expect(showsOwnReads({ reads: '0' }, {})).toBe(false);
    expect(showsOwnReads({ reads: '1' }, {})).toBe(true);
    expect(showsOwnReads({}, { action: 'audit.read' })).toBe(true);
    expect(showsOwnReads({}, { requestId: 'r-1' })).toBe(true);
  });
});

describe('queryWithoutOwnReads', () => {
  it('fills the page with other events, newest first, and counts what it hid', async () => {
    // Newest first: 30 reads on top of 10 changes.
    const events = [
      ...Array.from({ length: 10 }, (_, i) => change(i)),
      ...Array.from({ length: 30 }, (_, i) => read(100 + i)),
    ];
    const { query } = await storeOf(events);
    const page = await queryWithoutOwnReads(query, { limit: 5 });
    expect(page.result.items.map((e) => e.target?.id)).toEqual(['9', '8', '7', '6', '5']);
    expect(page.hidden).toBe(30);
    expect(page.result.nextCursor).toBeDefined();
  });

  it('pages through everything once, in order, with reads interleaved', async () => {
    const events: AuditEvent[] = [];
    for (let i = 0; i < 60; i += 1) events.push(i % 3 === 0 ? change(i) : read(i));
    const { query } = await storeOf(events);
    const { pages, hidden } = await allPages(query, 4);
    const expected = events
      .filter((e) => !isOwnRead(e))
      .map((e) => e.target?.id ?? '?')
      .reverse();
    expect(pages.flat()).toEqual(expected);
    expect(pages.slice(0, -1).every((page) => page.length === 4)).toBe(true);
    // Every read is counted once, on the page it was hidden from.
    expect(hidden.reduce((a, b) => a + b, 0)).toBe(40);
  });

  it('gives no next page when only reads are left after the last event shown', async () => {
    const events = [...Array.from({ length: 5 }, (_, i) => read(i)), change(10), change(11)];
    const { query } = await storeOf(events);
    const page = await queryWithoutOwnReads(query, { limit: 2 });
    expect(page.result.items.map((e) => e.target?.id)).toEqual(['11', '10']);
    expect(page.result.nextCursor).toBeUndefined();
    expect(page.hidden).toBe(5);
  });

  it('stops after a bounded scan, with a cursor that continues after it', async () => {
    const reads = Array.from({ length: 100 * MAX_SCANNED_PAGES + 50 }, (_, i) => read(10 + i));
    const { query, calls } = await storeOf([change(1), ...reads]);
    const page = await queryWithoutOwnReads(query, { limit: 10 });
    expect(calls.count).toBe(MAX_SCANNED_PAGES);
    expect(page.result.items).toEqual([]);
    expect(page.hidden).toBe(100 * MAX_SCANNED_PAGES);
    const next = await queryWithoutOwnReads(query, { limit: 10, cursor: page.result.nextCursor! });
    expect(next.result.items.map((e) => e.target?.id)).toEqual(['1']);
    expect(next.hidden).toBe(50);
    expect(next.result.nextCursor).toBeUndefined();
  });

  it('keeps the other filters', async () => {
    const events = [change(1), change(2), read(3)];
    const { query } = await storeOf(events);
    const page = await queryWithoutOwnReads(query, {
      limit: 10,
      resourceType: 'order',
      resourceId: '2',
    });
    expect(page.result.items.map((e) => e.target?.id)).toEqual(['2']);
    expect(page.hidden).toBe(0);
  });
});
