import fc from 'fast-check';
import {
  AUDIT_EVENT_SCHEMA_VERSION,
  ECS_EVENT_CATEGORIES,
  ECS_EVENT_TYPES,
  type AuditEvent,
  type AuditLevel,
} from '../event/audit-event';
import { ECS_VERSION, formatEcs, type EcsDocument } from './ecs.formatter';

const service = { name: 'billing-api', version: '1.4.0', environment: 'test' };

const TOP_LEVEL_KEYS = [
  '@timestamp',
  'log.level',
  'message',
  'ecs.version',
  'log.logger',
  'event',
  'user',
  'source',
  'user_agent',
  'http',
  'url',
  'service',
  'trace',
  'error',
  'organization',
  'labels',
  'audit',
];
const ISO_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const LEVELS: AuditLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

function baseEvent(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    schemaVersion: AUDIT_EVENT_SCHEMA_VERSION,
    id: '0190b3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b',
    timestamp: '2026-03-01T10:20:30.456Z',
    action: 'user.update',
    category: ['iam'],
    type: ['user', 'change'],
    outcome: 'success',
    level: 'info',
    actor: { type: 'user', authenticated: true, id: 'u-1' },
    ...overrides,
  };
}

function fullEvent(): AuditEvent {
  return baseEvent({
    actor: {
      type: 'user',
      authenticated: true,
      id: 'u-1',
      name: 'Alice',
      email: 'alice@example.com',
      roles: ['admin'],
      provider: 'keycloak',
      realm: 'staff',
      impersonator: { id: 'u-9', email: 'root@example.com' },
    },
    source: { ip: '203.0.113.7', userAgent: 'curl/8.5' },
    target: { type: 'user', id: '42' },
    changes: {
      before: { phone: '1' },
      after: { phone: '2' },
      diff: [{ path: ['phone'], op: 'changed', before: '1', after: '2' }],
      fields: ['phone'],
    },
    request: {
      method: 'PATCH',
      path: '/users/42',
      route: '/users/:id',
      id: 'req-1',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    },
    response: { statusCode: 200, body: { ok: true } },
    body: { phone: '2' },
    error: { type: 'ForbiddenException', message: 'no' },
    durationMs: 12.3456,
    tenant: 'acme',
    filter: { q: 'x' },
    results: { count: 1 },
    message: 'Alice changed the phone of user 42',
    labels: { team: 'billing' },
  });
}

/** Every key path whose value is `undefined`: absent values must leave no key behind. */
function undefinedPaths(value: unknown, path = ''): string[] {
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) =>
    child === undefined ? [`${path}${key}`] : undefinedPaths(child, `${path}${key}.`),
  );
}

/** Every key path whose value is an empty plain object. */
function emptyObjectPaths(value: unknown, path = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const entries = Object.entries(value);
  if (entries.length === 0) return [path || '<root>'];
  return entries.flatMap(([key, child]) => emptyObjectPaths(child, `${path}${key}.`));
}

const json = fc.jsonValue({ maxDepth: 2 });

const eventArb: fc.Arbitrary<AuditEvent> = fc.record(
  {
    schemaVersion: fc.constant(AUDIT_EVENT_SCHEMA_VERSION),
    id: fc.uuid(),
    timestamp: fc
      .date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true })
      .map((d) => d.toISOString()),
    action: fc.string({ minLength: 1 }),
    category: fc.uniqueArray(fc.constantFrom(...ECS_EVENT_CATEGORIES), { maxLength: 3 }),
    type: fc.uniqueArray(fc.constantFrom(...ECS_EVENT_TYPES), { maxLength: 3 }),
    outcome: fc.constantFrom('success' as const, 'failure' as const, 'unknown' as const),
    level: fc.constantFrom(...LEVELS),
    actor: fc.record(
      {
        type: fc.constantFrom('user' as const, 'service' as const, 'anonymous' as const),
        authenticated: fc.boolean(),
        id: fc.string(),
        name: fc.string(),
        email: fc.string(),
        roles: fc.array(fc.string(), { maxLength: 3 }),
        provider: fc.string(),
        realm: fc.string(),
        impersonator: fc.record(
          { id: fc.string(), name: fc.string(), email: fc.string() },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: ['type', 'authenticated'] },
    ),
    source: fc.record({ ip: fc.string(), userAgent: fc.string() }, { requiredKeys: [] }),
    target: fc.record({ type: fc.string(), id: fc.string() }, { requiredKeys: ['type'] }),
    changes: fc.record(
      {
        before: json,
        after: json,
        diff: fc.constant([]),
        fields: fc.array(fc.string(), { maxLength: 3 }),
      },
      { requiredKeys: ['diff', 'fields'] },
    ),
    request: fc.record(
      {
        method: fc.string(),
        path: fc.string(),
        route: fc.string(),
        id: fc.string(),
        traceId: fc.string(),
      },
      { requiredKeys: [] },
    ),
    response: fc.record(
      { statusCode: fc.integer({ min: 100, max: 599 }), body: json },
      { requiredKeys: [] },
    ),
    body: json,
    error: fc.record({ type: fc.string(), message: fc.string() }),
    durationMs: fc.double({ min: 0, max: 1e6, noNaN: true }),
    tenant: fc.string(),
    filter: json,
    results: json,
    message: fc.string(),
    labels: fc.dictionary(
      fc.oneof(fc.string(), fc.constantFrom(...TOP_LEVEL_KEYS, 'event.outcome', '__proto__')),
      fc.string(),
    ),
  },
  {
    requiredKeys: [
      'schemaVersion',
      'id',
      'timestamp',
      'action',
      'category',
      'type',
      'outcome',
      'level',
      'actor',
    ],
  },
);

describe('formatEcs', () => {
  it('maps every field of a full event to its ECS or audit.* path, in order', () => {
    const doc = formatEcs(fullEvent(), service);

    expect(doc).toEqual({
      '@timestamp': '2026-03-01T10:20:30.456Z',
      'log.level': 'info',
      message: 'Alice changed the phone of user 42',
      'ecs.version': ECS_VERSION,
      'log.logger': 'audit',
      event: {
        id: '0190b3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b',
        kind: 'event',
        action: 'user.update',
        category: ['iam'],
        type: ['user', 'change'],
        outcome: 'success',
        dataset: 'billing-api.audit',
        duration: 12345600,
      },
      user: {
        id: 'u-1',
        name: 'Alice',
        email: 'alice@example.com',
        roles: ['admin'],
        domain: 'staff',
      },
      source: { ip: '203.0.113.7' },
      user_agent: { original: 'curl/8.5' },
      http: { request: { method: 'PATCH', id: 'req-1' }, response: { status_code: 200 } },
      url: { path: '/users/42' },
      service: { name: 'billing-api', version: '1.4.0', environment: 'test' },
      trace: { id: '4bf92f3577b34da6a3ce929d0e0e4736' },
      error: { type: 'ForbiddenException', message: 'no' },
      organization: { id: 'acme' },
      labels: { team: 'billing' },
      audit: {
        schema_version: AUDIT_EVENT_SCHEMA_VERSION,
        actor: {
          type: 'user',
          authenticated: true,
          provider: 'keycloak',
          impersonator: { id: 'u-9', email: 'root@example.com' },
        },
        target: { type: 'user', id: '42' },
        changes: {
          fields: ['phone'],
          diff: [{ path: ['phone'], op: 'changed', before: '1', after: '2' }],
          before: { phone: '1' },
          after: { phone: '2' },
        },
        request: { route: '/users/:id' },
        body: { phone: '2' },
        response: { body: { ok: true } },
        filter: { q: 'x' },
        results: { count: 1 },
      },
    });
    expect(Object.keys(doc)).toEqual(TOP_LEVEL_KEYS);
  });

  it('omits absent values and empty sections', () => {
    const doc = formatEcs(
      baseEvent({ actor: { type: 'anonymous', authenticated: false }, source: {}, request: {} }),
      { name: 'svc' },
    );

    expect(Object.keys(doc)).toEqual([
      '@timestamp',
      'log.level',
      'message',
      'ecs.version',
      'log.logger',
      'event',
      'service',
      'audit',
    ]);
    expect(doc.service).toEqual({ name: 'svc' });
    expect(doc.audit).toEqual({
      schema_version: AUDIT_EVENT_SCHEMA_VERSION,
      actor: { type: 'anonymous', authenticated: false },
    });
    expect(doc.event).not.toHaveProperty('duration');
  });

  it('keeps only the http section that has values', () => {
    const doc = formatEcs(baseEvent({ response: { statusCode: 204 } }), service);

    expect(doc.http).toEqual({ response: { status_code: 204 } });
  });

  describe('default message', () => {
    it.each([
      [{ email: 'a@x.io', name: 'A', id: '1' }, 'user.update on user 42 by a@x.io: success'],
      [{ name: 'A', id: '1' }, 'user.update on user 42 by A: success'],
      [{ id: '1' }, 'user.update on user 42 by 1: success'],
      [{}, 'user.update on user 42 by anonymous: success'],
    ])('names the actor %j', (who, expected) => {
      const event = baseEvent({
        actor: { type: 'user', authenticated: true, ...who },
        target: { type: 'user', id: '42' },
      });

      expect(formatEcs(event, service).message).toBe(expected);
    });

    it('reads well without a target id, without a target, and for empty messages', () => {
      const typed = baseEvent({ target: { type: 'report' }, outcome: 'failure', message: '' });
      const bare = baseEvent({ action: 'auth.login', outcome: 'unknown' });

      expect(formatEcs(typed, service).message).toBe('user.update on report by u-1: failure');
      expect(formatEcs(bare, service).message).toBe('auth.login by u-1: unknown');
    });
  });

  it('converts the duration to integer nanoseconds', () => {
    expect(formatEcs(baseEvent({ durationMs: 0.0000004 }), service).event.duration).toBe(0);
    expect(formatEcs(baseEvent({ durationMs: 1.5 }), service).event.duration).toBe(1500000);
    expect(formatEcs(baseEvent({ durationMs: Number.NaN }), service).event).not.toHaveProperty(
      'duration',
    );
  });

  it("writes a stored event's chain sequence number as event.sequence, and none otherwise", () => {
    expect(formatEcs(baseEvent({ sequence: 42 }), service).event.sequence).toBe(42);
    expect(formatEcs(baseEvent(), service).event).not.toHaveProperty('sequence');
  });

  it('keeps hostile labels and payloads nested, unable to forge reserved fields', () => {
    const hostile: Record<string, string> = JSON.parse(
      '{"@timestamp":"1999-01-01T00:00:00.000Z","log.level":"fatal","message":"forged",' +
        '"ecs.version":"0","event.outcome":"success","event":"x","user.name":"root",' +
        '"__proto__":"p","constructor":"c"}',
    );
    const event = baseEvent({
      outcome: 'failure',
      labels: hostile,
      body: { '@timestamp': 'x', event: { outcome: 'success' } },
      filter: { 'log.level': 'trace' },
    });

    const line = JSON.stringify(formatEcs(event, service));
    const parsed = JSON.parse(line);

    expect(parsed['@timestamp']).toBe('2026-03-01T10:20:30.456Z');
    expect(parsed['log.level']).toBe('info');
    expect(parsed.message).toBe('user.update by u-1: failure');
    expect(parsed['ecs.version']).toBe(ECS_VERSION);
    expect(parsed.event.outcome).toBe('failure');
    expect(parsed).not.toHaveProperty(['event.outcome']);
    expect(parsed).not.toHaveProperty(['user.name']);
    expect(Object.keys(parsed)).toEqual([
      '@timestamp',
      'log.level',
      'message',
      'ecs.version',
      'log.logger',
      'event',
      'user',
      'service',
      'labels',
      'audit',
    ]);
    expect(Object.keys(parsed.labels)).toEqual(Object.keys(hostile));
    expect(parsed.labels['__proto__']).toBe('p');
    expect(parsed.audit.body).toEqual({ '@timestamp': 'x', event: { outcome: 'success' } });
  });

  it('does not modify its input', () => {
    const event = fullEvent();
    const snapshot = structuredClone(event);

    const doc = formatEcs(event, service);
    doc.event.category.push('web');
    doc.user?.roles?.push('root');

    expect(event).toEqual(snapshot);
  });

  it('produces a valid ecs-logging document for any event', () => {
    fc.assert(
      fc.property(eventArb, (event) => {
        const doc = formatEcs(event, service);
        const parsed = JSON.parse(JSON.stringify(doc)) as EcsDocument;
        const keys = Object.keys(parsed);

        // ecs-logging: required fields, first in this order, with these types.
        expect(keys.slice(0, 4)).toEqual(['@timestamp', 'log.level', 'message', 'ecs.version']);
        expect(parsed['@timestamp']).toMatch(ISO_MS_UTC);
        expect(typeof parsed['log.level']).toBe('string');
        expect(LEVELS).toContain(parsed['log.level']);
        expect(typeof parsed.message).toBe('string');
        expect(parsed.message.length).toBeGreaterThan(0);
        expect(parsed['ecs.version']).toBe(ECS_VERSION);
        expect(parsed['log.logger']).toBe('audit');

        // ECS allowed values.
        expect(parsed.event.kind).toBe('event');
        expect(['success', 'failure', 'unknown']).toContain(parsed.event.outcome);
        for (const category of parsed.event.category) {
          expect(ECS_EVENT_CATEGORIES).toContain(category);
        }
        for (const type of parsed.event.type) expect(ECS_EVENT_TYPES).toContain(type);
        if (parsed.event.duration !== undefined) {
          expect(Number.isInteger(parsed.event.duration)).toBe(true);
        }

        // No user data at the top level, labels intact, nothing absent or empty left behind.
        for (const key of keys) expect(TOP_LEVEL_KEYS).toContain(key);
        expect(keys).toEqual(TOP_LEVEL_KEYS.filter((k) => keys.includes(k)));
        const labels = event.labels ?? {};
        expect(parsed.labels ?? {}).toEqual(
          Object.keys(labels).length > 0 ? JSON.parse(JSON.stringify(labels)) : {},
        );
        expect(undefinedPaths(doc)).toEqual([]);
        // Payloads the application recorded are kept as they are, empty or not.
        const payload =
          /^audit\.(body|filter|results|response\.body|changes\.(before|after))(\.|$)/;
        expect(emptyObjectPaths(doc).filter((p) => !payload.test(p))).toEqual([]);
        expect(parsed['@timestamp']).toBe(event.timestamp);
        expect(parsed.event.outcome).toBe(event.outcome);
      }),
      { numRuns: 500 },
    );
  });
});
