import fc from 'fast-check';
import { parseAuditQuery } from './audit-query';
import { AuditQueryError } from '../common/audit-query.error';
import { AUDIT_QUERY_PARAM_NAMES, auditQueryFromParams } from './query-params';

const NOW = Date.parse('2026-03-10T12:00:00.000Z');

function rejection(params: Record<string, unknown>, ignore: string[] = []): AuditQueryError {
  try {
    auditQueryFromParams(params, NOW, ignore);
  } catch (error) {
    expect(error).toBeInstanceOf(AuditQueryError);
    return error as AuditQueryError;
  }
  throw new Error(`auditQueryFromParams accepted ${JSON.stringify(params)}`);
}

describe('auditQueryFromParams', () => {
  it('gives an empty query for no parameters', () => {
    expect(auditQueryFromParams({}, NOW)).toStrictEqual({});
  });

  it.each<[string, string, Record<string, unknown>]>([
    ['actor', 'u-1', { actorId: 'u-1' }],
    ['action', 'user.update', { action: 'user.update' }],
    ['outcome', 'failure', { outcome: 'failure' }],
    ['requestId', 'req-1', { requestId: 'req-1' }],
    ['tenant', 'acme', { tenant: 'acme' }],
    ['from', '2026-03-01', { from: '2026-03-01' }],
    ['to', '2026-03-02T10:00:00Z', { to: '2026-03-02T10:00:00Z' }],
    ['cursor', 'abc', { cursor: 'abc' }],
    ['resourceType', 'order', { resourceType: 'order' }],
    ['resourceId', '7', { resourceId: '7' }],
  ])('maps %s=%s', (name, value, expected) => {
    expect(auditQueryFromParams({ [name]: value }, NOW)).toStrictEqual(expected);
  });

  it.each<[string, Record<string, string>]>([
    ['user:42', { resourceType: 'user', resourceId: '42' }],
    ['user', { resourceType: 'user' }],
    ['user:', { resourceType: 'user' }],
    ['order:2026:7', { resourceType: 'order', resourceId: '2026:7' }],
  ])('splits resource %j at the first colon', (resource, expected) => {
    expect(auditQueryFromParams({ resource }, NOW)).toStrictEqual(expected);
  });

  it('rejects a resource without a type', () => {
    expect(rejection({ resource: ':42' }).message).toBe(
      'Invalid "resource" filter ":42": write it as type or type:id, e.g. user:42.',
    );
  });

  it('rejects resource together with resourceType or resourceId', () => {
    for (const extra of [{ resourceType: 'user' }, { resourceId: '42' }]) {
      expect(rejection({ resource: 'user:42', ...extra }).message).toMatch(
        /Give either "resource" \(type:id\) or "resourceType"\/"resourceId", not both/,
      );
    }
  });

  it('turns since into a from bound relative to now', () => {
    expect(auditQueryFromParams({ since: '24h' }, NOW)).toStrictEqual({
      from: '2026-03-09T12:00:00.000Z',
    });
    expect(auditQueryFromParams({ since: '90m' }, NOW).from).toBe('2026-03-10T10:30:00.000Z');
    expect(auditQueryFromParams({ since: '2w' }, NOW).from).toBe('2026-02-24T12:00:00.000Z');
  });

  it.each(['yesterday', '0h', '-1d', '24', '1y'])(
    'rejects since=%j as an AuditQueryError',
    (since) => {
      const error = rejection({ since });
      expect(error.message).toContain('Invalid "since" filter');
      expect(error.message).toContain('500ms, 30s, 10m, 24h, 7d, 2w');
    },
  );

  it('rejects since together with from', () => {
    expect(rejection({ since: '1d', from: '2026-03-01' }).message).toBe(
      'Give either "since" (e.g. 24h) or "from" (a date), not both.',
    );
  });

  it('reads limit as a whole number and leaves the range to parseAuditQuery', () => {
    expect(auditQueryFromParams({ limit: '20' }, NOW)).toStrictEqual({ limit: 20 });
    expect(auditQueryFromParams({ limit: '0' }, NOW)).toStrictEqual({ limit: 0 });
    expect(() => parseAuditQuery(auditQueryFromParams({ limit: '0' }, NOW))).toThrow(
      /Invalid "limit" 0/,
    );
  });

  it.each(['abc', '-1', '1.5', '1e3', '12345678', ' 5'])('rejects limit=%j', (limit) => {
    expect(rejection({ limit }).message).toBe(
      `Invalid "limit" ${JSON.stringify(limit)}: use a whole number from 1 to 1000.`,
    );
  });

  it('ignores empty values, as an empty form field means "any"', () => {
    const empty = Object.fromEntries(AUDIT_QUERY_PARAM_NAMES.map((name) => [name, '']));
    expect(auditQueryFromParams(empty, NOW)).toStrictEqual({});
  });

  it('rejects a value given twice (an array) or not as text', () => {
    expect(rejection({ actor: ['u-1', 'u-2'] }).message).toBe(
      'Invalid "actor" filter: give it once, as text (got ["u-1","u-2"]).',
    );
    expect(rejection({ limit: 5 }).message).toMatch(
      /Invalid "limit" filter: give it once, as text/,
    );
    // Values JSON cannot write are described, not handed to JSON.stringify (which throws).
    expect(rejection({ tenant: 5n }).message).toBe(
      'Invalid "tenant" filter: give it once, as text (got 5n).',
    );
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(rejection({ action: circular }).message).toBe(
      'Invalid "action" filter: give it once, as text (got an object with keys ["self"]).',
    );
  });

  it('rejects an unknown parameter, listing the known ones', () => {
    expect(rejection({ user: 'u-1' }).message).toBe(
      `Unknown filter "user". Known filters: ${AUDIT_QUERY_PARAM_NAMES.join(', ')}.`,
    );
  });

  it('skips the parameters the caller owns', () => {
    expect(auditQueryFromParams({ format: 'csv', actor: 'u-1' }, NOW, ['format'])).toStrictEqual({
      actorId: 'u-1',
    });
    expect(rejection({ format: 'csv' }).message).toContain('Unknown filter "format"');
  });

  it('defaults now to the current time', () => {
    const before = Date.now();
    const from = Date.parse(auditQueryFromParams({ since: '1h' }).from as string);
    expect(from).toBeGreaterThanOrEqual(before - 3_600_000);
    expect(from).toBeLessThanOrEqual(Date.now() - 3_600_000);
  });

  it('passes values through unvalidated, for parseAuditQuery to judge', () => {
    const query = auditQueryFromParams({ outcome: 'meh', from: 'yesterday' }, NOW);
    expect(query).toStrictEqual({ outcome: 'meh', from: 'yesterday' });
    expect(() => parseAuditQuery(query)).toThrow(AuditQueryError);
  });

  it('produces queries parseAuditQuery accepts for any valid combination', () => {
    const text = fc.string({ minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(
        fc.record(
          {
            actor: text,
            resource: fc
              .tuple(fc.stringMatching(/^[a-z]{1,10}$/), fc.option(text))
              .map(([type, id]) => (id === null ? type : `${type}:${id}`)),
            action: text,
            outcome: fc.constantFrom('success', 'failure', 'unknown'),
            requestId: text,
            tenant: text,
            since: fc.constantFrom('30s', '10m', '24h', '7d'),
            to: fc.constantFrom('2026-03-11', '2026-03-11T00:00:00Z'),
            limit: fc.integer({ min: 1, max: 1000 }).map(String),
          },
          { requiredKeys: [] },
        ),
        (params) => {
          const query = parseAuditQuery(auditQueryFromParams(params, NOW));
          if (params.actor !== undefined) expect(query.actorId).toBe(params.actor);
          if (params.limit !== undefined) expect(query.limit).toBe(Number(params.limit));
          if (params.since !== undefined) expect(query.fromMs).toBeLessThan(NOW);
          if (params.resource !== undefined) {
            expect(params.resource.startsWith(query.resourceType as string)).toBe(true);
          }
        },
      ),
    );
  });
});
