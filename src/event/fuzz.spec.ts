/**
 * Property-based fuzzing of everything that turns application data into a record: the JSON-safe
 * copy, the diff, and the whole event build down to its ECS line (issue 12). Secrets and the
 * privacy options have their own properties in fuzz-secrets.spec.ts; the two files run over
 * 10,000 generated cases together (RUNS in each).
 *
 * A failure prints fast-check's seed and path; replay it with
 *   FUZZ_SEED=<seed> FUZZ_PATH=<path> npx jest src/event/fuzz --selectProjects unit
 * and run more cases with FUZZ_RUNS=<cases per property> (e.g. 100000 for a long local run).
 */
import fc from 'fast-check';
import {
  expectStableJson,
  fuzzParams,
  hostileKey,
  hostileLeaf,
  hostileString,
  hostileValue,
} from '../../test/fixtures/hostile-values';
import type { AuditEvent } from './audit-event';
import { buildAuditEvent, type AuditEventDraft } from './build-event';
import { applyDiff, diffStates, jsonEqual } from './diff';
import { eventFragmentJson, eventJson, LARGE_EVENT_KEYS } from './event-json';
import { resolvePrivacy } from './privacy';
import { Redactor } from './redact';
import { toJsonSafe } from './serialize';
import { formatEcs } from '../ecs/ecs.formatter';
import { lineText } from '../ecs/ecs-line';

/** Cases per property: 3,000 + 2,000 + 2,500 = 7,500 here, 4,000 in fuzz-secrets.spec.ts. */
const RUNS = { copy: 3000, diff: 2000, event: 2500 } as const;

// ---- the properties --------------------------------------------------------------------------

describe('fuzz: JSON-safe copy and redaction', () => {
  const redactor = new Redactor(['phone', 'user.*.card']);

  it('never throws, and the copy is stable JSON, with or without redaction', () => {
    fc.assert(
      fc.property(hostileValue, fc.boolean(), (value, redact) => {
        const root = { value, again: { back: undefined as unknown } };
        root.again.back = root;
        const copy = redact ? redactor.redact(root) : toJsonSafe(root);
        const text = JSON.stringify(copy);
        expect(typeof text).toBe('string');
        expectStableJson(text);
      }),
      fuzzParams(RUNS.copy),
    );
  });
});

describe('fuzz: diff', () => {
  it('never throws, finds no change between equal states, and rebuilds the after-state', () => {
    fc.assert(
      fc.property(hostileValue, hostileValue, (a, b) => {
        const before = toJsonSafe({ state: a });
        const after = toJsonSafe({ state: b });
        expect(diffStates(before, structuredClone(before), { identityKeys: [] })).toEqual([]);
        const diff = diffStates(before, after, { identityKeys: [] });
        expect(jsonEqual(applyDiff(before, diff), after)).toBe(true);
        // With identity keys too: no throw, and stable JSON.
        expectStableJson(JSON.stringify(diffStates(before, after)));
      }),
      fuzzParams(RUNS.diff),
    );
  });
});

// ---- the whole event, down to its ECS line -------------------------------------------------

const LINE_BREAKS = /[\n\r\u0085\u2028\u2029]/;

const action = fc
  .tuple(fc.stringMatching(/^[a-z][a-z0-9_-]{0,10}$/), fc.stringMatching(/^[a-z][a-z0-9_-]{0,10}$/))
  .map(([resource, verb]) => `${resource}.${verb}`);

const draft: fc.Arbitrary<AuditEventDraft> = fc.record(
  {
    action,
    outcome: fc.constantFrom('success', 'failure', 'unknown', 'bogus') as fc.Arbitrary<
      AuditEventDraft['outcome']
    >,
    level: fc.constantFrom('info', 'warn', 'error', 'loud') as fc.Arbitrary<
      AuditEventDraft['level']
    >,
    actor: fc.record(
      {
        id: hostileLeaf,
        name: hostileLeaf,
        email: hostileLeaf,
        roles: hostileValue,
        impersonator: hostileValue,
      },
      { requiredKeys: [] },
    ) as fc.Arbitrary<AuditEventDraft['actor']>,
    source: fc.record({
      ip: fc.oneof(fc.ipV4(), fc.ipV6(), hostileString),
      userAgent: hostileLeaf,
    }) as fc.Arbitrary<AuditEventDraft['source']>,
    target: fc.record({ type: hostileLeaf, id: hostileValue }) as fc.Arbitrary<
      AuditEventDraft['target']
    >,
    before: hostileValue,
    after: hostileValue,
    request: fc.record({
      method: hostileLeaf,
      path: hostileString,
      route: hostileLeaf,
      id: hostileLeaf,
      traceId: hostileLeaf,
    }) as fc.Arbitrary<AuditEventDraft['request']>,
    response: fc.record({ statusCode: fc.oneof(fc.integer(), fc.double()) }),
    responseBody: hostileValue,
    body: hostileValue,
    error: hostileValue,
    durationMs: fc.double(),
    tenant: hostileString,
    filter: hostileValue,
    results: hostileValue,
    message: hostileString,
    labels: fc.dictionary(hostileKey, hostileValue, { maxKeys: 4 }),
    changesUnavailable: hostileLeaf as fc.Arbitrary<string>,
  },
  { requiredKeys: ['action', 'outcome', 'level', 'actor'] },
);

const privacy = resolvePrivacy({
  key: 'fuzz-key-of-at-least-thirty-two-bytes',
  pseudonymize: true,
  truncateIp: true,
  hashFields: ['phone', '*', 'a.*.b'],
});

/** The store's JSON of an event made from scratch: its small members, then its large values. */
function referenceEventJson(event: AuditEvent): string {
  const small = Object.fromEntries(
    Object.entries(event).filter(
      ([key]) => key !== 'sequence' && !(LARGE_EVENT_KEYS as readonly string[]).includes(key),
    ),
  );
  const large = LARGE_EVENT_KEYS.filter((key) => event[key] !== undefined).map(
    (key) => `${JSON.stringify(key)}:${JSON.stringify(event[key])}`,
  );
  const smallJson = JSON.stringify(small);
  if (large.length === 0) return smallJson;
  return smallJson === '{}'
    ? `{${large.join(',')}}`
    : `${smallJson.slice(0, -1)},${large.join(',')}}`;
}

describe('fuzz: event build and ECS line', () => {
  it('never throws; the ECS line is one line of valid JSON; the store JSON parses', () => {
    fc.assert(
      fc.property(
        draft,
        fc.boolean(),
        fc.integer({ min: 256, max: 64 * 1024 }),
        fc.integer({ min: 512, max: 128 * 1024 }),
        (input, private_, maxValueBytes, maxEventBytes) => {
          const event: AuditEvent = buildAuditEvent(input, {
            redactor: new Redactor(['phone']),
            maxValueBytes,
            maxEventBytes,
            ...(private_ && privacy ? { privacy } : {}),
          });
          // The build hands its writers the JSON of the large values: it must be JSON's own.
          for (const key of LARGE_EVENT_KEYS) {
            expect(eventFragmentJson(event, key)).toBe(JSON.stringify(event[key]));
          }
          expect(eventJson(event)).toBe(referenceEventJson(event));
          const line = lineText({
            doc: formatEcs(event, { name: 'fuzz', version: '1.0.0' }),
            event,
          });
          expect(line.endsWith('\n')).toBe(true);
          const body = line.slice(0, -1);
          expect(LINE_BREAKS.test(body)).toBe(false);
          const parsed = JSON.parse(body) as Record<string, unknown>;
          expect(
            parsed['ecs.version'] ?? (parsed.ecs as { version?: string } | undefined)?.version,
          ).toBeDefined();
          expectStableJson(eventJson(event));
        },
      ),
      fuzzParams(RUNS.event),
    );
  });
});
