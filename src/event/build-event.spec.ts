import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { AUDIT_EVENT_SCHEMA_VERSION, type AuditEvent } from './audit-event';
import {
  AUDIT_EVENT_LIMITS,
  buildAuditEvent,
  buildAuditEventWithChanges,
  type AuditEventDraft,
} from './build-event';
import { isDiffTruncationEntry } from './diff';
import { REDACTED, Redactor } from './redact';
import { isTruncatedMarker, sanitizeString } from './serialize';

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const settings = {
  redactor: new Redactor(['phone']),
  maxValueBytes: 16 * 1024,
  maxEventBytes: 64 * 1024,
};

function draft(overrides: Partial<AuditEventDraft> = {}): AuditEventDraft {
  return {
    action: 'user.update',
    outcome: 'success',
    level: 'info',
    actor: { id: 'u1', name: 'Ada' },
    ...overrides,
  };
}

const jsonBytes = (event: AuditEvent): number => Buffer.byteLength(JSON.stringify(event), 'utf8');

/** Every string in the value, keys included, is storable UTF-8 text. */
function expectStorableStrings(value: unknown): void {
  if (typeof value === 'string') {
    expect(sanitizeString(value)).toBe(value);
  } else if (Array.isArray(value)) {
    value.forEach(expectStorableStrings);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      expect(sanitizeString(key)).toBe(key);
      expectStorableStrings(item);
    }
  }
}

function expectRoundTrip(event: AuditEvent): void {
  expect(isDeepStrictEqual(JSON.parse(JSON.stringify(event)), event)).toBe(true);
}

describe('buildAuditEvent', () => {
  describe('identity and time', () => {
    it('fills schema version, a UUIDv7 id and the current UTC time', () => {
      // The clock is set, so "current" is one known instant rather than a window around now.
      jest.useFakeTimers({ now: Date.parse('2026-03-14T10:02:05.120Z'), doNotFake: ['nextTick'] });
      try {
        const event = buildAuditEvent(draft(), settings);
        expect(event.schemaVersion).toBe(AUDIT_EVENT_SCHEMA_VERSION);
        expect(event.id).toMatch(UUID_V7);
        expect(event.timestamp).toBe('2026-03-14T10:02:05.120Z');
        jest.advanceTimersByTime(1);
        const next = buildAuditEvent(draft(), settings);
        expect(next.id).not.toBe(event.id);
        expect(next.timestamp).toBe('2026-03-14T10:02:05.121Z');
      } finally {
        jest.useRealTimers();
      }
    });

    it('keeps a given id and accepts Date, ISO string and epoch milliseconds', () => {
      const iso = '2025-01-31T12:00:00.007Z';
      expect(buildAuditEvent(draft({ id: ' evt-1 ' }), settings).id).toBe('evt-1');
      expect(buildAuditEvent(draft({ timestamp: new Date(iso) }), settings).timestamp).toBe(iso);
      expect(
        buildAuditEvent(draft({ timestamp: '2025-01-31T13:00:00.007+01:00' }), settings).timestamp,
      ).toBe(iso);
      expect(buildAuditEvent(draft({ timestamp: Date.parse(iso) }), settings).timestamp).toBe(iso);
    });

    it.each([new Date(Number.NaN), 'yesterday-ish', Number.NaN, 1e20, {} as unknown as string])(
      'rejects the invalid timestamp %p with an AuditRecordError that says what to pass',
      (timestamp) => {
        expect(() => buildAuditEvent(draft({ timestamp }), settings)).toThrow(
          expect.objectContaining({
            name: 'AuditRecordError',
            code: 'AUDIT_RECORD_INVALID',
            message: expect.stringMatching(
              /timestamp .* is not a valid date: pass a valid Date/,
            ) as unknown,
          }) as Error,
        );
      },
    );

    it.each(['', '   ', 'x'.repeat(201)])('rejects the id %p', (id) => {
      expect(() => buildAuditEvent(draft({ id }), settings)).toThrow(/id .* is invalid/);
    });
  });

  describe('action and classification', () => {
    it('trims the action and derives ECS category and type from it and the target', () => {
      const event = buildAuditEvent(
        draft({ action: '  order.create  ', target: { type: 'order', id: 7 } }),
        settings,
      );
      expect(event.action).toBe('order.create');
      expect(event.category).toEqual(['api']);
      expect(event.type).toEqual(['creation']);
      const iam = buildAuditEvent(
        draft({ action: 'profile.update', target: { type: 'user' } }),
        settings,
      );
      expect(iam.category).toEqual(['iam']);
      expect(iam.type).toEqual(['change', 'user']);
    });

    it('accepts explicit ECS values and drops the ones ECS does not allow', () => {
      const event = buildAuditEvent(
        draft({
          category: ['authentication', 'bogus' as 'api', 'authentication'],
          type: ['start', 'nope' as 'info'],
        }),
        settings,
      );
      expect(event.category).toEqual(['authentication']);
      expect(event.type).toEqual(['start']);
      const untyped = buildAuditEvent(draft({ target: { id: 1 } as never }), settings);
      expect(untyped.target).toEqual({ type: 'unknown', id: '1' });
      expect(untyped.category).toEqual(['iam']);
      const fallback = buildAuditEvent(draft({ category: ['bogus' as 'api'] }), settings);
      expect(fallback.category).toEqual(['iam']);
    });

    it.each([
      ['', /action is empty/],
      ['   ', /action is empty/],
      ['x'.repeat(201), /201 characters long .*limit is 200/],
      [undefined, /action must be a string/],
      [42, /action must be a string/],
    ])('rejects the action %p', (action, message) => {
      expect(() => buildAuditEvent(draft({ action: action as string }), settings)).toThrow(message);
    });

    it('accepts an action of exactly 200 characters', () => {
      expect(buildAuditEvent(draft({ action: 'a'.repeat(200) }), settings).action).toHaveLength(
        200,
      );
    });

    it('falls back to safe outcome and level values', () => {
      const event = buildAuditEvent(
        draft({ outcome: 'maybe' as 'success', level: 'loud' as 'info' }),
        settings,
      );
      expect(event.outcome).toBe('unknown');
      expect(event.level).toBe('info');
    });

    it('rejects limits that are not positive integers', () => {
      expect(() => buildAuditEvent(draft(), { ...settings, maxEventBytes: 0 })).toThrow(
        /maxEventBytes/,
      );
      expect(() => buildAuditEvent(draft(), { ...settings, maxValueBytes: Number.NaN })).toThrow(
        /maxValueBytes/,
      );
    });
  });

  describe('actor, source, target, request', () => {
    it('reads only the known actor fields and infers type and authenticated', () => {
      const user = {
        id: 42,
        email: 'ada@example.com',
        roles: ['admin', 7, { no: 1 }],
        passwordHash: 'never copied',
        impersonator: { id: 'root', secret: 'never copied' },
      };
      const event = buildAuditEvent(draft({ actor: user as never }), settings);
      expect(event.actor).toStrictEqual({
        type: 'user',
        authenticated: true,
        id: '42',
        email: 'ada@example.com',
        roles: ['admin', '7', '{"no":1}'],
        impersonator: { id: 'root' },
      });
      expect(buildAuditEvent(draft({ actor: {} }), settings).actor).toStrictEqual({
        type: 'anonymous',
        authenticated: false,
      });
      expect(
        buildAuditEvent(draft({ actor: { type: 'service', id: 'cron' } }), settings).actor,
      ).toStrictEqual({
        type: 'service',
        authenticated: true,
        id: 'cron',
      });
      expect(buildAuditEvent(draft({ actor: undefined as never }), settings).actor.type).toBe(
        'anonymous',
      );
    });

    it('survives an actor whose getters throw', () => {
      const actor = { id: 'u1' };
      Object.defineProperty(actor, 'name', {
        enumerable: true,
        get() {
          throw new Error('lazy relation not loaded');
        },
      });
      expect(buildAuditEvent(draft({ actor }), settings).actor).toStrictEqual({
        type: 'user',
        authenticated: true,
        id: 'u1',
      });
    });

    it('coerces the target id to a string', () => {
      const objectId = { toJSON: () => '65a1f0c2e4b0a1b2c3d4e5f6' };
      expect(buildAuditEvent(draft({ target: { type: 'user', id: 7 } }), settings).target).toEqual({
        type: 'user',
        id: '7',
      });
      expect(
        buildAuditEvent(draft({ target: { type: 'user', id: 2n ** 70n } }), settings).target?.id,
      ).toBe('1180591620717411303424');
      expect(
        buildAuditEvent(draft({ target: { type: 'user', id: objectId } }), settings).target?.id,
      ).toBe('65a1f0c2e4b0a1b2c3d4e5f6');
      expect(buildAuditEvent(draft({ target: { type: 'user' } }), settings).target).toStrictEqual({
        type: 'user',
      });
    });

    it('normalises request facts and cuts a query string left in the path', () => {
      const event = buildAuditEvent(
        draft({
          request: {
            method: 'patch',
            path: '/users/1?access_token=abc#frag',
            route: '/users/:id',
            id: 'r1',
          },
          response: { statusCode: 200 },
          source: { ip: '127.0.0.1', userAgent: 'jest' },
        }),
        settings,
      );
      expect(event.request).toEqual({
        method: 'PATCH',
        path: '/users/1',
        route: '/users/:id',
        id: 'r1',
      });
      expect(event.response).toEqual({ statusCode: 200 });
      expect(event.source).toEqual({ ip: '127.0.0.1', userAgent: 'jest' });
      expect(
        buildAuditEvent(draft({ response: { statusCode: 42 } }), settings).response,
      ).toBeUndefined();
    });
  });

  describe('compactness', () => {
    it('leaves out every absent optional field', () => {
      const event = buildAuditEvent(draft(), settings);
      expect(Object.keys(event).sort()).toEqual(
        [
          'action',
          'actor',
          'category',
          'id',
          'level',
          'outcome',
          'schemaVersion',
          'timestamp',
          'type',
        ].sort(),
      );
      const empty = buildAuditEvent(
        draft({
          source: {},
          request: {},
          response: {},
          labels: {},
          before: undefined,
          body: () => 1,
        }),
        settings,
      );
      expect(Object.keys(empty)).not.toEqual(
        expect.arrayContaining(['source', 'request', 'response', 'labels']),
      );
      expect(empty.changes).toBeUndefined();
      expect(empty.body).toBeUndefined();
      expectRoundTrip(empty);
    });

    it('keeps a zero duration and drops invalid ones', () => {
      expect(buildAuditEvent(draft({ durationMs: 0 }), settings).durationMs).toBe(0);
      expect(buildAuditEvent(draft({ durationMs: 12.5 }), settings).durationMs).toBe(12.5);
      expect(buildAuditEvent(draft({ durationMs: -1 }), settings).durationMs).toBeUndefined();
      expect(
        buildAuditEvent(draft({ durationMs: Number.NaN }), settings).durationMs,
      ).toBeUndefined();
    });
  });

  describe('changes', () => {
    it('records before, after, the diff and the changed field paths', () => {
      const event = buildAuditEvent(
        draft({
          before: { name: 'Ada', mfa: { enabled: false }, updatedAt: new Date(0) },
          after: { name: 'Ada L.', mfa: { enabled: true }, updatedAt: new Date(1000) },
        }),
        settings,
      );
      expect(event.changes).toEqual({
        before: { name: 'Ada', mfa: { enabled: false }, updatedAt: '1970-01-01T00:00:00.000Z' },
        after: { name: 'Ada L.', mfa: { enabled: true }, updatedAt: '1970-01-01T00:00:01.000Z' },
        diff: [
          { path: ['mfa', 'enabled'], op: 'changed', before: false, after: true },
          { path: ['name'], op: 'changed', before: 'Ada', after: 'Ada L.' },
          {
            path: ['updatedAt'],
            op: 'changed',
            before: '1970-01-01T00:00:00.000Z',
            after: '1970-01-01T00:00:01.000Z',
          },
        ],
        fields: ['mfa.enabled', 'name', 'updatedAt'],
        count: 3,
      });
    });

    it('lists every field as added for a creation and keeps no before', () => {
      const event = buildAuditEvent(
        draft({ action: 'user.create', after: { id: 1, name: 'Ada' } }),
        settings,
      );
      expect(event.changes).toStrictEqual({
        after: { id: 1, name: 'Ada' },
        diff: [
          { path: ['id'], op: 'added', after: 1 },
          { path: ['name'], op: 'added', after: 'Ada' },
        ],
        fields: ['id', 'name'],
        count: 2,
      });
    });

    it('keeps an empty diff when nothing changed', () => {
      const event = buildAuditEvent(draft({ before: { a: 1 }, after: { a: 1 } }), settings);
      expect(event.changes).toStrictEqual({
        before: { a: 1 },
        after: { a: 1 },
        diff: [],
        fields: [],
        count: 0,
      });
    });

    it('shows a redacted field that changed, with redacted values', () => {
      const oldPhone = '+33 6 11 11 11 11';
      const newPhone = '+33 6 22 22 22 22';
      const event = buildAuditEvent(
        draft({
          before: { password: 'old-password-1', mfa: { phone: oldPhone }, name: 'a' },
          after: { password: 'new-password-2', mfa: { phone: newPhone }, name: 'a' },
        }),
        settings,
      );
      expect(event.changes?.diff).toEqual([
        { path: ['mfa', 'phone'], op: 'changed', before: REDACTED, after: REDACTED },
        { path: ['password'], op: 'changed', before: REDACTED, after: REDACTED },
      ]);
      expect(event.changes?.fields).toEqual(['mfa.phone', 'password']);
      expect(event.changes?.before).toEqual({
        password: REDACTED,
        mfa: { phone: REDACTED },
        name: 'a',
      });
      const json = JSON.stringify(event);
      for (const secret of ['old-password-1', 'new-password-2', oldPhone, newPhone]) {
        expect(json).not.toContain(secret);
      }
    });

    it('applies the per-event redaction paths everywhere', () => {
      const event = buildAuditEvent(
        draft({
          redact: ['nickname', 'address.street'],
          before: { nickname: 'a', address: { street: 's1', city: 'c' } },
          after: { nickname: 'b', address: { street: 's2', city: 'c' } },
          body: { nickname: 'b', address: { street: 's2' } },
          responseBody: { nickname: 'b' },
          filter: { nickname: 'x' },
          results: [{ nickname: 'y' }],
        }),
        settings,
      );
      expect(event.changes?.diff).toEqual([
        { path: ['address', 'street'], op: 'changed', before: REDACTED, after: REDACTED },
        { path: ['nickname'], op: 'changed', before: REDACTED, after: REDACTED },
      ]);
      expect(event.body).toEqual({ nickname: REDACTED, address: { street: REDACTED } });
      expect(event.response?.body).toEqual({ nickname: REDACTED });
      expect(event.filter).toEqual({ nickname: REDACTED });
      expect(event.results).toEqual([{ nickname: REDACTED }]);
      expect(buildAuditEvent(draft({ body: { nickname: 'n' } }), settings).body).toEqual({
        nickname: 'n',
      });
    });
  });

  describe('error, message and labels', () => {
    it('turns any error into { type, message }, capped at 2 KiB', () => {
      expect(
        buildAuditEvent(draft({ error: new RangeError('out of range') }), settings).error,
      ).toEqual({
        type: 'RangeError',
        message: 'out of range',
      });
      expect(buildAuditEvent(draft({ error: 'plain string' }), settings).error).toEqual({
        type: 'Error',
        message: 'plain string',
      });
      expect(buildAuditEvent(draft({ error: 42 }), settings).error).toEqual({
        type: 'number',
        message: '42',
      });
      const long = buildAuditEvent(draft({ error: new Error('é'.repeat(5000)) }), settings).error;
      expect(Buffer.byteLength(long?.message ?? '', 'utf8')).toBeLessThanOrEqual(
        AUDIT_EVENT_LIMITS.errorMessageBytes,
      );
      expect(buildAuditEvent(draft({ error: null }), settings).error).toBeUndefined();
    });

    it('redacts a thrown plain object and never keeps a function body', () => {
      const error = buildAuditEvent(
        draft({
          error: { code: 'E_UPSTREAM', config: { headers: { Authorization: 'Bearer abc.def' } } },
        }),
        settings,
      ).error;
      expect(error?.type).toBe('Error');
      expect(error?.message).toContain('E_UPSTREAM');
      expect(error?.message).not.toContain('abc.def');
      const fn = buildAuditEvent(
        draft({
          error: function leaky() {
            return 'source text';
          },
        }),
        settings,
      ).error;
      expect(fn).toEqual({ type: 'function', message: 'leaky' });
    });

    it('caps the message at 8 KiB', () => {
      const message =
        buildAuditEvent(draft({ message: 'x'.repeat(20_000) }), settings).message ?? '';
      expect(Buffer.byteLength(message, 'utf8')).toBeLessThanOrEqual(
        AUDIT_EVENT_LIMITS.messageBytes,
      );
      expect(message.endsWith('\u2026')).toBe(true);
    });

    it('coerces label values to strings, caps them and redacts sensitive ones', () => {
      const labels = buildAuditEvent(
        draft({
          labels: {
            team: 'billing',
            count: 3,
            big: 5n,
            on: true,
            nothing: null,
            skipped: undefined,
            when: new Date(0),
            obj: { a: [1] },
            apiToken: 'tok',
            long: 'v'.repeat(5000),
          },
        }),
        settings,
      ).labels;
      expect(labels).toEqual({
        team: 'billing',
        count: '3',
        big: '5',
        on: 'true',
        nothing: 'null',
        when: '1970-01-01T00:00:00.000Z',
        obj: '{"a":[1]}',
        apiToken: REDACTED,
        long: expect.stringMatching(/^v+\u2026$/) as unknown,
      });
      expect(Buffer.byteLength(labels?.long ?? '', 'utf8')).toBeLessThanOrEqual(
        AUDIT_EVENT_LIMITS.labelValueBytes,
      );
    });

    it('keeps at most 64 labels', () => {
      const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i]));
      expect(
        Object.keys(buildAuditEvent(draft({ labels: many }), settings).labels ?? {}),
      ).toHaveLength(64);
    });
  });

  describe('hostile payloads', () => {
    it('does not throw on a throwing toJSON', () => {
      const body = {
        ok: 1,
        bad: {
          toJSON() {
            throw new Error('boom');
          },
        },
      };
      const event = buildAuditEvent(draft({ body, before: body, after: { ok: 2 } }), settings);
      expect(event.body).toEqual({ ok: 1, bad: '[Unserializable: Error: boom]' });
      expectRoundTrip(event);
    });

    it('does not let __proto__ in a body pollute Object.prototype', () => {
      const body = JSON.parse(
        '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}',
      ) as unknown;
      const event = buildAuditEvent(draft({ body, before: {}, after: body }), settings);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.getPrototypeOf(event.body)).toBe(Object.prototype);
      expect(JSON.stringify(event.body)).toBe(JSON.stringify(body));
      expect(event.changes?.fields).toEqual(['__proto__', 'constructor']);
      expectRoundTrip(event);
    });

    it('handles circular references, BigInt, Map, Set and binary data', () => {
      const node: Record<string, unknown> = {
        id: 1n,
        tags: new Set(['a']),
        meta: new Map([[1, 'x']]),
      };
      node.self = node;
      node.file = Buffer.from('file content');
      const event = buildAuditEvent(draft({ body: node }), settings);
      expect(event.body).toEqual({
        id: '1',
        tags: ['a'],
        meta: { '1': 'x' },
        self: '[Circular]',
        file: expect.objectContaining({ $audit: 'binary', bytes: 12 }) as unknown,
      });
      expectRoundTrip(event);
    });
  });

  describe('size limits', () => {
    it('replaces a 1 MB body with a truncated marker whose digest matches', () => {
      const body = 'x'.repeat(1024 * 1024);
      const event = buildAuditEvent(draft({ body }), settings);
      expect(jsonBytes(event)).toBeLessThanOrEqual(settings.maxEventBytes);
      expect(isTruncatedMarker(event.body)).toBe(true);
      const json = JSON.stringify(body);
      expect(event.body).toEqual({
        $audit: 'truncated',
        bytes: Buffer.byteLength(json),
        sha256: sha256(json),
      });
    });

    it('caps each diff value on its own', () => {
      const big = 'y'.repeat(20_000);
      const event = buildAuditEvent(
        draft({ before: { note: 'short', big: 'a' }, after: { note: 'long', big } }),
        settings,
      );
      const entry = event.changes?.diff.find((change) => change.path[0] === 'big');
      expect(entry?.before).toBe('a');
      expect(entry?.after).toEqual(
        expect.objectContaining({ $audit: 'truncated', sha256: sha256(JSON.stringify(big)) }),
      );
      expect(isTruncatedMarker(event.changes?.after)).toBe(true);
    });

    it('takes digests after redaction, so no digest of a secret is stored', () => {
      const secret = 'correct horse battery staple';
      const body = { password: secret, filler: 'z'.repeat(20_000) };
      const event = buildAuditEvent(draft({ body }), settings);
      const redactedJson = JSON.stringify({ password: REDACTED, filler: body.filler });
      expect(event.body).toEqual(expect.objectContaining({ sha256: sha256(redactedJson) }));
    });

    it('truncates the largest payloads first until the event fits', () => {
      const small = { maxValueBytes: 8 * 1024, maxEventBytes: 12 * 1024, redactor: new Redactor() };
      const event = buildAuditEvent(
        draft({
          body: 'b'.repeat(7000),
          filter: 'f'.repeat(6000),
          results: 'r'.repeat(3000),
          responseBody: 'tiny',
        }),
        small,
      );
      expect(jsonBytes(event)).toBeLessThanOrEqual(small.maxEventBytes);
      expect(isTruncatedMarker(event.body)).toBe(true);
      expect(event.filter).toBe('f'.repeat(6000));
      expect(event.results).toBe('r'.repeat(3000));
      expect(event.response?.body).toBe('tiny');
    });

    it('cuts the diff list and marks the cut when markers are not enough, keeping every field', () => {
      const before: Record<string, number> = {};
      const after: Record<string, number> = {};
      for (let i = 0; i < 5000; i += 1) {
        before[`field_${String(i).padStart(4, '0')}`] = i;
        after[`field_${String(i).padStart(4, '0')}`] = i + 1;
      }
      const limits = { maxValueBytes: 1024, maxEventBytes: 96 * 1024, redactor: new Redactor() };
      const event = buildAuditEvent(draft({ before, after }), limits);
      expect(jsonBytes(event)).toBeLessThanOrEqual(limits.maxEventBytes);
      const diff = event.changes?.diff ?? [];
      const last = diff[diff.length - 1];
      expect(last && isDiffTruncationEntry(last)).toBe(true);
      const kept = diff.length - 1;
      expect(kept).toBeGreaterThan(0);
      expect(last?.after).toEqual(
        expect.objectContaining({ $audit: 'truncated', entries: 5000 - kept }),
      );
      expect(event.changes?.fields).toEqual(Object.keys(after));
      expect(event.changes?.count).toBe(5000);
      expect(event.changes?.diffTruncated).toBe(true);
      expect(event.changes?.fieldsTruncated).toBeUndefined();
      expect(event.truncated).toEqual({
        payloads: ['changes.before', 'changes.after'],
        diffEntries: 5000 - kept,
      });
      // Nearly all the room is used: the cut is sized, not a blind halving.
      expect(jsonBytes(event)).toBeGreaterThan(limits.maxEventBytes * 0.9);
      expectRoundTrip(event);
    });

    it('keeps events that fit untouched', () => {
      const body = { a: 'x'.repeat(1000) };
      const event = buildAuditEvent(draft({ body }), settings);
      expect(event.body).toEqual(body);
      expect(event.body).not.toBe(body);
    });
  });

  describe('properties', () => {
    const hostileString = fc.string({
      unit: fc.oneof(
        fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)),
        fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
        fc.constantFrom('a', 'é', '😀', '"', '\\', '\u2028'),
      ),
      maxLength: 20,
    });
    const hostile = fc.oneof(
      fc.anything({
        withBigInt: true,
        withDate: true,
        withMap: true,
        withSet: true,
        withTypedArray: true,
        withSparseArray: true,
        withBoxedValues: true,
        withNullPrototype: true,
        withObjectString: true,
        key: fc.oneof(
          hostileString,
          fc.constantFrom('__proto__', 'constructor', 'password', 'toJSON'),
        ),
        values: [hostileString, fc.bigInt(), fc.double(), fc.date({ noInvalidDate: false })],
      }),
      hostileString,
    );
    const withCycles = fc
      .tuple(hostile, fc.array(fc.nat(), { maxLength: 6 }))
      .map(([value, picks]) => {
        const containers: (Record<string, unknown> | unknown[])[] = [];
        const visit = (item: unknown, depth: number): void => {
          if (
            typeof item !== 'object' ||
            item === null ||
            depth > 8 ||
            containers.includes(item as never)
          )
            return;
          const proto: unknown = Object.getPrototypeOf(item);
          if (!Array.isArray(item) && proto !== Object.prototype && proto !== null) return;
          containers.push(item as Record<string, unknown>);
          for (const key of Object.keys(item))
            visit((item as Record<string, unknown>)[key], depth + 1);
        };
        visit(value, 0);
        for (let i = 0; i + 1 < picks.length && containers.length > 0; i += 2) {
          const from = containers[(picks[i] ?? 0) % containers.length];
          const to = containers[(picks[i + 1] ?? 0) % containers.length];
          if (Array.isArray(from)) from.push(to);
          else if (from) from[`link${i}`] = to;
        }
        return value;
      });

    it('builds a JSON-round-trippable, storable, bounded event from hostile input', () => {
      const limits = {
        redactor: new Redactor(['phone']),
        maxValueBytes: 2048,
        maxEventBytes: 64 * 1024,
      };
      fc.assert(
        fc.property(
          fc.record(
            {
              before: withCycles,
              after: withCycles,
              body: withCycles,
              responseBody: withCycles,
              filter: withCycles,
              results: withCycles,
              error: withCycles,
              labels: fc.dictionary(hostileString, withCycles, { maxKeys: 5 }),
              message: hostileString,
              tenant: hostileString,
              target: fc.record({ type: hostileString, id: withCycles }),
              actor: fc.record({
                id: withCycles,
                name: hostileString,
                roles: fc.array(withCycles, { maxLength: 3 }),
              }),
              request: fc.record({ method: hostileString, path: hostileString }),
              redact: fc.array(hostileString, { maxLength: 3 }),
            },
            { requiredKeys: [] },
          ),
          (parts) => {
            const event = buildAuditEvent(
              { ...draft(), ...(parts as Partial<AuditEventDraft>) },
              limits,
            );
            expectRoundTrip(event);
            expectStorableStrings(event);
            expect(jsonBytes(event)).toBeLessThanOrEqual(limits.maxEventBytes);
            expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          },
        ),
        { numRuns: 300 },
      );
    });

    it('fits tight limits whenever the fixed fields do, truncating only what is needed', () => {
      const limits = { redactor: new Redactor(), maxValueBytes: 1500, maxEventBytes: 3000 };
      const payload = fc.oneof(
        withCycles,
        fc.string({ maxLength: 3000 }),
        fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 400 }), { maxKeys: 30 }),
      );
      fc.assert(
        fc.property(
          fc.record(
            { before: payload, after: payload, body: payload, filter: payload, results: payload },
            { requiredKeys: [] },
          ),
          (parts) => {
            const event = buildAuditEvent({ ...draft(), ...parts }, limits);
            const size = jsonBytes(event);
            expect(size).toBeLessThanOrEqual(limits.maxEventBytes);
            const json = JSON.stringify(event);
            const untruncated = buildAuditEvent(
              { ...draft(), ...parts, id: event.id, timestamp: event.timestamp },
              { ...limits, maxEventBytes: Number.MAX_SAFE_INTEGER },
            );
            // Nothing is replaced when the event already fit under the per-value limit alone.
            if (jsonBytes(untruncated) <= limits.maxEventBytes)
              expect(json).toBe(JSON.stringify(untruncated));
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  it('builds a typical event with work that grows with it, never faster', () => {
    const typical = (roles: number) => {
      const names = (n: number) => Array.from({ length: n }, (_, i) => `role-${i}`);
      return draft({
        target: { type: 'user', id: 1 },
        before: {
          id: 1,
          name: 'Ada',
          email: 'a@x.io',
          mfa: { phone: '1', enabled: true },
          roles: names(roles),
        },
        after: {
          id: 1,
          name: 'Ada',
          email: 'a@x.io',
          mfa: { phone: '2', enabled: true },
          roles: names(roles + 1),
        },
        body: { mfa: { phone: '2' }, roles: names(roles + 1) },
        request: { method: 'PATCH', path: '/users/1', route: '/users/:id', id: 'r' },
        response: { statusCode: 200 },
        durationMs: 3,
      });
    };
    // Counted in the walks' unit of work (values visited), not timed: how fast is the
    // benchmarks' business (bench/, the instruction-count gate).
    const visited = (roles: number) => buildAuditEventWithChanges(typical(roles), settings).visited;
    const sizes = [1, 2, 4, 8, 16, 32, 64, 128, 256];
    const work = sizes.map(visited);
    // The same cost for every role added, from the first to the 256th: no quadratic step.
    const perRole = (work[1]! - work[0]!) / (sizes[1]! - sizes[0]!);
    expect(work).toEqual(sizes.map((n) => work[0]! + perRole * (n - sizes[0]!)));
    expect(perRole).toBeLessThanOrEqual(10);
    // The typical event itself: a few dozen values.
    expect(work[0]).toBeLessThan(100);
  });
});
