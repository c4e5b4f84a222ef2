/**
 * Property-based fuzzing of everything that turns application data into a record: the JSON-safe
 * copy, the diff, redaction, and the whole event build down to its ECS line (issue 12).
 *
 * Over 10,000 generated cases a run in total (see RUNS below). A failure prints fast-check's
 * seed and path; replay it with
 *   FUZZ_SEED=<seed> FUZZ_PATH=<path> npx jest src/event/fuzz.spec.ts --selectProjects unit
 * and run more cases with FUZZ_RUNS=<cases per property> (e.g. 100000 for a long local run).
 */
import fc from 'fast-check';
import type { AuditEvent } from './audit-event';
import { buildAuditEvent, type AuditEventDraft } from './build-event';
import { applyDiff, diffStates, jsonEqual } from './diff';
import { eventJson } from './event-json';
import { resolvePrivacy } from './privacy';
import { BUILT_IN_SENSITIVE_FRAGMENTS, BUILT_IN_SENSITIVE_KEYS, Redactor } from './redact';
import { toJsonSafe } from './serialize';
import { formatEcs } from '../ecs/ecs.formatter';
import { lineText } from '../ecs/ecs-line';

const RUNS_OVERRIDE = Number(process.env.FUZZ_RUNS) || undefined;
/** Cases per property; 3,000 + 2,000 + 3,000 + 1,000 + 2,500 = 11,500 a run. */
const RUNS = { copy: 3000, diff: 2000, canary: 3000, privacy: 1000, event: 2500 } as const;

function params(runs: number): fc.Parameters<unknown> {
  const seed = Number(process.env.FUZZ_SEED);
  return {
    numRuns: RUNS_OVERRIDE ?? runs,
    ...(Number.isInteger(seed) ? { seed } : {}),
    ...(process.env.FUZZ_PATH ? { path: process.env.FUZZ_PATH } : {}),
  };
}

// ---- hostile values ----------------------------------------------------------------------

/** Characters that break lines, JSON or UTF-8 when written raw. */
const hostileChar = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom('a', 'Z', '0', ' ', 'é', '😀', '"', '\\', '/', '{', '}'),
  },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('\u2028', '\u2029', '\u0085', '\u007f', '\ufeff', '\r\n'),
  },
);

const hostileString = fc.oneof(
  { weight: 20, arbitrary: fc.string({ unit: hostileChar, maxLength: 24 }) },
  // Huge strings, now and then: past every size limit of a value and of an event.
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.string({ unit: hostileChar, minLength: 1, maxLength: 4 }),
        fc.integer({ min: 10_000, max: 40_000 }),
      )
      .map(([unit, times]) => unit.repeat(times)),
  },
);

class Account {
  constructor(
    readonly id: number,
    readonly label: string,
  ) {}
}

class ThrowingGetter {
  readonly plain = 1;
  get broken(): never {
    throw new Error('getter exploded');
  }
}

class ThrowingToJson {
  toJSON(): never {
    throw new Error('toJSON exploded');
  }
}

function circular(): unknown {
  const node: Record<string, unknown> = { name: 'loop', list: [] };
  node.self = node;
  (node.list as unknown[]).push(node, { back: node });
  return node;
}

function hostileProxy(): unknown {
  const fail = (): never => {
    throw new Error('proxy trap exploded');
  };
  return new Proxy({}, { get: fail, ownKeys: fail, getOwnPropertyDescriptor: fail, has: fail });
}

const hostileLeaf: fc.Arbitrary<unknown> = fc
  .oneof(
    { weight: 6, arbitrary: hostileString },
    { weight: 2, arbitrary: fc.double() },
    { weight: 1, arbitrary: fc.integer() },
    { weight: 1, arbitrary: fc.bigInt() },
    { weight: 1, arbitrary: fc.boolean() },
    { weight: 1, arbitrary: fc.constantFrom(null, undefined, -0, Number.NaN, Infinity) },
    { weight: 1, arbitrary: fc.date({ noInvalidDate: false }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 16 }).map((bytes) => Buffer.from(bytes)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 16 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<() => unknown>(
        () => Symbol('s'),
        () => (): number => 1,
        () => /re+gex/g,
        () => new Error('boom'),
        () => new Account(7, 'acc'),
        () => new ThrowingGetter(),
        () => new ThrowingToJson(),
        () => ({ toJSON: () => ({ nested: 'x'.repeat(10) }) }),
        () => Promise.resolve(1),
        () => new WeakMap(),
        circular,
        hostileProxy,
        () => Object.create(null) as unknown,
      ),
    },
  )
  .map((value) =>
    typeof value === 'function' && value.length === 0 && !('prototype' in value)
      ? (value as () => unknown)()
      : value,
  );

const hostileKey = fc.oneof(
  { weight: 6, arbitrary: hostileString },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'toJSON',
      'id',
      '$audit',
      '',
    ),
  },
);

function hostileTree(
  leaf: fc.Arbitrary<unknown>,
  key: fc.Arbitrary<string>,
): fc.Arbitrary<unknown> {
  return fc.letrec<{ node: unknown }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('node'), { maxLength: 5 }),
      fc.dictionary(key, tie('node'), { maxKeys: 5, noNullPrototype: false }),
      fc.array(fc.tuple(key, tie('node')), { maxLength: 3 }).map((entries) => new Map(entries)),
      fc.array(tie('node'), { maxLength: 3 }).map((items) => new Set(items)),
    ),
  })).node;
}

const hostileValue = hostileTree(hostileLeaf, hostileKey);

// ---- the properties --------------------------------------------------------------------------

/** The JSON text of a value is stable: parsing and writing it again gives the same text. */
function expectStableJson(text: string): void {
  expect(JSON.stringify(JSON.parse(text))).toBe(text);
}

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
      params(RUNS.copy),
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
      params(RUNS.diff),
    );
  });
});

// ---- canaries under secret keys ---------------------------------------------------------------

const CANARY = 'CANARY7f3a';

/** A key the built-in list must catch: an exact key or one holding a fragment, in any style. */
const secretKey = fc
  .tuple(
    fc.oneof(
      fc.constantFrom(...BUILT_IN_SENSITIVE_KEYS).map((key) => ({ key, exact: true })),
      fc.constantFrom(...BUILT_IN_SENSITIVE_FRAGMENTS).map((key) => ({ key, exact: false })),
    ),
    fc.stringMatching(/^[a-z]{0,6}$/),
    fc.stringMatching(/^[a-z]{0,6}$/),
    fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
    fc.array(fc.constantFrom('', '', '', '_', '-', ' '), { minLength: 40, maxLength: 40 }),
  )
  .map(([{ key, exact }, prefix, suffix, upper, separators]) => {
    const whole = exact ? key : `${prefix}${key}${suffix}`;
    return [...whole]
      .map(
        (char, index) =>
          (upper[index % 40] ? char.toUpperCase() : char) +
          (index < whole.length - 1 ? separators[index % 40] : ''),
      )
      .join('');
  });

/** What a secret may look like: a string, a number-like text, or a structure full of canaries. */
const secretValue = fc.letrec<{ secret: unknown }>((tie) => ({
  secret: fc.oneof(
    { depthSize: 'small' },
    fc.string({ maxLength: 8 }).map((text) => `${text}${CANARY}${text}`),
    fc.array(tie('secret'), { minLength: 1, maxLength: 3 }),
    fc.dictionary(fc.stringMatching(/^[a-z]{1,5}$/), tie('secret'), { minKeys: 1, maxKeys: 3 }),
    fc.constant(null).map(() => new Map([['inner', `${CANARY}`]])),
    fc.constant(null).map(() => Buffer.from(CANARY)),
  ),
})).secret;

/** A tree whose every secret sits under a secret key, at any depth, in objects and arrays. */
const treeWithSecrets = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.stringMatching(/^[a-z ]{0,8}$/), fc.integer(), fc.constant(null)),
    fc.array(tie('node'), { maxLength: 4 }),
    fc
      .tuple(
        fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), tie('node'), { maxKeys: 4 }),
        fc.array(fc.tuple(secretKey, secretValue), { maxLength: 3 }),
      )
      .map(([plain, secrets]) => {
        const node: Record<string, unknown> = { ...plain };
        // A secret key the plain keys happen to spell is fine: its value is a canary-free one.
        for (const [key, value] of secrets)
          Object.defineProperty(node, key, {
            value,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        return node;
      }),
  ),
})).node;

describe('fuzz: no canary survives under any built-in secret key', () => {
  it('in any payload of an event, in its store JSON and its ECS line', () => {
    const settings = { redactor: new Redactor(), maxValueBytes: 4096, maxEventBytes: 64 * 1024 };
    let planted = 0;
    fc.assert(
      fc.property(
        fc.record({
          before: treeWithSecrets,
          after: treeWithSecrets,
          body: treeWithSecrets,
          filter: treeWithSecrets,
          results: treeWithSecrets,
          responseBody: treeWithSecrets,
          error: treeWithSecrets,
          labels: fc
            .tuple(secretKey, secretValue)
            .map(([key, value]) => ({ [key]: value, plain: 'x' })),
        }),
        (payloads) => {
          const event = buildAuditEvent(
            {
              action: 'user.update',
              outcome: 'success',
              level: 'info',
              actor: { id: '1' },
              target: { type: 'user', id: '1' },
              ...payloads,
            },
            settings,
          );
          // The generator must plant canaries, or this property could not fail.
          if (JSON.stringify(toJsonSafe(payloads)).includes(CANARY)) planted += 1;
          expect(eventJson(event)).not.toContain(CANARY);
          expect(lineText({ doc: formatEcs(event, { name: 'fuzz' }), event })).not.toContain(
            CANARY,
          );
        },
      ),
      params(RUNS.canary),
    );
    expect(planted).toBeGreaterThan((RUNS_OVERRIDE ?? RUNS.canary) / 2);
  });
});

// ---- privacy: no raw actor value, address or hashed field -----------------------------------

const rawText = fc.string({ unit: hostileChar, maxLength: 6 }).map((text) => `${text}${CANARY}`);

const stateWithHashedFields = fc
  .tuple(hostileValue, rawText, rawText)
  .map(([rest, phone, email]) => ({
    rest,
    phone,
    contact: [{ email }, { email: { deep: email } }],
  }));

describe('fuzz: privacy options', () => {
  it('leave no raw actor value, full client address or hashed field in the event', () => {
    const privacy = resolvePrivacy({
      key: 'fuzz-key-of-at-least-thirty-two-bytes',
      pseudonymize: true,
      truncateIp: true,
      hashFields: ['phone', 'contact.email'],
    });
    fc.assert(
      fc.property(
        fc.record({ id: rawText, email: rawText, name: rawText }),
        fc.record({ id: rawText, email: rawText, name: rawText }),
        fc.ipV4().filter((ip) => !ip.endsWith('.0')),
        stateWithHashedFields,
        stateWithHashedFields,
        (actor, impersonator, ip, before, after) => {
          const event = buildAuditEvent(
            {
              action: 'user.update',
              outcome: 'success',
              level: 'info',
              actor: { ...actor, impersonator },
              source: { ip },
              before,
              after,
              body: after,
              results: [before],
            },
            {
              redactor: new Redactor(),
              maxValueBytes: 64 * 1024,
              maxEventBytes: 256 * 1024,
              ...(privacy ? { privacy } : {}),
            },
          );
          const line = lineText({ doc: formatEcs(event, { name: 'fuzz' }), event });
          for (const text of [eventJson(event), line]) {
            expect(text).not.toContain(CANARY);
            expect(text).not.toContain(`"${ip}"`);
          }
        },
      ),
      params(RUNS.privacy),
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

describe('fuzz: event build and ECS line', () => {
  it('never throws; the ECS line is one line of valid JSON; the store JSON parses', () => {
    fc.assert(
      fc.property(
        draft,
        fc.boolean(),
        fc.integer({ min: 256, max: 64 * 1024 }),
        (input, private_, maxValueBytes) => {
          const event: AuditEvent = buildAuditEvent(input, {
            redactor: new Redactor(['phone']),
            maxValueBytes,
            maxEventBytes: 128 * 1024,
            ...(private_ && privacy ? { privacy } : {}),
          });
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
      params(RUNS.event),
    );
  });
});
