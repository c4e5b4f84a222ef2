import request from 'supertest';
import { join } from 'node:path';
import { AuditService, AuditStore, type AuditEvent } from '../../src';
import { encodeCursor } from '../../src/query/audit-query';
import { makeEvent } from '../fixtures/events';
import { FlakyStore } from '../utils/flaky-store';
import { PLATFORMS, tempDir, type RunningApp } from '../utils/apps';
import {
  ADMIN_HEADERS,
  AdminHeaderGuard,
  AUDITOR,
  auditApiApp,
  startApiApp,
} from '../utils/api-app';

const HOUR = 3_600_000;
const NOW = Date.now();
const at = (msAgo: number): string => new Date(NOW - msAgo).toISOString();

// A hostile id: quotes, SQL, a slash and non-ASCII must round-trip as plain data.
const ODD_ID = `a/b'"; DROP TABLE audit_events;-- ü ${'%'}`;

/** The seeded trail; API calls add `audit.read` events, so every filter below excludes those. */
function seedEvents(): AuditEvent[] {
  const events = [
    makeEvent({
      timestamp: at(2 * HOUR),
      action: 'user.update',
      actor: { type: 'user', id: 'u-1', authenticated: true },
      target: { type: 'user', id: '42' },
      tenant: 'acme',
      request: { id: 'req-1', method: 'PATCH', path: '/users/42' },
    }),
    makeEvent({
      timestamp: at(30 * HOUR),
      action: 'user.delete',
      outcome: 'failure',
      actor: { type: 'user', id: 'u-2', authenticated: true },
      target: { type: 'user', id: '43' },
      tenant: 'globex',
      request: { id: 'req-2', method: 'DELETE', path: '/users/43' },
    }),
    makeEvent({
      timestamp: at(72 * HOUR),
      action: 'order.create',
      actor: { type: 'user', id: 'u-1', authenticated: true },
      target: { type: 'order', id: '7' },
      tenant: 'acme',
      request: { id: 'req-3', method: 'POST', path: '/orders' },
    }),
    makeEvent({
      timestamp: at(HOUR),
      action: 'doc.update',
      actor: { type: 'user', id: 'u-3', authenticated: true },
      target: { type: 'doc', id: ODD_ID },
    }),
    makeEvent({
      timestamp: at(HOUR / 2),
      action: 'doc.update',
      actor: { type: 'user', id: 'u-3', authenticated: true },
      target: { type: 'doc', id: ODD_ID },
      outcome: 'unknown',
    }),
  ];
  // 25 events on one resource, in groups sharing a millisecond, to page across ties.
  for (let i = 0; i < 25; i++) {
    events.push(
      makeEvent({
        timestamp: at(5 * HOUR + Math.floor(i / 4)),
        action: 'page.touch',
        actor: { type: 'user', id: 'pager', authenticated: true },
        target: { type: 'page', id: '1' },
        labels: { i: String(i) },
      }),
    );
  }
  return events;
}

const newestFirst = (a: AuditEvent, b: AuditEvent): number =>
  a.timestamp === b.timestamp ? (a.id < b.id ? 1 : -1) : a.timestamp < b.timestamp ? 1 : -1;

describe.each(PLATFORMS)('audit HTTP API, reading, on %s', (platform) => {
  let running: RunningApp;
  let audit: AuditService;
  let tmp: ReturnType<typeof tempDir>;
  let seeded: AuditEvent[];
  let seq = 0;

  const api = () => request(running.url);
  const get = (path: string) => {
    seq += 1;
    return api().get(path).set(ADMIN_HEADERS).set('x-request-id', `${platform}-read-${seq}`);
  };
  /** The events recorded for one request id (the `audit.read` of that call). */
  const recordedFor = async (requestId: string) => (await audit.query({ requestId })).items;
  const ids = (events: AuditEvent[]) => events.map((e) => e.id).sort();
  const seededIds = (pick: (e: AuditEvent) => boolean) => ids(seeded.filter(pick));
  /** A seeded event as the API returns it: with its number in the chain (appended in order). */
  const numbered = (e: AuditEvent): AuditEvent => ({ ...e, sequence: seeded.indexOf(e) + 1 });

  beforeAll(async () => {
    tmp = tempDir();
    running = await startApiApp(
      platform,
      // scope 'all' would record every GET: the API must still be recorded once, by itself.
      auditApiApp(
        {
          store: join(tmp.dir, 'audit.db'),
          stream: false,
          trustRequestId: true,
          scope: 'all',
          serviceName: 'api-test',
        },
        { guard: AdminHeaderGuard },
      ),
    );
    audit = running.app.get(AuditService);
    seeded = seedEvents();
    await running.app.get(AuditStore).append(seeded);
  });
  afterAll(async () => {
    await running.close();
    tmp.cleanup();
  });

  it('lists events newest first as { items, nextCursor }, with Cache-Control: no-store', async () => {
    const res = await get('/audit/events?resource=user').expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body.nextCursor).toBeNull();
    const expected = seeded.filter((e) => e.target?.type === 'user').sort(newestFirst);
    expect(res.body.items).toEqual(expected.map(numbered));
  });

  it.each([
    ['actor=u-1', (e: AuditEvent) => e.actor.id === 'u-1'],
    ['resource=user:42', (e: AuditEvent) => e.target?.type === 'user' && e.target.id === '42'],
    ['resourceType=order', (e: AuditEvent) => e.target?.type === 'order'],
    ['resourceType=user&resourceId=43', (e: AuditEvent) => e.target?.id === '43'],
    ['action=doc.update', (e: AuditEvent) => e.action === 'doc.update'],
    ['outcome=failure&action=user.delete', (e: AuditEvent) => e.outcome === 'failure'],
    ['outcome=unknown', (e: AuditEvent) => e.outcome === 'unknown'],
    ['requestId=req-3', (e: AuditEvent) => e.request?.id === 'req-3'],
    ['tenant=acme', (e: AuditEvent) => e.tenant === 'acme'],
    ['actor=u-1&since=24h', (e: AuditEvent) => e.action === 'user.update'],
    ['actor=u-1&since=4d', (e: AuditEvent) => e.actor.id === 'u-1'],
    [
      `resource=user&from=${encodeURIComponent(at(48 * HOUR))}&to=${encodeURIComponent(at(24 * HOUR))}`,
      (e: AuditEvent) => e.action === 'user.delete',
    ],
    [
      `from=${encodeURIComponent(at(3 * HOUR))}&actor=u-1`,
      (e: AuditEvent) => e.action === 'user.update',
    ],
    [`to=${encodeURIComponent(at(48 * HOUR))}`, (e: AuditEvent) => e.action === 'order.create'],
    [
      `resource=${encodeURIComponent(`doc:${ODD_ID}`)}`,
      (e: AuditEvent) => e.target?.type === 'doc',
    ],
  ])('filters with %s', async (query, pick) => {
    const res = await get(`/audit/events?${query}&limit=1000`).expect(200);
    expect(ids(res.body.items)).toEqual(seededIds(pick));
    expect(res.body.items.length).toBeGreaterThan(0);
  });

  it('ignores empty parameters (an empty form field means "any")', async () => {
    const res = await get('/audit/events?resource=order&actor=&outcome=').expect(200);
    expect(ids(res.body.items)).toEqual(seededIds((e) => e.target?.type === 'order'));
  });

  it('pages with keyset cursors across ties: no duplicates, no gaps, newest first', async () => {
    const seen: AuditEvent[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `resource=page:1&limit=7${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await get(`/audit/events?${query}`).expect(200);
      expect(res.body.items.length).toBeLessThanOrEqual(7);
      seen.push(...(res.body.items as AuditEvent[]));
      cursor = res.body.nextCursor as string | null;
      pages += 1;
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(4);
    const expected = seeded.filter((e) => e.action === 'page.touch').sort(newestFirst);
    expect(seen.map((e) => e.id)).toEqual(expected.map((e) => e.id));
  });

  it('returns one event by id, and 404 for an unknown one', async () => {
    const event = seeded[0]!;
    const res = await get(`/audit/events/${event.id}`).expect(200);
    expect(res.body).toEqual(numbered(event));
    expect(res.headers['cache-control']).toBe('no-store');
    const missing = await get(`/audit/events/${encodeURIComponent(ODD_ID)}`).expect(404);
    expect(missing.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
    expect(missing.body.message).toMatch(/No audit event with id/);
    expect(missing.headers['cache-control']).toBe('no-store');
  });

  it('returns the history of a resource oldest first, odd characters included', async () => {
    const res = await get(`/audit/history/doc/${encodeURIComponent(ODD_ID)}`).expect(200);
    const expected = seeded
      .filter((e) => e.target?.type === 'doc')
      .sort((a, b) => -newestFirst(a, b));
    expect(res.body.items).toEqual(expected.map(numbered));
    const none = await get('/audit/history/user/nobody').expect(200);
    expect(none.body).toEqual({ items: [], nextCursor: null });
  });

  it('pages a history: the latest `limit` events oldest first, nextCursor to older ones', async () => {
    const expected = seeded
      .filter((e) => e.target?.type === 'page')
      .sort((a, b) => -newestFirst(a, b))
      .map(numbered);
    const pages: AuditEvent[][] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `&cursor=${cursor}`;
      const res = await get(`/audit/history/page/1?limit=10${query}`).expect(200);
      pages.push(res.body.items);
      cursor = res.body.nextCursor;
    } while (cursor !== null && pages.length < 10);
    expect(pages.map((page) => page.length)).toEqual([10, 10, 5]);
    // Each page is in time order; the pages walk back from the latest events.
    expect(pages.reverse().flat()).toEqual(expected);
    const bad = await get('/audit/history/page/1?limit=5000').expect(400);
    expect(bad.body.message).toMatch(/limit/);
  });

  it.each([
    ['outcome=great', /Invalid "outcome" filter "great"/],
    ['from=yesterday', /Invalid date for "from"/],
    ['to=2026-13-45T99:00:00Z', /Invalid date for "to"/],
    ['colour=red', /Unknown filter "colour"/],
    ['limit=0', /Invalid "limit" 0/],
    ['limit=5000', /Invalid "limit" 5000/],
    ['limit=ten', /Invalid "limit" "ten"/],
    ['cursor=not-a-cursor!', /Malformed cursor/],
    [`cursor=${Buffer.from('[1,2]').toString('base64url')}`, /Malformed cursor/],
    ['since=24h&from=2026-01-01', /either "since".*or "from"/],
    ['since=soon', /since/],
    ['actor=a&actor=b', /give it once/],
    ['resource=:42', /type or type:id/],
    ['__proto__=x', /Unknown filter "__proto__"/],
    ['constructor=x', /Unknown filter "constructor"/],
    ['actor[x]=1', /Unknown filter|give it once/],
    [
      `from=${encodeURIComponent(at(HOUR))}&to=${encodeURIComponent(at(2 * HOUR))}`,
      /"from" is after "to"/,
    ],
  ])('answers 400 for %s', async (query, message) => {
    const res = await get(`/audit/events?${query}`).expect(400);
    expect(res.body).toEqual({
      statusCode: 400,
      message: expect.stringMatching(message),
      error: 'Bad Request',
    });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('accepts a well-formed cursor of an event that is gone (keyset, not offset)', async () => {
    // Past every id of its millisecond: the page starts at that millisecond's events.
    const cursor = encodeCursor({
      ts: NOW - 5 * HOUR - 2,
      id: 'ffffffff-ffff-7fff-bfff-ffffffffffff',
    });
    const res = await get(`/audit/events?resource=page:1&limit=1000&cursor=${cursor}`).expect(200);
    const expected = seeded.filter(
      (e) => e.action === 'page.touch' && Date.parse(e.timestamp) <= NOW - 5 * HOUR - 2,
    );
    expect(ids(res.body.items)).toEqual(ids(expected));
    expect(res.body.items).toHaveLength(17);
  });

  it('records each read once, as audit.read with the actor, the filter and the result count', async () => {
    const sentAt = Date.now();
    const res = await get('/audit/events?actor=u-1&since=4d&limit=10').expect(200);
    const answeredAt = Date.now();
    const requestId = `${platform}-read-${seq}`;
    expect(res.headers['x-request-id']).toBe(requestId);
    const recorded = await recordedFor(requestId);
    expect(recorded).toHaveLength(1);
    const read = recorded[0]!;
    expect(read).toMatchObject({
      action: 'audit.read',
      outcome: 'success',
      category: ['api'],
      type: ['access'],
      actor: {
        id: AUDITOR.id,
        name: AUDITOR.name,
        roles: AUDITOR.roles,
        type: 'user',
        authenticated: true,
      },
      request: { id: requestId, method: 'GET', path: '/audit/events' },
      filter: { actorId: 'u-1', limit: 10 },
      results: { count: 2, more: false },
      labels: { via: 'api', endpoint: 'events' },
    });
    // `since` is recorded as the absolute start it stood for: 4 days before the moment the
    // request was read, which lies between the test's two readings of the clock.
    const from = Date.parse((read.filter as { from: string }).from);
    expect(from).toBeGreaterThanOrEqual(sentAt - 4 * 24 * HOUR);
    expect(from).toBeLessThanOrEqual(answeredAt - 4 * 24 * HOUR);
    expect(read.source?.ip).toBe('127.0.0.1');
  });

  it('records reads of one event and of a history, and a 404 as a failure', async () => {
    const event = seeded[1]!;
    await get(`/audit/events/${event.id}`).expect(200);
    expect(await recordedFor(`${platform}-read-${seq}`)).toEqual([
      expect.objectContaining({
        action: 'audit.read',
        outcome: 'success',
        target: { type: 'audit_event', id: event.id },
        filter: { id: event.id },
        results: { count: 1 },
      }),
    ]);
    await get('/audit/events/0000-missing').expect(404);
    expect(await recordedFor(`${platform}-read-${seq}`)).toEqual([
      expect.objectContaining({
        action: 'audit.read',
        outcome: 'failure',
        filter: { id: '0000-missing' },
        error: expect.objectContaining({ type: 'NotFoundException' }),
      }),
    ]);
    await get('/audit/history/user/42').expect(200);
    const [history] = await recordedFor(`${platform}-read-${seq}`);
    expect(history).toMatchObject({
      outcome: 'success',
      filter: { resourceType: 'user', resourceId: '42' },
      results: { count: 1 },
      labels: { via: 'api', endpoint: 'history' },
    });
    // Reading a history must not add to that history.
    expect(history?.target).toBeUndefined();
    expect((await audit.history('user', '42')).map((e) => e.action)).toEqual(['user.update']);
  });

  it('records a rejected filter as a failed audit.read with the parameters as given', async () => {
    await get('/audit/events?outcome=great&actor=u-1').expect(400);
    const recorded = await recordedFor(`${platform}-read-${seq}`);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({
      action: 'audit.read',
      outcome: 'failure',
      level: 'warn',
      filter: { outcome: 'great', actor: 'u-1' },
      error: { type: 'BadRequestException', message: expect.stringMatching(/outcome/) },
    });
  });

  it('is refused without the guard (403), and a refused call reads nothing', async () => {
    const res = await api()
      .get('/audit/events')
      .set('x-request-id', `${platform}-denied`)
      .expect(403);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body.items).toBeUndefined();
  });
});

describe.each(PLATFORMS)('audit HTTP API when the store cannot commit, on %s', (platform) => {
  let running: RunningApp;
  let store: FlakyStore;

  beforeAll(async () => {
    store = new FlakyStore();
    await store.append([makeEvent({ action: 'secret.read' })]);
    running = await startApiApp(
      platform,
      auditApiApp(
        { store, stream: false, trustRequestId: true, onStoreFailure: 'fail', retryIntervalMs: 10 },
        { guard: AdminHeaderGuard },
      ),
    );
  });
  afterAll(async () => {
    store.down = false;
    await running.close();
  });

  it('answers 503 instead of handing out a read it could not record', async () => {
    store.down = true;
    const res = await request(running.url).get('/audit/events').set(ADMIN_HEADERS).expect(503);
    expect(res.body).toMatchObject({ statusCode: 503, code: 'AUDIT_UNAVAILABLE' });
    expect(res.body.items).toBeUndefined();
    expect(JSON.stringify(res.body)).not.toContain('secret.read');
    store.down = false;
    const ok = await request(running.url)
      .get('/audit/events?action=secret.read')
      .set(ADMIN_HEADERS)
      .expect(200);
    expect(ok.body.items).toHaveLength(1);
  });
});
