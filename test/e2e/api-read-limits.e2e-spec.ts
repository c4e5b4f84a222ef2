import request from 'supertest';
import { join } from 'node:path';
import { AuditStore, type AuditEvent } from '../../src';
import { INLINE_EVENT_BYTES, READ_SLICE_EVENTS } from '../../src/query/read-budget';
import { VIEWER_PAGE_SIZE } from '../../src/query/viewer/audit-viewer.controller';
import { MAX_TIMELINE_EVENTS } from '../../src/query/viewer/render-history';
import { makeEvent } from '../fixtures/events';
import { PLATFORMS, tempDir, type RunningApp } from '../utils/apps';
import { auditApiApp, startApiApp } from '../utils/api-app';

const LARGE_EVENTS = 120;
const BIG = 'x'.repeat(100_000);

/** 120 updates of one record, each with a 200 KB diff: the attack of issue 16. */
function plantLarge(): AuditEvent[] {
  return Array.from({ length: LARGE_EVENTS }, (_, i) =>
    makeEvent({
      timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
      action: 'doc.update',
      target: { type: 'doc', id: 'big' },
      changes: {
        before: { text: BIG },
        after: { text: `${BIG}${i}` },
        diff: [{ path: ['text'], op: 'changed', before: BIG, after: `${BIG}${i}` }],
        fields: ['text'],
      },
    }),
  );
}

/** Bytes of a response body, read as it streams (no whole-body copy in the test's own loop). */
async function bodyBytes(url: string): Promise<number> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  let bytes = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) bytes += chunk.byteLength;
  return bytes;
}

/** One store read, as the spy saw it: its events and the event-loop turn it ran in. */
interface StoreRead {
  events: number;
  turn: number;
}

/**
 * Counts the turns of the event loop (one per check phase) and records every `query()` of the
 * store with the turn it ran in. Counts, not times: a loaded machine slows every turn alike.
 */
function watchStoreReads(store: AuditStore): {
  reads: StoreRead[];
  stop: () => void;
} {
  const reads: StoreRead[] = [];
  let turn = 0;
  let running = true;
  const tick = (): void => {
    turn += 1;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  const original = store.query.bind(store);
  const spy = jest.spyOn(store, 'query').mockImplementation(async (query) => {
    const result = await original(query);
    reads.push({ events: result.items.length, turn });
    return result;
  });
  return {
    reads,
    stop: () => {
      running = false;
      spy.mockRestore();
    },
  };
}

describe.each(PLATFORMS)('reads of large events are bounded, on %s', (platform) => {
  let running: RunningApp;
  let tmp: ReturnType<typeof tempDir>;
  let planted: AuditEvent[];
  const get = (path: string) => request(running.url).get(path);

  beforeAll(async () => {
    tmp = tempDir();
    running = await startApiApp(
      platform,
      auditApiApp(
        { store: join(tmp.dir, 'audit.db'), stream: false, serviceName: 'limits-test' },
        { public: true },
      ),
    );
    planted = plantLarge();
    await running.app.get(AuditStore).append(planted);
  });
  afterAll(async () => {
    await running.close();
    tmp.cleanup();
  });

  it('answers a history in pages of collapsed events, each page a few KB', async () => {
    const first = await get('/audit/history/doc/big').expect(200);
    // 50 events of 200 KB would be 10 MB; collapsed, each is its facts only.
    expect(first.body.items).toHaveLength(50);
    expect(first.text.length).toBeLessThan(50 * 2048);
    expect(first.body.items.every((e: { collapsed?: unknown }) => e.collapsed !== undefined)).toBe(
      true,
    );
    expect(first.body.items[0].changes).toBeUndefined();
    expect(first.body.nextCursor).toEqual(expect.any(String));
    // The largest page the API allows is still bounded by count x collapsed size.
    const most = await get('/audit/history/doc/big?limit=1000').expect(200);
    expect(most.body.items).toHaveLength(LARGE_EVENTS);
    expect(most.text.length).toBeLessThan(LARGE_EVENTS * 2048);
    expect(INLINE_EVENT_BYTES).toBeLessThan(BIG.length);
  });

  it('answers the event list collapsed too, and one event whole by id', async () => {
    const list = await get('/audit/events?resource=doc:big&limit=100').expect(200);
    expect(list.body.items).toHaveLength(100);
    expect(list.text.length).toBeLessThan(100 * 2048);
    const whole = await get(`/audit/events/${planted[0]!.id}`).expect(200);
    expect(whole.body.changes.diff[0].after).toBe(`${BIG}0`);
  });

  it('draws the viewer timeline of the latest events, collapsed, linking to each', async () => {
    const page = await get('/audit/view/history/doc/big').expect(200);
    expect(page.text.match(/too large to draw here/g)).toHaveLength(MAX_TIMELINE_EVENTS);
    expect(page.text).not.toContain(BIG.slice(0, 1000));
    expect(page.text.length).toBeLessThan(MAX_TIMELINE_EVENTS * 4096 + 64 * 1024);
  });

  it('lists large events in the viewer by their facts, each row linking to the whole event', async () => {
    const page = await get('/audit?resource=doc:big').expect(200);
    expect(page.text.match(/data-collapsed>Too large to list/g)).toHaveLength(VIEWER_PAGE_SIZE);
    expect(page.text).not.toContain(BIG.slice(0, 1000));
    // 50 rows of 200 KB diffs would be 10 MB; listed by their facts, a row is a few hundred bytes.
    expect(page.text.length).toBeLessThan(VIEWER_PAGE_SIZE * 2048 + 64 * 1024);
    const most = await get('/audit?resource=doc:big&limit=1000').expect(200);
    expect(most.text.match(/data-collapsed>Too large to list/g)).toHaveLength(LARGE_EVENTS);
    expect(most.text.length).toBeLessThan(LARGE_EVENTS * 2048 + 64 * 1024);
  });

  it('reads the largest pages a slice per turn, answering a small request meanwhile', async () => {
    const store = running.app.get(AuditStore);
    const watch = watchStoreReads(store);
    const large = [
      `${running.url}/audit/history/doc/big?limit=1000`,
      `${running.url}/audit?resource=doc:big&limit=1000`,
      `${running.url}/audit/view/history/doc/big`,
      `${running.url}/audit/export.ndjson?resource=doc:big`,
    ];
    let bytes: number[];
    let readsBeforeSmallAnswer: number;
    try {
      const reading = Promise.all(large.map((url) => bodyBytes(url)));
      // A small request sent once the large reads are under way.
      while (watch.reads.length === 0) await new Promise((resolve) => setImmediate(resolve));
      await get(`/audit/events/${planted[0]!.id}`).expect(200);
      readsBeforeSmallAnswer = watch.reads.length;
      bytes = await reading;
    } finally {
      watch.stop();
    }
    expect(Math.min(...bytes)).toBeGreaterThan(0);
    const { reads } = watch;
    // Read in one piece, a page is one store read of 120 events of 400 KB of JSON, parsed in one
    // turn of the event loop. Read in slices, no store read returns more than a slice...
    expect(Math.max(...reads.map((read) => read.events))).toBeLessThanOrEqual(READ_SLICE_EVENTS);
    // Every event of each page was read: the timeline draws the latest MAX_TIMELINE_EVENTS.
    expect(reads.reduce((sum, read) => sum + read.events, 0)).toBe(
      (large.length - 1) * LARGE_EVENTS + MAX_TIMELINE_EVENTS,
    );
    // ...and each read running takes at most one slice per turn (two when its first slice, read
    // while its request arrives, falls in the same turn as its second).
    const perTurn = new Map<number, number>();
    for (const read of reads) perTurn.set(read.turn, (perTurn.get(read.turn) ?? 0) + 1);
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(2 * large.length);
    // The small request was answered between two slices, not after the large reads were done.
    expect(readsBeforeSmallAnswer).toBeLessThan(reads.length);
  });
});
