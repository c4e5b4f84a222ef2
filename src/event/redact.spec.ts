import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { AuditFieldChange } from './audit-event';
import { changedFieldPaths, diffStates } from './diff';
import { REDACTED, Redactor } from './redact';
import { validateRedactPaths } from './redact-paths';
import {
  BUILT_IN_SENSITIVE_FRAGMENTS,
  BUILT_IN_SENSITIVE_KEYS,
  isSensitiveKey,
  normalizeKey,
} from './sensitive-keys';
import { NODE_BUDGET_MARKER, toJsonSafe } from './serialize';
import { WalkBudget } from './walk-budget';
import { AuditConfigurationError } from '../common/audit-configuration.error';

/** Asserts that neither the secret nor its base64 form appears anywhere in the value's JSON. */
function expectNoLeak(value: unknown, secrets: readonly string[]): void {
  const json = JSON.stringify(value);
  for (const secret of secrets) {
    expect(json).not.toContain(secret);
    expect(json).not.toContain(Buffer.from(secret, 'utf8').toString('base64'));
  }
}

const canary = (): string => `canary-${randomUUID()}`;

describe('normalizeKey', () => {
  it('lower-cases and drops everything but letters and digits', () => {
    expect(normalizeKey('X-API-Key')).toBe('xapikey');
    expect(normalizeKey('refresh_token')).toBe('refreshtoken');
    expect(normalizeKey('Card Number 2')).toBe('cardnumber2');
  });
});

describe('isSensitiveKey', () => {
  it.each([
    'password',
    'Password',
    'user_password',
    'passwd',
    'pwd',
    'pass',
    'X-API-Key',
    'x_api_key',
    'apiKey',
    'refresh_token',
    'accessToken',
    'Authorization',
    'proxy-authorization',
    'Cookie',
    'Set-Cookie',
    'client_secret',
    'privateKey',
    'private-key',
    'creditCard',
    'cardNumber',
    'card_number',
    'CVV',
    'cvc',
    'SSN',
    'pin',
    'OTP',
    'iban',
    'JWT',
    'Bearer',
    'sessionId',
    'session-id',
    'AWS_ACCESS_KEY_ID',
    'credentials',
  ])('redacts %s', (key) => {
    expect(isSensitiveKey(key)).toBe(true);
  });

  it.each([
    'classname',
    'className',
    'username',
    'name',
    'email',
    'spinner',
    'pinned',
    'passport',
    'bypass',
    'compass',
    'opinion',
    'description',
    'session',
    'id',
  ])('keeps %s', (key) => {
    expect(isSensitiveKey(key)).toBe(false);
  });

  it('exposes the built-in lists', () => {
    expect(BUILT_IN_SENSITIVE_FRAGMENTS).toContain('token');
    expect(BUILT_IN_SENSITIVE_KEYS).toContain('ssn');
  });
});

describe('Redactor', () => {
  describe('built-in denylist', () => {
    it('redacts sensitive keys at any depth, in arrays too', () => {
      const redactor = new Redactor();
      const input = {
        name: 'Ada',
        password: 'p',
        profile: { settings: [{ apiKey: 'k', theme: 'dark' }] },
      };
      expect(redactor.redact(input)).toEqual({
        name: 'Ada',
        password: REDACTED,
        profile: { settings: [{ apiKey: REDACTED, theme: 'dark' }] },
      });
    });

    it("replaces a matched key's whole value, whatever its type", () => {
      const redactor = new Redactor();
      expect(
        redactor.redact({
          credentials: { user: 'u', nested: { deep: 'd' } },
          tokens: ['a', 'b'],
          pin: 1234,
          otp: null,
          secret: false,
        }),
      ).toEqual({
        credentials: REDACTED,
        tokens: REDACTED,
        pin: REDACTED,
        otp: REDACTED,
        secret: REDACTED,
      });
    });

    it('leaves primitives and unrelated data alone and does not modify its input', () => {
      const redactor = new Redactor();
      const input = { a: [1, { b: 'c' }], password: 'p' };
      const snapshot = JSON.parse(JSON.stringify(input)) as unknown;
      const result = redactor.redact(input);
      expect(input).toEqual(snapshot);
      expect(result).not.toBe(input);
      expect(redactor.redact('text')).toBe('text');
      expect(redactor.redact(null)).toBeNull();
      expect(redactor.redact(undefined)).toBeUndefined();
    });

    it('cannot be switched off by user paths', () => {
      const redactor = new Redactor(['phone']);
      expect(redactor.redact({ password: 'p', phone: '1', note: 'n' })).toEqual({
        password: REDACTED,
        phone: REDACTED,
        note: 'n',
      });
    });
  });

  describe('user paths', () => {
    it('matches a key name without dots at any depth, ignoring case and separators', () => {
      const redactor = new Redactor(['phoneNumber']);
      expect(
        redactor.redact({
          phone_number: '1',
          contact: { 'Phone-Number': '2' },
          list: [{ PHONENUMBER: '3' }],
        }),
      ).toEqual({
        phone_number: REDACTED,
        contact: { 'Phone-Number': REDACTED },
        list: [{ PHONENUMBER: REDACTED }],
      });
      expect(redactor.isSensitiveKey('PHONE_NUMBER')).toBe(true);
      expect(redactor.isSensitiveKey('phone')).toBe(false);
    });

    it('matches a dotted path from the root only', () => {
      const redactor = new Redactor(['user.mfa.phone']);
      const result = redactor.redact({
        user: { mfa: { phone: '1', enabled: true }, phone: 'kept' },
        other: { user: { mfa: { phone: 'kept too' } } },
      });
      expect(result).toEqual({
        user: { mfa: { phone: REDACTED, enabled: true }, phone: 'kept' },
        other: { user: { mfa: { phone: 'kept too' } } },
      });
    });

    it('compares dotted segments case- and separator-insensitively', () => {
      const redactor = new Redactor(['User.MFA.phone_number']);
      expect(redactor.redact({ user: { mfa: { phoneNumber: '1' } } })).toEqual({
        user: { mfa: { phoneNumber: REDACTED } },
      });
    });

    it('matches * against any one key or array index', () => {
      const redactor = new Redactor(['items.*.cardHolder', '*.internal']);
      expect(
        redactor.redact({
          items: [{ cardHolder: 'A', sku: 1 }, { cardHolder: 'B' }],
          a: { internal: 1, external: 2 },
          b: [{ internal: 'not at depth 2' }],
        }),
      ).toEqual({
        items: [{ cardHolder: REDACTED, sku: 1 }, { cardHolder: REDACTED }],
        a: { internal: REDACTED, external: 2 },
        b: [{ internal: 'not at depth 2' }],
      });
    });

    it('matches array indices named in a path and does not skip arrays implicitly', () => {
      const redactor = new Redactor(['items.0', 'rows.name']);
      expect(redactor.redact({ items: ['first', 'second'], rows: [{ name: 'kept' }] })).toEqual({
        items: [REDACTED, 'second'],
        rows: [{ name: 'kept' }],
      });
    });

    it('adds per-call paths to the instance paths without keeping them', () => {
      const redactor = new Redactor(['phone']);
      const value = { phone: '1', address: { street: 's' }, user: { nickname: 'n' } };
      expect(redactor.redact(value, ['street', 'user.nickname'])).toEqual({
        phone: REDACTED,
        address: { street: REDACTED },
        user: { nickname: REDACTED },
      });
      expect(redactor.redact(value)).toEqual({
        phone: REDACTED,
        address: { street: 's' },
        user: { nickname: 'n' },
      });
    });

    it('follows changes to a reused per-call array', () => {
      const redactor = new Redactor();
      const paths = ['a'];
      expect(redactor.redact({ a: 1, b: 2 }, paths)).toEqual({ a: REDACTED, b: 2 });
      paths[0] = 'b';
      expect(redactor.redact({ a: 1, b: 2 }, paths)).toEqual({ a: 1, b: REDACTED });
    });

    it('skips invalid per-call paths instead of throwing', () => {
      const redactor = new Redactor();
      const paths = ['', '..', 'a..b', 42, Symbol('s')] as unknown as string[];
      expect(redactor.redact({ a: { b: 1 }, password: 'p' }, paths)).toEqual({
        a: { b: REDACTED },
        password: REDACTED,
      });
    });
  });

  describe('path validation', () => {
    it.each([[''], ['  '], ['a..b'], ['.a'], ['a.'], ['*'], ['-'], ['a.-.b']])(
      'rejects %p with a message that shows how to fix it',
      (path) => {
        expect(() => new Redactor([path])).toThrow(/Invalid redaction path .*Use a key name/);
      },
    );

    it('rejects values that are not strings', () => {
      expect(() => validateRedactPaths([1])).toThrow(AuditConfigurationError);
      expect(() => validateRedactPaths([1n])).toThrow(AuditConfigurationError);
      expect(() => validateRedactPaths([1n])).toThrow(/^Invalid redaction path 1n: /);
      expect(() => validateRedactPaths('a' as unknown as string[])).toThrow(/array of strings/);
    });

    it('accepts key names, dotted paths and wildcards', () => {
      expect(() =>
        validateRedactPaths(['phone', 'user.mfa.phone', 'items.*.card', '*.x']),
      ).not.toThrow();
    });
  });

  describe('unusual input', () => {
    it('keeps __proto__ keys as data', () => {
      const redactor = new Redactor();
      const input = JSON.parse('{"__proto__":{"polluted":true,"token":"t"}}') as unknown;
      const result = redactor.redact(input) as object;
      expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
      expect(JSON.stringify(result)).toBe('{"__proto__":{"polluted":true,"token":"[REDACTED]"}}');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('finds secrets inside values that are not JSON-safe yet', () => {
      const secret = canary();
      class Session {
        constructor(readonly sessionId: string) {}
      }
      const redactor = new Redactor();
      const input = {
        map: new Map([['password', secret]]),
        instance: new Session(secret),
        when: new Date(0),
        big: 1n,
      };
      const result = redactor.redact(input);
      expectNoLeak(result, [secret]);
      expect(result).toEqual({
        map: { password: REDACTED },
        instance: { sessionId: REDACTED },
        when: '1970-01-01T00:00:00.000Z',
        big: '1',
      });
    });

    it('does not loop on cycles', () => {
      const node: Record<string, unknown> = { token: 't' };
      node.self = node;
      expect(new Redactor().redact(node)).toEqual({ token: REDACTED, self: '[Circular]' });
    });
  });

  describe('redactDiff', () => {
    it('keeps path and op of a sensitive change but hides both values', () => {
      const redactor = new Redactor(['phone']);
      const diff = diffStates(
        { password: 'old', mfa: { phone: '1' }, name: 'a' },
        { password: 'new', mfa: { phone: '2' }, name: 'b' },
      );
      const redacted = redactor.redactDiff(diff);
      expect(redacted).toEqual([
        { path: ['mfa', 'phone'], op: 'changed', before: REDACTED, after: REDACTED },
        { path: ['name'], op: 'changed', before: 'a', after: 'b' },
        { path: ['password'], op: 'changed', before: REDACTED, after: REDACTED },
      ]);
      expect(changedFieldPaths(redacted)).toEqual(['mfa.phone', 'name', 'password']);
    });

    it('redacts when any prefix of the path is sensitive', () => {
      const redactor = new Redactor();
      const diff: AuditFieldChange[] = [
        { path: ['credentials', 'aws', 'region'], op: 'changed', before: 'eu', after: 'us' },
      ];
      expect(redactor.redactDiff(diff)).toEqual([
        {
          path: ['credentials', 'aws', 'region'],
          op: 'changed',
          before: REDACTED,
          after: REDACTED,
        },
      ]);
    });

    it('keeps added and removed entries one-sided', () => {
      const redactor = new Redactor();
      const redacted = redactor.redactDiff([
        { path: ['token'], op: 'added', after: 't' },
        { path: ['secret'], op: 'removed', before: 's' },
      ]);
      expect(redacted).toStrictEqual([
        { path: ['token'], op: 'added', after: REDACTED },
        { path: ['secret'], op: 'removed', before: REDACTED },
      ]);
    });

    it('redacts inside the values of other entries, continuing dotted paths', () => {
      const redactor = new Redactor(['user.mfa.phone']);
      const diff = diffStates({}, { user: { mfa: { phone: '1', enabled: true }, password: 'p' } });
      expect(redactor.redactDiff(diff)).toEqual([
        {
          path: ['user'],
          op: 'added',
          after: { mfa: { phone: REDACTED, enabled: true }, password: REDACTED },
        },
      ]);
      const nested: AuditFieldChange[] = [
        { path: ['user', 'mfa'], op: 'added', after: { phone: '1' } },
      ];
      expect(redactor.redactDiff(nested)).toEqual([
        { path: ['user', 'mfa'], op: 'added', after: { phone: REDACTED } },
      ]);
    });

    it('applies per-call paths', () => {
      const redactor = new Redactor();
      const diff = diffStates({ a: { b: 1 } }, { a: { b: 2 } });
      expect(redactor.redactDiff(diff, ['a.b'])).toEqual([
        { path: ['a', 'b'], op: 'changed', before: REDACTED, after: REDACTED },
      ]);
    });

    it('does not modify the input diff', () => {
      const diff: AuditFieldChange[] = [{ path: ['x'], op: 'added', after: { token: 't' } }];
      new Redactor().redactDiff(diff);
      expect(diff).toEqual([{ path: ['x'], op: 'added', after: { token: 't' } }]);
    });
  });

  describe('canaries', () => {
    const sensitiveKeys = [
      'X-API-Key',
      'refresh_token',
      'Authorization',
      'cardNumber',
      'CVV',
      'password',
      'client_secret',
      'Set-Cookie',
      'sessionId',
      'privateKey',
      'AWS_ACCESS_KEY_ID',
      'credentials',
      'pin',
      'otp',
      'ssn',
      'iban',
      'jwt',
      'Bearer',
    ];

    it('leaks no planted secret from a hand-built nested payload', () => {
      const secrets = Array.from({ length: 12 }, canary);
      const [s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11] = secrets as [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      const payload = {
        headers: { 'X-API-Key': s0, Authorization: `Bearer ${s1}`, 'user-agent': 'jest' },
        refresh_token: s2,
        orders: [
          { id: 1, payment: { cardNumber: s3, CVV: s4, holder: 'Ada' } },
          { id: 2, lines: [[{ meta: { credentials: { user: 'u', pass: s5 } } }]] },
        ],
        user: { profile: { security: { pin: s6, otp: s7, ssn: s8, recovery: { jwt: s9 } } } },
        binary: { privateKey: Buffer.from(s10) },
        cookies: new Map([['Set-Cookie', s11]]),
      };
      const redacted = new Redactor().redact(toJsonSafe(payload));
      expectNoLeak(redacted, secrets);
      expect(JSON.stringify(redacted)).toContain('Ada');
    });

    it('leaks no secret planted at arbitrary depths under any sensitive key', () => {
      const step = fc.oneof(
        fc.record({
          kind: fc.constant('key' as const),
          key: fc.constantFrom('data', 'items', 'meta', 'x'),
        }),
        fc.record({ kind: fc.constant('index' as const), index: fc.nat({ max: 3 }) }),
      );
      fc.assert(
        fc.property(
          fc.array(step, { maxLength: 12 }),
          fc.constantFrom(...sensitiveKeys),
          fc.boolean(),
          (steps, sensitiveKey, wrapInObject) => {
            const secret = canary();
            let value: unknown = {
              [sensitiveKey]: wrapInObject ? { inner: [secret, { deeper: secret }] } : secret,
              sibling: 'visible',
            };
            for (const s of steps.reverse()) {
              if (s.kind === 'key') {
                value = { [s.key]: value, noise: 1 };
              } else {
                const list: unknown[] = Array.from({ length: s.index }, (_, i) => i);
                list.push(value);
                value = list;
              }
            }
            const redactor = new Redactor();
            const redacted = redactor.redact(value);
            expectNoLeak(redacted, [secret]);
            expect(JSON.stringify(redacted)).toContain('visible');
            expectNoLeak(redactor.redactDiff(diffStates(undefined, value)), [secret]);
            expectNoLeak(redactor.redactDiff(diffStates({ root: value }, { root: 'replaced' })), [
              secret,
            ]);
          },
        ),
        { numRuns: 300 },
      );
    });

    it('leaks no secret from a diff where only the secret changed', () => {
      const [before, after] = [canary(), canary()];
      const redactor = new Redactor();
      const diff = redactor.redactDiff(
        diffStates(
          {
            account: { billing: [{ card: { cardNumber: before } }], apiKeys: { primary: before } },
          },
          { account: { billing: [{ card: { cardNumber: after } }], apiKeys: { primary: after } } },
        ),
      );
      expectNoLeak(diff, [before, after]);
      expect(changedFieldPaths(diff)).toEqual([
        'account.apiKeys.primary',
        'account.billing.[0].card.cardNumber',
      ]);
    });
  });
});

describe('Redactor within a budget', () => {
  it('redacts while it copies, reading no value under a sensitive key and stopping at the budget', () => {
    // root, password (replaced unread), a, b, c: then d is refused.
    const budget = new WalkBudget(5);
    const huge = Array.from({ length: 10_000 }, (_, i) => i);
    const copy = new Redactor().redact({ password: huge, a: 1, b: { c: 2, d: 3 } }, [], { budget });
    expect(copy).toEqual({ password: REDACTED, a: 1, b: { c: 2, $audit: NODE_BUDGET_MARKER } });
    expect(budget.isPartial(copy)).toBe(true);
  });

  it('stops a copy once it is certainly larger than maxBytes, counting redacted values as redacted', () => {
    const budget = new WalkBudget(1000);
    const redactor = new Redactor(['blob']);
    // The 10,000-character blob is redacted, so the rest fits.
    const small = redactor.redact({ blob: 'x'.repeat(10_000), a: 1 }, [], {
      budget,
      maxBytes: 100,
    });
    expect(small).toEqual({ blob: REDACTED, a: 1 });
    expect(budget.isPartial(small)).toBe(false);
    const large = redactor.redact({ note: 'x'.repeat(200), a: 1 }, [], { budget, maxBytes: 100 });
    expect(budget.isPartial(large)).toBe(true);
  });

  it('takes the redaction of diff values from the budget it is given', () => {
    const budget = new WalkBudget(Number.POSITIVE_INFINITY);
    new Redactor().redactDiff(
      [{ path: ['a'], op: 'changed', before: { x: 1 }, after: { x: 2, y: 3 } }],
      [],
      budget,
    );
    expect(budget.visited).toBe(5);
  });
});

describe('Redactor.redactCopy (a JSON-safe copy the caller owns)', () => {
  const redactor = new Redactor(['phone', 'lines.*.secretNote']);
  const key = fc.constantFrom('id', 'name', 'phone', 'password', 'lines', 'secretNote', 'note');
  const value = fc.letrec((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small' },
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('tree'), { maxLength: 4 }),
      fc.dictionary(key, tie('tree'), { maxKeys: 5 }),
    ),
  })).tree;

  it('returns the copy itself when nothing in it is redacted, spending the same visits', () => {
    const copy = toJsonSafe({ id: 7, name: 'Ada', lines: [{ sku: 'A', note: 'x' }] });
    const own = new WalkBudget(100);
    const walked = new WalkBudget(100);
    expect(redactor.redactCopy(copy, undefined, own)).toBe(copy);
    expect(redactor.redact(copy, undefined, { budget: walked })).toEqual(copy);
    expect(own.visited).toBe(walked.visited);
  });

  it('redacts a copy holding a secret into a new value, as redact() does', () => {
    const copy = toJsonSafe({ id: 7, lines: [{ secretNote: 's3cret' }], password: 'pw' });
    const result = redactor.redactCopy(copy, undefined, new WalkBudget(100));
    expect(result).not.toBe(copy);
    expect(result).toEqual({ id: 7, lines: [{ secretNote: REDACTED }], password: REDACTED });
    expect(copy).toEqual({ id: 7, lines: [{ secretNote: 's3cret' }], password: 'pw' });
  });

  it('walks (and marks partial) like redact() when the budget is short', () => {
    const copy = toJsonSafe({ a: 1, b: 2, c: { d: 3 } });
    const own = new WalkBudget(3);
    const walked = new WalkBudget(3);
    const result = redactor.redactCopy(copy, undefined, own);
    expect(result).not.toBe(copy);
    expect(result).toEqual(redactor.redact(copy, undefined, { budget: walked }));
    expect([own.visited, own.exhausted]).toEqual([walked.visited, walked.exhausted]);
  });

  it('gives what redact() gives and spends what it spends, for any value and budget', () => {
    fc.assert(
      fc.property(value, fc.integer({ min: 0, max: 60 }), (raw, limit) => {
        const copy = toJsonSafe(raw);
        const own = new WalkBudget(limit);
        const walked = new WalkBudget(limit);
        const expected = redactor.redact(copy, ['name'], { budget: walked });
        expect(redactor.redactCopy(copy, ['name'], own)).toEqual(expected);
        expect([own.visited, own.exhausted]).toEqual([walked.visited, walked.exhausted]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('Redactor: a secret used as a key (a map of sessions by token)', () => {
  const token = `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.${randomUUID().replace(/-/g, '')}`;
  const state = { owner: 'ann', sessions: { [token]: { active: true }, plain: { active: false } } };
  const scrubbed = {
    owner: 'ann',
    sessions: { [REDACTED]: { active: true }, plain: { active: false } },
  };

  it('scans keys by shape like values: the key is replaced, its value is kept', () => {
    expect(new Redactor().redact(state)).toEqual(scrubbed);
  });

  it('does not hand back a copy whose key is a secret as it is', () => {
    const copy = toJsonSafe(state);
    const result = new Redactor().redactCopy(copy, undefined, new WalkBudget(1000));
    expect(result).toEqual(scrubbed);
  });

  it('replaces the secret in the path of a diff entry, so no changed-field list carries it', () => {
    const diff = new Redactor().redactDiff(diffStates({ sessions: {} }, state));
    expect(JSON.stringify(diff)).not.toContain(token);
    expect(changedFieldPaths(diff)).toEqual(
      expect.arrayContaining([`sessions.${REDACTED}`, 'owner']),
    );
  });

  it('numbers keys that become the same, so no entry is lost', () => {
    const other = `ghp_${'a1'.repeat(18)}`;
    const copy = new Redactor().redact({ [token]: 1, [other]: 2 });
    expect(copy).toEqual({ [REDACTED]: 1, [`${REDACTED}#2`]: 2 });
  });

  it('keeps keys as they are when the shape scan is off', () => {
    expect(new Redactor([], { shapes: false }).redact(state)).toEqual(state);
  });
});
