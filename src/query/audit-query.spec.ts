import {
  decodeCursor,
  DEFAULT_QUERY_LIMIT,
  encodeCursor,
  MAX_QUERY_LIMIT,
  parseAuditQuery,
} from './audit-query';
import { AuditQueryError } from '../common/audit-query.error';

function rejection(input: unknown): AuditQueryError {
  try {
    parseAuditQuery(input);
  } catch (error) {
    expect(error).toBeInstanceOf(AuditQueryError);
    return error as AuditQueryError;
  }
  throw new Error(`parseAuditQuery accepted ${JSON.stringify(input)}`);
}

const CIRCULAR: Record<string, unknown> = {};
CIRCULAR.self = CIRCULAR;

describe('parseAuditQuery', () => {
  it('defaults to the first page of 50 without filters', () => {
    expect(parseAuditQuery()).toStrictEqual({ limit: DEFAULT_QUERY_LIMIT });
    expect(parseAuditQuery({})).toStrictEqual({ limit: 50 });
  });

  it.each([
    ['actorId', 'u-1'],
    ['resourceType', 'user'],
    ['resourceId', '42'],
    ['action', 'user.update'],
    ['requestId', 'req-1'],
    ['tenant', 'acme'],
  ])('passes the %s filter through', (key, value) => {
    expect(parseAuditQuery({ [key]: value })).toStrictEqual({ limit: 50, [key]: value });
  });

  it.each(['success', 'failure', 'unknown'])('accepts outcome %s', (outcome) => {
    expect(parseAuditQuery({ outcome })).toStrictEqual({ limit: 50, outcome });
  });

  it('reads a date-time without a zone as UTC (the CLI suite checks it under another TZ)', () => {
    expect(parseAuditQuery({ from: '2026-01-31T12:00', to: '2026-01-31T13:00:30' })).toStrictEqual({
      limit: 50,
      fromMs: Date.UTC(2026, 0, 31, 12),
      toMs: Date.UTC(2026, 0, 31, 13, 0, 30),
    });
    expect(parseAuditQuery({ from: '2026-01-31T12:00-05:00' }).fromMs).toBe(
      Date.UTC(2026, 0, 31, 17),
    );
  });

  it('turns from and to into epoch milliseconds, from Dates or ISO strings', () => {
    expect(
      parseAuditQuery({ from: '2026-01-31', to: '2026-02-01T12:30:00.250+02:00' }),
    ).toStrictEqual({
      limit: 50,
      fromMs: Date.UTC(2026, 0, 31),
      toMs: Date.UTC(2026, 1, 1, 10, 30, 0, 250),
    });
    const from = new Date(Date.UTC(2026, 5, 1));
    expect(parseAuditQuery({ from, to: from })).toMatchObject({
      fromMs: from.getTime(),
      toMs: from.getTime(),
    });
  });

  it('accepts limits 1 and 1000', () => {
    expect(parseAuditQuery({ limit: 1 }).limit).toBe(1);
    expect(parseAuditQuery({ limit: MAX_QUERY_LIMIT }).limit).toBe(1000);
  });

  it('combines every filter', () => {
    const cursor = encodeCursor({ ts: 1_700_000_000_000, id: 'abc' });
    expect(
      parseAuditQuery({
        actorId: 'u-1',
        resourceType: 'user',
        resourceId: '42',
        action: 'user.update',
        outcome: 'failure',
        requestId: 'req-1',
        tenant: 'acme',
        from: '2026-01-01T00:00:00Z',
        to: '2026-01-02T00:00:00Z',
        limit: 20,
        cursor,
      }),
    ).toStrictEqual({
      actorId: 'u-1',
      resourceType: 'user',
      resourceId: '42',
      action: 'user.update',
      outcome: 'failure',
      requestId: 'req-1',
      tenant: 'acme',
      fromMs: Date.UTC(2026, 0, 1),
      toMs: Date.UTC(2026, 0, 2),
      limit: 20,
      before: { ts: 1_700_000_000_000, id: 'abc' },
    });
  });

  it.each([null, 'actorId=1', 42, [{ actorId: '1' }]])(
    'rejects %j instead of an object',
    (input) => {
      expect(rejection(input).message).toMatch(/expects an object of filters/);
    },
  );

  it('rejects an unknown filter, listing the known ones', () => {
    const error = rejection({ actor: 'u-1' });
    expect(error.message).toMatch(/Unknown query filter "actor"/);
    expect(error.message).toMatch(/Known filters: actorId, resourceType/);
  });

  it.each([0, 1001, 1.5, '10', -1, Number.NaN, null])('rejects limit %p', (limit) => {
    expect(rejection({ limit }).message).toMatch(
      /Invalid "limit" .*: use a whole number from 1 to 1000/,
    );
  });

  it.each<[string, unknown]>([
    ['empty', ''],
    ['a number', 42],
    ['too long', 'x'.repeat(513)],
  ])('rejects an actorId that is %s', (_label, value) => {
    expect(rejection({ actorId: value }).message).toMatch(
      /Invalid "actorId" filter: expected a non-empty string of at most 512 characters/,
    );
  });

  it('rejects an unknown outcome', () => {
    expect(rejection({ outcome: 'ok' }).message).toMatch(
      /Invalid "outcome" filter "ok": use one of success, failure, unknown/,
    );
  });

  it.each([
    ['from', 'yesterday'],
    ['from', '2026-13-01'],
    ['to', '31/01/2026'],
    ['to', 1_700_000_000_000],
    ['from', new Date('nope')],
  ])('rejects %s = %p', (key, value) => {
    expect(rejection({ [key]: value }).message).toMatch(new RegExp(`Invalid date for "${key}"`));
  });

  // Values JSON cannot write are described, not handed to JSON.stringify (which throws).
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a BigInt limit', { limit: 10n }, /^Invalid "limit" 10n: use a whole number/],
    ['a BigInt actorId', { actorId: 1n }, /^Invalid "actorId" filter: .*, got 1n\.$/],
    ['a BigInt outcome', { outcome: 1n }, /^Invalid "outcome" filter 1n: use one of/],
    ['a BigInt from', { from: 1n }, /^Invalid date for "from": 1n\./],
    ['a circular to', { to: CIRCULAR }, /^Invalid date for "to": an object with keys \["self"\]\./],
  ])('rejects %s with an AuditQueryError naming the filter', (_label, input, message) => {
    expect(rejection(input).message).toMatch(message);
  });

  it('rejects from after to', () => {
    expect(rejection({ from: '2026-02-01', to: '2026-01-01' }).message).toMatch(
      /"from" is after "to"/,
    );
  });

  it('rejects a cursor that is not a string', () => {
    expect(rejection({ cursor: 5 }).message).toMatch(/Invalid "cursor"/);
  });

  it('rejects a malformed cursor', () => {
    expect(rejection({ cursor: 'not a cursor!' }).message).toMatch(/Malformed cursor/);
  });
});

describe('encodeCursor / decodeCursor', () => {
  it('round-trips a position as a URL-safe string', () => {
    const position = { ts: 1_767_225_600_123, id: '019b8c4e-6f3a-7c2d-9e1f-0a1b2c3d4e5f' };
    const cursor = encodeCursor(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toStrictEqual(position);
  });

  it('round-trips negative and zero timestamps', () => {
    expect(decodeCursor(encodeCursor({ ts: 0, id: 'a' }))).toStrictEqual({ ts: 0, id: 'a' });
    expect(decodeCursor(encodeCursor({ ts: -5, id: 'a' }))).toStrictEqual({ ts: -5, id: 'a' });
  });

  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  it.each([
    ['an empty string', ''],
    ['characters outside base64url', 'abc+/='],
    ['a string that is too long', 'A'.repeat(401)],
    ['base64 of something that is not JSON', Buffer.from('{nope').toString('base64url')],
    ['an object', encode({ ts: 1, id: 'a' })],
    ['an array of the wrong length', encode([1, 'a', 2])],
    ['a fractional timestamp', encode([1.5, 'a'])],
    ['an unsafe timestamp', encode([2 ** 60, 'a'])],
    ['a timestamp as a string', encode(['1', 'a'])],
    ['an empty id', encode([1, ''])],
    ['an id that is too long', encode([1, 'x'.repeat(65)])],
  ])('rejects %s', (_label, cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(AuditQueryError);
    expect(() => decodeCursor(cursor)).toThrow(
      /Malformed cursor .*: pass the nextCursor value of a previous query\(\) result unchanged/,
    );
  });
});
