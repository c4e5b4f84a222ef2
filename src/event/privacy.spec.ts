import { createHmac } from 'node:crypto';
import { isIP } from 'node:net';
import fc from 'fast-check';
import { AuditConfigurationError } from '../common/audit-configuration.error';
import { buildAuditEvent, type AuditEventDraft } from './build-event';
import { truncateIpAddress } from './ip-truncate';
import { isPseudonym, resolvePrivacy, type AuditPrivacy } from './privacy';
import { REDACTED, Redactor } from './redact';

const KEY = 'k'.repeat(32);
const PSEUDONYM = /^hmac:[A-Za-z0-9_-]{22}$/;
const FIELD_HASH = /^hash:[A-Za-z0-9_-]{22}$/;

function privacyOf(options: Parameters<typeof resolvePrivacy>[0]): AuditPrivacy {
  const privacy = resolvePrivacy(options);
  if (privacy === undefined) throw new Error('expected privacy to be on');
  return privacy;
}

function build(draft: Partial<AuditEventDraft>, privacy: AuditPrivacy | undefined) {
  return buildAuditEvent(
    { action: 'user.update', outcome: 'success', level: 'info', actor: {}, ...draft },
    {
      redactor: new Redactor(),
      maxValueBytes: 64 * 1024,
      maxEventBytes: 256 * 1024,
      ...(privacy ? { privacy } : {}),
    },
  );
}

describe('resolvePrivacy', () => {
  it('is off (undefined) without options or with everything off', () => {
    expect(resolvePrivacy(undefined)).toBeUndefined();
    expect(resolvePrivacy({})).toBeUndefined();
    expect(
      resolvePrivacy({ pseudonymize: false, truncateIp: false, hashFields: [] }),
    ).toBeUndefined();
  });

  it('requires a key of at least 32 bytes for pseudonyms and hashed fields', () => {
    expect(() => resolvePrivacy({ pseudonymize: true })).toThrow(AuditConfigurationError);
    expect(() => resolvePrivacy({ pseudonymize: true })).toThrow(
      /privacy\.key" is required.*randomBytes\(32\)/,
    );
    expect(() => resolvePrivacy({ hashFields: ['phone'], key: 'short' })).toThrow(
      /privacy\.key" is too short \(5 bytes; at least 32 are needed\)/,
    );
    expect(() => resolvePrivacy({ pseudonymize: true, key: 42 as never })).toThrow(
      /string or a Buffer/,
    );
    expect(resolvePrivacy({ pseudonymize: true, key: Buffer.alloc(32, 1) })).toBeDefined();
  });

  it('names a wrong option and its fix', () => {
    expect(() => resolvePrivacy({ pseudonymise: true } as never)).toThrow(
      /"privacy\.pseudonymise" is not a known option/,
    );
    expect(() => resolvePrivacy({ key: KEY, pseudonymize: ['actor.phone'] as never })).toThrow(
      /privacy\.pseudonymize" must be true, false or a list of 'actor\.id'/,
    );
    expect(() => resolvePrivacy({ key: KEY, hashFields: ['a..b'] })).toThrow(/privacy\.hashFields/);
    expect(() => resolvePrivacy({ truncateIp: { v4: 33 } })).toThrow(
      /privacy\.truncateIp\.v4" must be an integer from 0 to 32/,
    );
    expect(() => resolvePrivacy({ truncateIp: { v5: 8 } as never })).toThrow(
      /privacy\.truncateIp\.v5" is not a known option/,
    );
    expect(() => resolvePrivacy('on' as never)).toThrow(/option "privacy" must be an object/);
  });

  it('needs no key for IP truncation alone', () => {
    expect(privacyOf({ truncateIp: true }).ipPrefixes).toEqual({ v4: 24, v6: 48 });
  });
});

describe('pseudonyms', () => {
  const privacy = privacyOf({ key: KEY, pseudonymize: true });

  it('are HMAC-SHA-256 of the domain and the value, 128 bits in base64url', () => {
    const expected = createHmac('sha256', KEY).update('actor.id\u000042').digest().subarray(0, 16);
    expect(privacy.pseudonymOf('42')).toBe(`hmac:${expected.toString('base64url')}`);
    expect(privacy.pseudonymOf('42')).toMatch(PSEUDONYM);
  });

  it('are stable per key and value, differ across keys, values and fields', () => {
    const other = privacyOf({ key: 'o'.repeat(32), pseudonymize: true });
    expect(privacy.pseudonymOf('42')).toBe(privacy.pseudonymOf('42'));
    expect(privacy.pseudonymOf('42')).not.toBe(privacy.pseudonymOf('43'));
    expect(privacy.pseudonymOf('42')).not.toBe(other.pseudonymOf('42'));
    expect(privacy.pseudonymOf('a@x.io', 'actor.email')).not.toBe(privacy.pseudonymOf('a@x.io'));
  });

  it('compare e-mail addresses in lower case and leave a pseudonym as it is', () => {
    expect(privacy.pseudonymOf(' Ann@Example.COM', 'actor.email')).toBe(
      privacy.pseudonymOf('ann@example.com', 'actor.email'),
    );
    const pseudonym = privacy.pseudonymOf('42');
    expect(isPseudonym(pseudonym)).toBe(true);
    expect(privacy.pseudonymOf(pseudonym)).toBe(pseudonym);
  });

  it('are made of every recorded value, even one shaped like a pseudonym', () => {
    const someoneElse = privacy.pseudonymOf('Ceo Name', 'actor.name');
    const event = build({ actor: { id: '9', name: someoneElse } }, privacy);
    expect(event.actor.name).toMatch(PSEUDONYM);
    expect(event.actor.name).not.toBe(someoneElse);
  });

  it('replace the actor and impersonator fields chosen, in the built event', () => {
    const actor = {
      id: '42',
      email: 'ann@example.com',
      name: 'Ann',
      roles: ['admin'],
      impersonator: { id: '7', email: 'root@example.com', name: 'Root' },
    };
    const event = build({ actor }, privacy);
    expect(event.actor).toEqual({
      type: 'user',
      authenticated: true,
      id: privacy.pseudonymOf('42'),
      email: privacy.pseudonymOf('ann@example.com', 'actor.email'),
      name: privacy.pseudonymOf('Ann', 'actor.name'),
      roles: ['admin'],
      impersonator: {
        id: privacy.pseudonymOf('7'),
        email: privacy.pseudonymOf('root@example.com', 'actor.email'),
        name: privacy.pseudonymOf('Root', 'actor.name'),
      },
    });
    const onlyIds = build({ actor }, privacyOf({ key: KEY, pseudonymize: ['actor.id'] }));
    expect(onlyIds.actor.id).toBe(privacy.pseudonymOf('42'));
    expect(onlyIds.actor.email).toBe('ann@example.com');
    expect(build({ actor }, undefined).actor.id).toBe('42');
  });
});

describe('truncateIpAddress', () => {
  const cases: [string, string, string][] = [
    ['203.0.113.77', '203.0.113.0', '203.0.0.0'],
    [
      '2001:db8:85a3:8d3:1319:8a2e:370:7348',
      '2001:db8:85a3::',
      '2001:db8:85a3:8d3:1319:8a2e:370:7300',
    ],
    ['::1', '::', '::'],
    ['fe80::1%eth0', 'fe80::', 'fe80::'],
    ['::ffff:203.0.113.9', '::ffff:203.0.113.0', '::ffff:203.0.0.0'],
    ['64:ff9b::1.2.3.4', '64:ff9b::', '64:ff9b::102:300'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3::', '1:2:3:4:5:6:102:300'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::', '2001:db8:0:0:1::'],
    ['not an ip', 'not an ip', 'not an ip'],
  ];
  it.each(cases)('%s -> %s (/24, /48) and %s (/16, /120)', (ip, wide, narrow) => {
    expect(truncateIpAddress(ip, { v4: 24, v6: 48 })).toBe(wide);
    expect(truncateIpAddress(ip, { v4: 16, v6: 120 })).toBe(narrow);
  });

  it('keeps everything with full prefixes and nothing with zero', () => {
    expect(truncateIpAddress('203.0.113.77', { v4: 32, v6: 128 })).toBe('203.0.113.77');
    expect(truncateIpAddress('2001:db8::7', { v4: 0, v6: 0 })).toBe('::');
    expect(truncateIpAddress('203.0.113.77', { v4: 0, v6: 0 })).toBe('0.0.0.0');
  });

  it('gives the canonical address (as the URL parser writes it) of any IPv6 address, masked', () => {
    fc.assert(
      fc.property(fc.ipV6(), fc.integer({ min: 0, max: 128 }), (ip, bits) => {
        const whole = truncateIpAddress(ip, { v4: 32, v6: 128 });
        const masked = truncateIpAddress(ip, { v4: 32, v6: bits });
        expect(isIP(masked)).toBe(6);
        expect(truncateIpAddress(masked, { v4: 32, v6: bits })).toBe(masked);
        if (!/^::ffff:\d/i.test(whole)) {
          expect(whole).toBe(new URL(`http://[${ip}]/`).hostname.slice(1, -1));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('applies to source.ip in the built event', () => {
    const event = build(
      { source: { ip: '198.51.100.23', userAgent: 'ua' } },
      privacyOf({ truncateIp: { v4: 16 } }),
    );
    expect(event.source).toEqual({ ip: '198.51.0.0', userAgent: 'ua' });
  });
});

describe('hashed fields', () => {
  const privacy = privacyOf({ key: KEY, hashFields: ['phone', 'mfa.phone', 'contacts.*'] });

  it('record keyed hashes in the states and the diff, so a change still shows', () => {
    const event = build(
      {
        target: { type: 'user', id: '1' },
        before: {
          name: 'a',
          phone: '+33 6 12 34 56 78',
          mfa: { phone: '+1 555' },
          contacts: [{ mail: 'x@y' }],
        },
        after: {
          name: 'a',
          phone: '+33 6 99 99 99 99',
          mfa: { phone: '+1 555' },
          contacts: [{ mail: 'x@z' }],
        },
      },
      privacy,
    );
    const json = JSON.stringify(event);
    for (const raw of ['+33 6 12 34 56 78', '+33 6 99 99 99 99', '+1 555', 'x@y', 'x@z']) {
      expect(json).not.toContain(raw);
    }
    const before = event.changes?.before as Record<string, unknown>;
    const after = event.changes?.after as Record<string, unknown>;
    expect(before.phone).toMatch(FIELD_HASH);
    expect(after.phone).toMatch(FIELD_HASH);
    expect(before.phone).not.toBe(after.phone);
    // Equal values hash equal: the unchanged MFA phone is no change.
    expect(event.changes?.fields).toEqual(['contacts.[0].mail', 'phone']);
    expect(event.changes?.fields).not.toContain('mfa.phone');
  });

  it('hash the other payloads too, keep null, and hash a value shaped like a hash', () => {
    const event = build(
      { body: { phone: '0612', note: 'n' }, results: [{ phone: '0613' }, { phone: null }] },
      privacy,
    );
    expect((event.body as Record<string, unknown>).phone).toMatch(FIELD_HASH);
    expect((event.body as Record<string, unknown>).note).toBe('n');
    const results = event.results as Record<string, unknown>[];
    expect(results[0]?.phone).toMatch(FIELD_HASH);
    expect(results[1]?.phone).toBeNull();
    // A value shaped like a hash is hashed too: it cannot pass for another value's hash.
    const forged = { phone: String((event.body as Record<string, unknown>).phone) };
    privacy.hashFieldsOf(forged);
    expect(forged.phone).toMatch(FIELD_HASH);
    expect(forged.phone).not.toBe((event.body as Record<string, unknown>).phone);
  });

  it('replace an own __proto__ key of a copy too', () => {
    const copy = JSON.parse('{"__proto__":"0612"}') as Record<string, unknown>;
    privacyOf({ key: KEY, hashFields: ['__proto__'] }).hashFieldsOf(copy);
    expect(Object.getOwnPropertyDescriptor(copy, '__proto__')?.value).toMatch(FIELD_HASH);
    expect(JSON.stringify(copy)).not.toContain('0612');
  });

  it('run before redaction, which still wins on a sensitive key', () => {
    const both = privacyOf({ key: KEY, hashFields: ['password'] });
    const event = build({ before: { password: 'a' }, after: { password: 'b' } }, both);
    expect(event.changes?.fields).toEqual(['password']);
    expect(event.changes?.diff[0]).toMatchObject({ before: REDACTED, after: REDACTED });
  });
});
