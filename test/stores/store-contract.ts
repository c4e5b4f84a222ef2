import { v7 as uuidv7 } from 'uuid';
import { AuditRecordError } from '../../src/common/audit-record.error';
import type { AuditEvent } from '../../src/event/audit-event';
import { parseAuditQuery, type AuditQuery } from '../../src/query/audit-query';
import type { AuditStore } from '../../src/stores/audit-store';
import { chainSourceOf } from '../../src/integrity/chain-source';
import { makeEvent, makeEvents, withoutSequence } from '../fixtures/events';
import { describeAlarmOutboxContract } from './alarm-outbox-contract';

/** What a store's spec provides for each test: an initialised, empty store and its cleanup. */
export interface StoreUnderTest {
  /** The store to test, initialised and empty. */
  store: AuditStore;
  /** Closes the store and removes what it created (files, schemas). */
  teardown: () => Promise<void>;
}

const BASE = Date.parse('2026-03-01T00:00:00.000Z');

/** ISO timestamp `ms` milliseconds after a fixed base instant. */
function at(ms: number): string {
  return new Date(BASE + ms).toISOString();
}

/** Reference order, computed independently of any store code: timestamp desc, id desc. */
function newestFirst(events: readonly AuditEvent[]): AuditEvent[] {
  return [...events].sort((a, b) => {
    const dt = Date.parse(b.timestamp) - Date.parse(a.timestamp);
    if (dt !== 0) return dt;
    return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
  });
}

function ids(events: readonly AuditEvent[]): string[] {
  return events.map((e) => e.id);
}

/** Deterministic shuffle, so a failure reproduces. */
function shuffled<T>(items: readonly T[], seed = 7): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** A full event: every optional field set, nested values of every JSON type. */
function fullEvent(): AuditEvent {
  return makeEvent({
    timestamp: at(5),
    action: 'user.mfa.update',
    category: ['iam', 'configuration'],
    type: ['change', 'user'],
    outcome: 'failure',
    level: 'warn',
    actor: {
      type: 'user',
      id: 'u-9',
      name: 'Grace',
      email: 'grace@example.com',
      roles: ['admin', 'support'],
      provider: 'keycloak',
      realm: 'staff',
      authenticated: true,
      impersonator: { id: 'u-1', name: 'Root', email: 'root@example.com' },
    },
    source: { ip: '2001:db8::1', userAgent: 'Mozilla/5.0 (X11; Linux x86_64)' },
    target: { type: 'user', id: '42' },
    changes: {
      before: { mfa: { phone: '+33 6 00 00 00 01', enabled: false }, tags: [] },
      after: { mfa: { phone: '+33 6 00 00 00 02', enabled: true }, tags: ['vip'] },
      diff: [
        {
          path: ['mfa', 'phone'],
          op: 'changed',
          before: '+33 6 00 00 00 01',
          after: '+33 6 00 00 00 02',
        },
        { path: ['mfa', 'enabled'], op: 'changed', before: false, after: true },
        { path: ['tags', '0'], op: 'added', after: 'vip' },
      ],
      fields: ['mfa.phone', 'mfa.enabled', 'tags.0'],
    },
    request: {
      method: 'PATCH',
      path: '/users/42/mfa',
      route: '/users/:id/mfa',
      id: 'req-full',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    },
    response: { statusCode: 409, body: { error: 'Conflict', retry: null } },
    body: { phone: '+33 6 00 00 00 02', nested: { deep: [1, 2.5, -3e-7, 0, true, null, 'x'] } },
    error: { type: 'ConflictException', message: 'Phone already used' },
    durationMs: 12.75,
    tenant: 'acme',
    filter: { q: 'grace', page: 2 },
    results: { ids: ['1', '2'], count: 2 },
    message: 'MFA phone change rejected',
    labels: { team: 'identity', severity: 'high' },
  });
}

/**
 * The behaviour every {@link AuditStore} must have: ordering, keyset paging, each filter,
 * history, lookups, idempotent and atomic appends, exact round-trips and concurrent writers.
 *
 * @param name shown in the suite title, e.g. `'sqlite'`.
 * @param setup called before each test; returns an initialised, empty store and a teardown
 *   that closes it and removes whatever it created.
 */
export function describeStoreContract(name: string, setup: () => Promise<StoreUnderTest>): void {
  describe(`AuditStore contract: ${name}`, () => {
    let store: AuditStore;
    let teardown: () => Promise<void>;

    beforeEach(async () => {
      ({ store, teardown } = await setup());
    });

    afterEach(async () => {
      await teardown();
    });

    // Reads as appended: without the chain sequence number a chained store adds to each event
    // (what `sequence` holds is checked on its own, below).
    const query = async (input: AuditQuery = {}) => {
      const page = await store.query(parseAuditQuery(input));
      return { ...page, items: page.items.map((event) => withoutSequence(event)) };
    };
    const get = async (id: string) => withoutSequence(await store.get(id));
    const history = async (type: string, id: string) =>
      (await store.history(type, id)).map((event) => withoutSequence(event));

    async function readAll(input: AuditQuery): Promise<AuditEvent[][]> {
      const pages: AuditEvent[][] = [];
      let cursor: string | undefined;
      do {
        const page = await query({ ...input, ...(cursor === undefined ? {} : { cursor }) });
        pages.push(page.items);
        cursor = page.nextCursor;
        if (pages.length > 1000) throw new Error('paging does not terminate');
      } while (cursor !== undefined);
      return pages;
    }

    describe('query ordering and paging', () => {
      it('returns an empty page without a cursor from an empty store', async () => {
        const page = await query();
        expect(page.items).toEqual([]);
        expect(page.nextCursor).toBeUndefined();
      });

      it('returns events newest first, by timestamp and then by id for equal timestamps', async () => {
        const events = [
          ...makeEvents(12, (i) => ({ timestamp: at(Math.floor(i / 4)) })),
          // An id that sorts after the others must not beat a later timestamp.
          makeEvent({ timestamp: at(-1), id: uuidv7({ msecs: BASE + 10_000 }) }),
          makeEvent({ timestamp: at(100), id: uuidv7({ msecs: BASE - 10_000 }) }),
        ];
        const batches = shuffled(events);
        await store.append(batches.slice(0, 5));
        await store.append(batches.slice(5));

        const page = await query({ limit: 100 });
        expect(ids(page.items)).toEqual(ids(newestFirst(events)));
        expect(page.nextCursor).toBeUndefined();
      });

      it('pages through 250 events with limit 7, each event exactly once', async () => {
        // Triples share a timestamp, so page boundaries fall inside ties.
        const events = makeEvents(250, (i) => ({ timestamp: at(Math.floor(i / 3)) }));
        const mixed = shuffled(events);
        for (let i = 0; i < mixed.length; i += 60) await store.append(mixed.slice(i, i + 60));

        const pages = await readAll({ limit: 7 });
        expect(pages).toHaveLength(Math.ceil(250 / 7));
        for (const page of pages.slice(0, -1)) expect(page).toHaveLength(7);
        expect(pages[pages.length - 1]).toHaveLength(250 % 7);
        const seen = ids(pages.flat());
        expect(new Set(seen).size).toBe(250);
        expect(seen).toEqual(ids(newestFirst(events)));
      });

      it('orders and filters by instant when timestamps carry a UTC offset', async () => {
        // 00:30 at +01:00 is 23:30 UTC the day before, so it is older than 23:45 UTC.
        const offset = makeEvent({ timestamp: '2026-03-01T00:30:00.000+01:00' });
        const utc = makeEvent({ timestamp: '2026-02-28T23:45:00.000Z' });
        const later = makeEvent({ timestamp: '2026-03-01T00:15:00.000Z' });
        await store.append([offset, utc, later]);
        expect(ids((await query()).items)).toEqual(ids([later, utc, offset]));
        expect(ids((await query({ to: '2026-02-28T23:45:00.000Z' })).items)).toEqual(ids([offset]));
        const first = await query({ limit: 2 });
        expect(ids(first.items)).toEqual(ids([later, utc]));
        const second = await query({ limit: 2, cursor: first.nextCursor });
        expect(second.items).toStrictEqual([offset]);
      });

      it('pages inside a period, the cursor never leaving it', async () => {
        const events = makeEvents(40, (i) => ({ timestamp: at(Math.floor(i / 2) * 100) }));
        await store.append(shuffled(events));
        const pages = await readAll({ from: at(500), to: at(1500), limit: 3 });
        const inside = events.filter((e) => e.timestamp >= at(500) && e.timestamp < at(1500));
        expect(inside).toHaveLength(20);
        expect(ids(pages.flat())).toEqual(ids(newestFirst(inside)));
      });

      it('gives no cursor on a last page that is exactly full', async () => {
        await store.append(makeEvents(14, (i) => ({ timestamp: at(i) })));
        const first = await query({ limit: 7 });
        expect(first.items).toHaveLength(7);
        expect(first.nextCursor).toEqual(expect.any(String));
        const second = await query({ limit: 7, cursor: first.nextCursor });
        expect(second.items).toHaveLength(7);
        expect(second.nextCursor).toBeUndefined();
      });

      it('keeps the filters while paging', async () => {
        const events = makeEvents(60, (i) => ({
          timestamp: at(Math.floor(i / 2)),
          actor: { type: 'user', id: i % 3 === 0 ? 'pager' : 'other', authenticated: true },
        }));
        await store.append(shuffled(events));
        const pages = await readAll({ actorId: 'pager', limit: 4 });
        expect(pages.length).toBe(5);
        expect(ids(pages.flat())).toEqual(
          ids(newestFirst(events.filter((e) => e.actor.id === 'pager'))),
        );
      });
    });

    describe('query filters', () => {
      const actions = ['user.update', 'user.delete', 'order.create'];
      const outcomes = ['success', 'failure', 'unknown'] as const;
      const dataset = (): AuditEvent[] =>
        makeEvents(90, (i) => ({
          timestamp: at(i * 10),
          action: actions[i % 3],
          outcome: outcomes[Math.floor(i / 3) % 3],
          actor:
            i % 7 === 0
              ? { type: 'anonymous', authenticated: false }
              : { type: 'user', id: `u-${i % 4}`, authenticated: true },
          ...(i % 11 === 0 ? {} : { target: { type: i % 2 ? 'user' : 'order', id: `${i % 5}` } }),
          ...(i % 6 === 0 ? {} : { request: { method: 'POST', id: `req-${i % 8}` } }),
          ...(i % 3 === 0 ? {} : { tenant: i % 2 ? 'acme' : 'globex' }),
        }));

      type Case = [string, AuditQuery, (e: AuditEvent) => boolean];
      const cases: Case[] = [
        ['actorId', { actorId: 'u-1' }, (e) => e.actor.id === 'u-1'],
        [
          'resourceType + resourceId',
          { resourceType: 'user', resourceId: '3' },
          (e) => e.target?.type === 'user' && e.target.id === '3',
        ],
        ['resourceType alone', { resourceType: 'order' }, (e) => e.target?.type === 'order'],
        ['resourceId alone', { resourceId: '2' }, (e) => e.target?.id === '2'],
        ['action', { action: 'user.delete' }, (e) => e.action === 'user.delete'],
        ['outcome', { outcome: 'failure' }, (e) => e.outcome === 'failure'],
        ['requestId', { requestId: 'req-5' }, (e) => e.request?.id === 'req-5'],
        ['tenant', { tenant: 'globex' }, (e) => e.tenant === 'globex'],
        ['from (inclusive)', { from: at(300) }, (e) => e.timestamp >= at(300)],
        ['to (exclusive)', { to: at(300) }, (e) => e.timestamp < at(300)],
        [
          'from + to',
          { from: new Date(BASE + 200), to: new Date(BASE + 500) },
          (e) => e.timestamp >= at(200) && e.timestamp < at(500),
        ],
        [
          'actorId + action + period',
          { actorId: 'u-2', action: 'user.update', from: at(100), to: at(800) },
          (e) =>
            e.actor.id === 'u-2' &&
            e.action === 'user.update' &&
            e.timestamp >= at(100) &&
            e.timestamp < at(800),
        ],
        [
          'resource + outcome',
          { resourceType: 'order', resourceId: '4', outcome: 'success' },
          (e) => e.target?.type === 'order' && e.target.id === '4' && e.outcome === 'success',
        ],
        [
          'tenant + requestId + action',
          { tenant: 'acme', requestId: 'req-3', action: 'user.delete' },
          (e) => e.tenant === 'acme' && e.request?.id === 'req-3' && e.action === 'user.delete',
        ],
        ['a value nothing has', { actorId: 'nobody' }, () => false],
      ];

      it.each(cases)('filters by %s', async (label, filter, keep) => {
        const events = dataset();
        await store.append(shuffled(events));
        const expected = ids(newestFirst(events.filter(keep)));
        if (label !== 'a value nothing has') expect(expected.length).toBeGreaterThan(0);
        const page = await query({ ...filter, limit: 1000 });
        expect(ids(page.items)).toEqual(expected);
      });

      it('includes an event exactly at "from" and excludes one exactly at "to"', async () => {
        const [early, onFrom, inside, onTo] = makeEvents(4, (i) => ({ timestamp: at(i * 1000) }));
        await store.append([early, onFrom, inside, onTo] as AuditEvent[]);
        const page = await query({ from: at(1000), to: at(3000) });
        expect(ids(page.items)).toEqual(ids([inside, onFrom] as AuditEvent[]));
        expect((await query({ from: at(1000), to: at(1000) })).items).toEqual([]);
      });
    });

    describe('history', () => {
      it('returns every event of one resource, oldest first, and nothing else', async () => {
        const mine = makeEvents(30, (i) => ({
          timestamp: at(Math.floor(i / 2)),
          target: { type: 'order', id: '7' },
        }));
        const others = [
          makeEvent({ target: { type: 'user', id: '7' } }),
          makeEvent({ target: { type: 'order', id: '70' } }),
          makeEvent({ target: { type: 'order' } }),
          makeEvent({ target: undefined }),
        ];
        await store.append(shuffled([...mine, ...others]));
        const timeline = await history('order', '7');
        expect(ids(timeline)).toEqual(ids(newestFirst(mine).reverse()));
        expect(await history('order', 'missing')).toEqual([]);
      });
    });

    describe('get', () => {
      it('returns the event with that id, or undefined', async () => {
        const events = makeEvents(5);
        await store.append(events);
        expect(await get((events[3] as AuditEvent).id)).toStrictEqual(events[3]);
        expect(await get(uuidv7())).toBeUndefined();
      });
    });

    describe('sequence numbers', () => {
      it("gives each event read back its chain's number when the store keeps a chain, none otherwise", async () => {
        const events = makeEvents(6, (i) => ({
          timestamp: at(i),
          target: { type: 'doc', id: '1' },
        }));
        await store.append(events.slice(0, 3));
        await store.append(events.slice(3));
        const chain = chainSourceOf(store);
        // A store that chains after commit (PostgreSQL) numbers the events once sealed.
        await chain?.seal?.();
        const read = {
          query: (await store.query(parseAuditQuery({}))).items.reverse(),
          history: await store.history('doc', '1'),
          get: await Promise.all(events.map(async (e) => (await store.get(e.id)) as AuditEvent)),
        };
        const expected = chain === undefined ? [] : [1, 2, 3, 4, 5, 6];
        for (const [how, items] of Object.entries(read)) {
          expect({ how, ids: ids(items) }).toEqual({ how, ids: ids(events) });
          const numbers = items.map((e) => e.sequence).filter((n) => n !== undefined);
          expect({ how, numbers }).toEqual({ how, numbers: expected });
        }
      });

      it('keeps no sequence number given with an event: the store numbers what it chains', async () => {
        const event = makeEvent();
        await store.append([{ ...event, sequence: 99 }]);
        const chain = chainSourceOf(store);
        await chain?.seal?.();
        const read = await store.get(event.id);
        expect(read).toStrictEqual(chain === undefined ? event : { ...event, sequence: 1 });
      });
    });

    describe('append', () => {
      it('does nothing for an empty batch', async () => {
        await store.append([]);
        expect((await query()).items).toEqual([]);
      });

      it('stores an id once, keeping the first version, within one batch', async () => {
        const first = makeEvent({ message: 'first' });
        const again = { ...first, message: 'second' };
        await store.append([first, again]);
        expect((await query()).items).toStrictEqual([first]);
      });

      it('stores an id once, keeping the first version, across batches', async () => {
        const first = makeEvent({ message: 'first' });
        const other = makeEvent();
        await store.append([first]);
        await store.append([{ ...first, message: 'retried' }, other]);
        const page = await query();
        expect(page.items).toHaveLength(2);
        expect(await get(first.id)).toStrictEqual(first);
        expect(await get(other.id)).toStrictEqual(other);
      });

      it('stores all events of a batch or none of them', async () => {
        const valid = makeEvent();
        const invalid = makeEvent({ timestamp: 'yesterday' });
        await expect(store.append([valid, invalid])).rejects.toThrow(/timestamp/);
        await expect(store.append([valid, invalid])).rejects.toBeInstanceOf(AuditRecordError);
        expect(await get(valid.id)).toBeUndefined();
        expect((await query()).items).toEqual([]);
      });

      it('refuses an event whose timestamp JSON cannot write, naming the field', async () => {
        const invalid = makeEvent({ timestamp: 10n as never });
        await expect(store.append([invalid])).rejects.toThrow(
          /"timestamp" 10n is not an ISO-8601 instant/,
        );
        await expect(store.append([invalid])).rejects.toBeInstanceOf(AuditRecordError);
      });

      it('keeps all events of 20 concurrent appends of 50', async () => {
        const batches = Array.from({ length: 20 }, (_, b) =>
          makeEvents(50, (i) => ({
            timestamp: at(b * 50 + i),
            actor: { type: 'user', id: `w${b}`, authenticated: true },
          })),
        );
        await Promise.all(batches.map((batch) => store.append(batch)));
        const page = await query({ limit: 1000 });
        expect(page.items).toHaveLength(1000);
        expect(page.nextCursor).toBeUndefined();
        expect(new Set(ids(page.items)).size).toBe(1000);
        expect(ids(page.items)).toEqual(ids(newestFirst(batches.flat())));
      });

      it('is not affected by later changes to the appended or returned objects', async () => {
        const event = makeEvent({ labels: { a: '1' } });
        const original = structuredClone(event);
        await store.append([event]);
        event.message = 'changed';
        (event.labels as Record<string, string>).a = '2';
        event.actor.roles = ['root'];

        const read = await get(event.id);
        expect(read).toStrictEqual(original);
        (read as AuditEvent).actor.name = 'Mallory';
        ((await query()).items[0] as AuditEvent).action = 'user.delete';
        expect(await get(event.id)).toStrictEqual(original);
      });
    });

    describe('round-trips', () => {
      it('returns a fully populated event deep-equal to the appended one', async () => {
        const event = fullEvent();
        const expected = structuredClone(event);
        await store.append([event]);
        expect(await get(event.id)).toStrictEqual(expected);
        expect((await query()).items).toStrictEqual([expected]);
        expect(await history('user', '42')).toStrictEqual([expected]);
      });

      it('keeps unicode and control characters exactly, and filters on unicode values', async () => {
        const text = {
          emoji: '👩‍👩‍👧‍👦 🏳️‍🌈 👍🏽 🇫🇷',
          rtl: 'مرحبا بالعالم \u200F שלום',
          cjk: '漢字かなカナ한국어 𠮷',
          combining: 'e\u0301 n\u0303 a\u030A\u0323 Z\u0351\u0352\u0353',
          // Every control character but U+0000: the event builder replaces NUL with U+FFFD
          // (src/event/serialize.ts) because PostgreSQL text and jsonb cannot hold it, so no
          // store ever receives one.
          controls: '\u0001\u0007\b\t\n\u000B\f\r\u001B\u001F\u007F\u0085\u2028\u2029\uFEFF',
          quotes: '"\'\\`${x}` %s ? ?1 :name',
        };
        const event = makeEvent({
          actor: { type: 'user', id: 'ユーザー-😀', name: text.rtl, authenticated: true },
          target: { type: 'ドキュメント', id: 'e\u0301-𠮷' },
          tenant: 'شركة',
          message: Object.values(text).join(' | '),
          labels: text,
          body: { [text.emoji]: text.controls, list: Object.values(text) },
        });
        const expected = structuredClone(event);
        await store.append([event, makeEvent()]);

        expect(await get(event.id)).toStrictEqual(expected);
        expect((await query({ actorId: 'ユーザー-😀' })).items).toStrictEqual([expected]);
        expect((await query({ tenant: 'شركة' })).items).toStrictEqual([expected]);
        expect(await history('ドキュメント', 'e\u0301-𠮷')).toStrictEqual([expected]);
        // Canonically equivalent but different code points: must not match.
        expect(await history('ドキュメント', '\u00E9-𠮷')).toEqual([]);
      });

      it('keeps numbers exactly: integers, fractions, exponents and the extremes', async () => {
        const numbers = [
          0,
          1,
          -1,
          Number.MAX_SAFE_INTEGER,
          Number.MIN_SAFE_INTEGER,
          2 ** 53 + 2,
          0.1 + 0.2,
          1 / 3,
          -3e-7,
          1e-7,
          123456789.98765433,
          1e21,
          -1.5e300,
          Number.MAX_VALUE,
          Number.MIN_VALUE,
        ];
        const event = makeEvent({
          durationMs: 0.30000000000000004,
          body: { numbers, keyed: Object.fromEntries(numbers.map((n, i) => [`n${i}`, n])) },
          response: { statusCode: 201, body: [numbers, [numbers]] },
        });
        const expected = structuredClone(event);
        await store.append([event]);
        const read = await get(event.id);
        expect(read).toStrictEqual(expected);
        expect((read?.body as { numbers: number[] }).numbers).toEqual(numbers);
      });

      it('keeps nested arrays and objects, empty ones and unusual keys', async () => {
        const value = {
          '': 'empty key',
          'a.b': 'dotted',
          '10': 'numeric key',
          '2': 'another numeric key',
          z: 1,
          a: 2,
          nested: [[[]], [{}], [[1, [2, [3, [4]]]]], [{ x: [{ y: [null, false, ''] }] }]],
          deep: { l1: { l2: { l3: { l4: { l5: { l6: { l7: { l8: ['bottom'] } } } } } } } },
          empty: { object: {}, array: [], string: '' },
        };
        const event = makeEvent({ body: value, filter: [value], results: [[], {}, [[]]] });
        const expected = structuredClone(event);
        await store.append([event]);
        expect(await get(event.id)).toStrictEqual(expected);
        expect((await query()).items).toStrictEqual([expected]);
      });

      it('round-trips an event of about 250 KiB', async () => {
        const rows = Array.from({ length: 2100 }, (_, i) => ({
          id: i,
          name: `row ${i} ${'x'.repeat(80)}`,
          ok: i % 2 === 0,
        }));
        const event = makeEvent({
          changes: { before: { rows }, after: { count: rows.length }, diff: [], fields: ['rows'] },
          message: 'y'.repeat(20_000),
        });
        const size = Buffer.byteLength(JSON.stringify(event));
        expect(size).toBeGreaterThan(240 * 1024);
        expect(size).toBeLessThan(400 * 1024);
        const expected = structuredClone(event);
        await store.append([event]);
        expect(await get(event.id)).toStrictEqual(expected);
        expect((await query()).items).toStrictEqual([expected]);
      });
    });

    describeAlarmOutboxContract(() => store);
  });
}
