import { Redactor } from './redact';
import { WalkBudget } from './walk-budget';
import { SHAPE_REDACTED, isCardNumber, scrubSecretShapes } from './secret-shapes';
import { AuditConfigurationError } from '../common/audit-configuration.error';

const R = SHAPE_REDACTED;
const JWT =
  'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';

describe('scrubSecretShapes', () => {
  it.each([
    [`token was ${JWT} here`, `token was ${R} here`],
    ['Authorization: Bearer abcdEFGH12345678.x-y', `Authorization: Bearer ${R}`],
    ['header Basic dXNlcjpwYXNzd29yZA==', `header Basic ${R}`],
    ['db postgres://app:s3cr3t-pw@db.internal:5432/x', `db postgres://app:${R}@db.internal:5432/x`],
    ['card 4111 1111 1111 1111 ok', `card ${R} ok`],
    ['card 5500-0000-0000-0004', `card ${R}`],
    ['key AKIAIOSFODNN7EXAMPLE used', `key ${R} used`],
    ['gh ghp_abcdefghijklmnopqrstuvwxyz0123456789', `gh ${R}`],
    ['slack xoxb-1234567890-abcdefghij', `slack ${R}`],
    ['g AIzaSyA1234567890abcdefghijklmnopqrstuv', `g ${R}`],
    ['stripe sk_live_abcdefghijklmnop1234', `stripe ${R}`],
    [
      'k=-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY----- end',
      `k=-----BEGIN RSA PRIVATE KEY-----${R}-----END RSA PRIVATE KEY----- end`,
    ],
  ])('redacts the secret in %j', (input, expected) => {
    expect(scrubSecretShapes(input)).toBe(expected);
  });

  it.each([
    'a plain sentence, nothing secret in it: well-known words',
    'card 4111 1111 1111 1112 fails Luhn',
    'timestamp 1733312345678 is not a card',
    'order 12345678901234567890123 too long for a card',
    'https://example.com/path?x=1',
    'https://user@example.com/ has no password',
    '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
    'the bearer of bad news',
    'AKIA-short',
    'eyJ.not.a.jwt here',
  ])('keeps %j', (input) => {
    expect(scrubSecretShapes(input)).toBe(input);
  });

  it('checks Luhn and the network digit', () => {
    expect(isCardNumber('4111111111111111')).toBe(true);
    expect(isCardNumber('4111111111111112')).toBe(false);
    expect(isCardNumber('1111111111111117')).toBe(false);
  });

  it.each([
    ['eyJ-', 'a'],
    ['Bearer ', ' '],
    ['://', ':'],
    ['-----BEGIN ', 'x'],
    ['4-', '1'],
    ['a:', 'b@'],
  ])('finishes on 1 MB of repeated %j', (unit, tail) => {
    const text = unit.repeat(Math.ceil(1_000_000 / unit.length)) + tail;
    // Linear scans: a quadratic one would not finish this within the test timeout.
    expect(typeof scrubSecretShapes(text)).toBe('string');
  });
});

describe('Redactor with shapes', () => {
  it('scrubs strings in values and diffs, keeps the shape scan off on request', () => {
    const value = { note: `use Bearer ${JWT}`, nested: ['postgres://u:pw123456@h/db'] };
    const on = new Redactor();
    expect(JSON.stringify(on.redact(value))).not.toContain('pw123456');
    expect(JSON.stringify(on.redact(value))).not.toContain(JWT);
    const off = new Redactor([], { shapes: false });
    expect(off.redact(value)).toEqual(value);
  });

  it('redactCopy returns a changed copy when a string holds a shape', () => {
    const copy = { note: 'key AKIAIOSFODNN7EXAMPLE' };
    const out = new Redactor().redactCopy(copy, undefined, new WalkBudget(100));
    expect(out).toEqual({ note: `key ${R}` });
  });
});

describe('key vocabulary', () => {
  const redactor = new Redactor();
  it.each([
    'passphrase',
    'pinCode',
    'PIN_CODE',
    'otp_code',
    'otpCode',
    'cvv2',
    'privKey',
    'signingKey',
    'mfaSeed',
    'recoveryCodes',
    'backup_codes',
    'pw',
    'sessionId',
    'x-api-key',
    'APIKey',
    'totp',
  ])('redacts %s', (key) => {
    expect(redactor.isSensitiveKey(key)).toBe(true);
  });

  it.each([
    'spinner',
    'pinned',
    'className',
    'description',
    'passengers',
    'compass',
    'author',
    'session',
    'sessionCount',
    'seeding',
    'opinion',
  ])('keeps %s', (key) => {
    expect(redactor.isSensitiveKey(key)).toBe(false);
  });

  it('exempts allowed keys from the vocabulary but not from the paths', () => {
    const allowing = new Redactor(['pinHint'], { allow: ['tokenCount', 'pin_hint'] });
    expect(allowing.redact({ tokenCount: 3, pinHint: 'x', token: 't' })).toEqual({
      tokenCount: 3,
      pinHint: '[REDACTED]',
      token: '[REDACTED]',
    });
    expect(() => new Redactor([], { allow: [''] })).toThrow(AuditConfigurationError);
  });
});
