/**
 * Property-based fuzzing of what must never be recorded (issue 12): a value under any built-in
 * sensitive key (taken from the redaction module's own lists, so the property grows with them),
 * and, with the privacy options on, a raw actor id, e-mail or name, a full client address or a
 * hashed field's value. Seeds, replay and FUZZ_RUNS: see fuzz.spec.ts.
 */
import fc from 'fast-check';
import {
  FUZZ_RUNS_OVERRIDE,
  fuzzParams,
  hostileChar,
  hostileValue,
} from '../../test/fixtures/hostile-values';
import { buildAuditEvent } from './build-event';
import { eventJson } from './event-json';
import { resolvePrivacy } from './privacy';
import { Redactor } from './redact';
import { BUILT_IN_SENSITIVE_FRAGMENTS, BUILT_IN_SENSITIVE_KEYS } from './sensitive-keys';
import { toJsonSafe } from './serialize';
import { formatEcs } from '../ecs/ecs.formatter';
import { lineText } from '../ecs/ecs-line';

/** Cases per property: 3,000 + 1,000 = 4,000 here, 7,500 in fuzz.spec.ts. */
const RUNS = { canary: 3000, privacy: 1000 } as const;

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
      fuzzParams(RUNS.canary),
    );
    expect(planted).toBeGreaterThan((FUZZ_RUNS_OVERRIDE ?? RUNS.canary) / 2);
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
      fuzzParams(RUNS.privacy),
    );
  });
});
