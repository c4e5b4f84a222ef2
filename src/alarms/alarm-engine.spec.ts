import { makeEvent } from '../../test/fixtures/events';
import type { AuditEvent } from '../event/audit-event';
import { diffStates } from '../event/diff';
import { REDACTED } from '../event/redact';
import type { AlarmRule } from './alarm-options';
import { compileAlarmRules, type AlarmRuleSettings } from './alarm-rule';
import { AlarmEngine, type AlarmEngineOptions } from './alarm-engine';

const CHANNELS = ['security', 'ops'];
const T0 = Date.parse('2026-11-22T10:00:00.000Z');

function engine(
  rules: unknown[],
  settings: Partial<AlarmRuleSettings> = {},
  options: AlarmEngineOptions = {},
): AlarmEngine {
  return new AlarmEngine(
    compileAlarmRules(rules as AlarmRule[], CHANNELS, { serviceName: 'billing', ...settings }),
    options,
  );
}

function at(ms: number, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return makeEvent({ timestamp: new Date(ms).toISOString(), ...overrides });
}

function phoneChange(overrides: Partial<AuditEvent> = {}): AuditEvent {
  const before = { phone: '+1 555 0100', mfa: { enabled: false } };
  const after = { phone: '+1 555 0199', mfa: { enabled: true } };
  const diff = diffStates(before, after);
  return makeEvent({
    id: '01900000-0000-7000-8000-0000000000aa',
    timestamp: '2026-11-22T10:02:13.456Z',
    actor: { type: 'user', id: 'u-1', name: 'Ada', email: 'ada@acme.test', authenticated: true },
    target: { type: 'user', id: '42' },
    source: { ip: '10.0.0.7' },
    changes: { before, after, diff, fields: diff.map((d) => d.path.join('.')) },
    ...overrides,
  });
}

function failedLogin(ms: number, ip: string, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return at(ms, {
    action: 'admin.login',
    outcome: 'failure',
    source: { ip },
    target: { type: 'session' },
    ...overrides,
  });
}

const LOGINS = {
  name: 'admin-login-failures',
  action: 'admin.login',
  outcome: 'failure',
  channels: ['security'],
  severity: 'high',
  threshold: { count: 6, window: '1m', groupBy: 'source.ip' },
  title: 'Failed admin logins from {group}',
  message: '{count} failed admin logins from {source.ip} within {window}',
};

describe('AlarmEngine', () => {
  describe('plain rules', () => {
    const MFA = {
      name: 'mfa-phone',
      action: 'user.update',
      changed: ['phone', 'mfa.*'],
      channels: ['security', 'ops'],
      severity: 'high',
      title: 'MFA phone changed for {target.type} {target.id}',
      message: '{actor.email} changed {target.type} {target.id}: {changes}',
    };

    it('returns one entry per channel with a rendered message', () => {
      const event = phoneChange();
      const entries = engine([MFA], { viewerUrl: 'https://admin.acme.test/audit' }).evaluate(
        event,
        T0,
      );
      expect(entries).toHaveLength(2);
      const [security, ops] = entries;
      expect(security).toEqual({
        dedupKey: `mfa-phone:security:${event.id}`,
        rule: 'mfa-phone',
        channel: 'security',
        kind: 'event',
        severity: 'high',
        eventId: event.id,
        createdAt: new Date(T0).toISOString(),
        message: {
          id: `mfa-phone:security:${event.id}`,
          rule: 'mfa-phone',
          channel: 'security',
          kind: 'event',
          severity: 'high',
          title: 'MFA phone changed for user 42',
          text: 'ada@acme.test changed user 42: mfa.enabled: false → true; phone: +1 555 0100 → +1 555 0199',
          count: 1,
          events: [
            {
              id: event.id,
              timestamp: '2026-11-22T10:02:13.456Z',
              action: 'user.update',
              outcome: 'success',
              actor: { type: 'user', id: 'u-1', name: 'Ada', email: 'ada@acme.test' },
              target: { type: 'user', id: '42' },
              sourceIp: '10.0.0.7',
              changes: [
                { field: 'mfa.enabled', op: 'changed', before: 'false', after: 'true' },
                { field: 'phone', op: 'changed', before: '+1 555 0100', after: '+1 555 0199' },
              ],
              text: 'ada@acme.test changed user 42: mfa.enabled: false → true; phone: +1 555 0100 → +1 555 0199',
              url: `https://admin.acme.test/audit/view/events/${event.id}`,
            },
          ],
          firstAt: '2026-11-22T10:02:13.456Z',
          lastAt: '2026-11-22T10:02:13.456Z',
          service: 'billing',
          url: `https://admin.acme.test/audit/view/events/${event.id}`,
        },
      });
      expect(ops?.dedupKey).toBe(`mfa-phone:ops:${event.id}`);
      expect(ops?.message.channel).toBe('ops');
      expect(security?.digestKey).toBeUndefined();
    });

    it('gives the same dedup keys when the same event is evaluated again (spool replay)', () => {
      const rules = engine([MFA]);
      const event = phoneChange();
      const first = rules.evaluate(event, T0).map((e) => e.dedupKey);
      const again = engine([MFA])
        .evaluate(event, T0 + 60_000)
        .map((e) => e.dedupKey);
      expect(again).toEqual(first);
    });

    it('renders the default templates', () => {
      const [entry] = engine([{ name: 'any', channels: ['ops'] }]).evaluate(phoneChange(), T0);
      expect(entry?.message.title).toBe('any: user.update on user 42');
      expect(entry?.message.text).toBe(
        'Ada (u-1) did user.update on user 42: mfa.enabled: false → true; phone: +1 555 0100 → +1 555 0199',
      );
      expect(entry?.severity).toBe('medium');
      expect(entry?.message.url).toBeUndefined();
    });

    it('keeps redacted values redacted in the text and the summary', () => {
      const event = makeEvent({
        changes: {
          diff: [{ path: ['mfa', 'phone'], op: 'changed', before: REDACTED, after: REDACTED }],
          fields: ['mfa.phone'],
        },
      });
      const [entry] = engine([{ ...MFA, channels: ['ops'] }]).evaluate(event, T0);
      expect(entry?.message.text).toContain('mfa.phone: [REDACTED] → [REDACTED]');
      expect(entry?.message.events[0]?.changes).toEqual([
        { field: 'mfa.phone', op: 'changed', before: REDACTED, after: REDACTED },
      ]);
    });

    it('returns entries of every matching rule, in rule order, and nothing for others', () => {
      const rules = engine([
        { name: 'a', action: 'user.*', channels: ['ops'] },
        { name: 'b', action: 'order.*', channels: ['ops'] },
        { name: 'c', channels: ['security'] },
      ]);
      expect(rules.evaluate(makeEvent({ action: 'user.update' }), T0).map((e) => e.rule)).toEqual([
        'a',
        'c',
      ]);
      expect(rules.evaluate(makeEvent({ action: 'order.ship' }), T0).map((e) => e.rule)).toEqual([
        'b',
        'c',
      ]);
      expect(rules.ruleCount).toBe(3);
    });

    it('returns nothing without rules', () => {
      expect(engine([]).evaluate(makeEvent(), T0)).toEqual([]);
    });
  });

  describe('throttle rules', () => {
    it('marks the entries with a digest key and the throttle period', () => {
      const entries = engine([
        { name: 'mfa', channels: ['security', 'ops'], throttle: '10m' },
      ]).evaluate(phoneChange(), T0);
      expect(entries.map((e) => [e.digestKey, e.throttleMs, e.kind])).toEqual([
        ['mfa:security', 600_000, 'event'],
        ['mfa:ops', 600_000, 'event'],
      ]);
      expect(entries[0]?.dedupKey).toBe(`mfa:security:${phoneChange().id}`);
    });
  });

  describe('when predicates that throw', () => {
    it('count as no match, are reported, and never reach the caller', () => {
      const errors: [string, unknown][] = [];
      const boom = new Error('boom');
      const rules = engine(
        [
          {
            name: 'throws',
            channels: ['ops'],
            when: () => {
              throw boom;
            },
          },
          { name: 'fine', channels: ['ops'] },
        ],
        {},
        { onRuleError: (rule, error) => errors.push([rule, error]) },
      );
      const entries = rules.evaluate(makeEvent(), T0);
      expect(entries.map((e) => e.rule)).toEqual(['fine']);
      expect(errors).toEqual([['throws', boom]]);
    });

    it('survive a throwing error callback and no callback at all', () => {
      const when = () => {
        throw new Error('boom');
      };
      const noisy = engine(
        [{ name: 'x', channels: ['ops'], when }],
        {},
        {
          onRuleError: () => {
            throw new Error('logger down');
          },
        },
      );
      expect(noisy.evaluate(makeEvent(), T0)).toEqual([]);
      expect(engine([{ name: 'x', channels: ['ops'], when }]).evaluate(makeEvent(), T0)).toEqual(
        [],
      );
    });

    it('does not throw on a malformed event', () => {
      const rules = engine([{ name: 'x', channels: ['ops'], changed: ['a'], resourceType: 't' }]);
      const broken = {
        id: 'x',
        action: undefined,
        changes: { diff: 'nope' },
      } as unknown as AuditEvent;
      expect(() => rules.evaluate(broken, T0)).not.toThrow();
    });
  });

  describe('threshold rules', () => {
    it('fires once when the count is reached within a window, with the events that made it', () => {
      const rules = engine([LOGINS], {
        viewerUrl: 'https://admin.acme.test/audit/',
        digestListSize: 4,
      });
      const results = Array.from({ length: 9 }, (_, i) =>
        rules.evaluate(failedLogin(T0 + i * 1_000, '10.0.0.7'), T0 + i * 1_000),
      );
      expect(results.map((r) => r.length)).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 0]);
      const entry = results[5]?.[0];
      expect(entry).toMatchObject({
        dedupKey: `admin-login-failures:security:10.0.0.7:${T0}`,
        kind: 'threshold',
        severity: 'high',
        channel: 'security',
      });
      expect(entry?.message).toMatchObject({
        id: entry?.dedupKey,
        kind: 'threshold',
        title: 'Failed admin logins from 10.0.0.7',
        text: '6 failed admin logins from 10.0.0.7 within 1 minute',
        count: 6,
        groupKey: '10.0.0.7',
        firstAt: new Date(T0).toISOString(),
        lastAt: new Date(T0 + 5_000).toISOString(),
        service: 'billing',
      });
      expect(entry?.message.events.map((e) => e.timestamp)).toEqual(
        [0, 1, 2, 3].map((s) => new Date(T0 + s * 1_000).toISOString()),
      );
      expect(entry?.message.events[0]?.text).toBe('Ada (u-1) did admin.login on session —: —');
      expect(entry?.message.url).toBe(
        `https://admin.acme.test/audit/?action=admin.login&from=${encodeURIComponent(new Date(T0).toISOString())}&to=${encodeURIComponent(new Date(T0 + 60_000).toISOString())}`,
      );
    });

    it('counts each groupBy value separately', () => {
      const rules = engine([LOGINS]);
      let fired: string[] = [];
      for (let i = 0; i < 6; i += 1) {
        for (const ip of ['10.0.0.7', '10.0.0.8']) {
          fired = fired.concat(
            rules.evaluate(failedLogin(T0 + i, ip), T0).map((e) => e.message.groupKey ?? ''),
          );
        }
      }
      expect(fired).toEqual(['10.0.0.7', '10.0.0.8']);
    });

    it('does not count events that do not match the rule', () => {
      const rules = engine([LOGINS]);
      for (let i = 0; i < 10; i += 1) {
        expect(rules.evaluate(failedLogin(T0 + i, '10.0.0.7', { outcome: 'success' }), T0)).toEqual(
          [],
        );
      }
      expect(rules.openThresholdWindows()).toBe(0);
    });

    it('uses tumbling windows: events on both sides of a boundary do not add up', () => {
      const rules = engine([LOGINS]);
      const boundary = T0 + 60_000;
      let fired = 0;
      for (let i = 0; i < 5; i += 1)
        fired += rules.evaluate(failedLogin(boundary - 1 - i, '1.1.1.1'), boundary).length;
      for (let i = 0; i < 5; i += 1)
        fired += rules.evaluate(failedLogin(boundary + i, '1.1.1.1'), boundary).length;
      expect(fired).toBe(0);
      const sixth = rules.evaluate(failedLogin(boundary + 59_999, '1.1.1.1'), boundary + 59_999);
      expect(sixth.map((e) => e.dedupKey)).toEqual([
        `admin-login-failures:security:1.1.1.1:${boundary}`,
      ]);
    });

    it('fires again in the next window, with a new dedup key', () => {
      const rules = engine([LOGINS]);
      const keys: string[] = [];
      for (let w = 0; w < 3; w += 1) {
        for (let i = 0; i < 7; i += 1) {
          const ms = T0 + w * 60_000 + i;
          keys.push(...rules.evaluate(failedLogin(ms, '10.0.0.7'), ms).map((e) => e.dedupKey));
        }
      }
      expect(keys).toEqual(
        [0, 1, 2].map((w) => `admin-login-failures:security:10.0.0.7:${T0 + w * 60_000}`),
      );
    });

    it('counts out-of-order events in the window of their own timestamp', () => {
      const rules = engine([LOGINS]);
      const now = T0 + 70_000;
      // Five in the current window, then late events from the previous one arrive.
      for (let i = 0; i < 5; i += 1)
        expect(rules.evaluate(failedLogin(T0 + 60_000 + i, 'ip'), now)).toEqual([]);
      const late = [50_000, 10_000, 40_000, 20_000, 30_000, 5_000];
      const fired = late.flatMap((offset) => rules.evaluate(failedLogin(T0 + offset, 'ip'), now));
      expect(fired).toHaveLength(1);
      expect(fired[0]?.dedupKey).toBe(`admin-login-failures:security:ip:${T0}`);
      expect(fired[0]?.message.firstAt).toBe(new Date(T0 + 5_000).toISOString());
      expect(fired[0]?.message.lastAt).toBe(new Date(T0 + 50_000).toISOString());
      expect(fired[0]?.message.events.map((e) => e.timestamp)).toEqual(
        [5_000, 10_000, 20_000, 30_000, 40_000, 50_000].map((o) => new Date(T0 + o).toISOString()),
      );
      expect(rules.evaluate(failedLogin(T0 + 60_005, 'ip'), now)).toHaveLength(1);
    });

    it('uses * as the key without groupBy, and the default threshold texts', () => {
      const rules = engine([
        {
          name: 'voids',
          action: 'invoice.void',
          channels: ['ops'],
          threshold: { count: 2, window: '5m' },
        },
      ]);
      rules.evaluate(at(T0, { action: 'invoice.void' }), T0);
      const [entry] = rules.evaluate(at(T0 + 1, { action: 'invoice.void' }), T0);
      expect(entry?.dedupKey).toBe(`voids:ops:*:${T0}`);
      expect(entry?.message.title).toBe('voids: 2 events within 5 minutes');
      expect(entry?.message.text).toBe('2 invoice.void events within 5 minutes');
      expect(entry?.message.groupKey).toBeUndefined();
    });

    it('hashes a long group value in the dedup key, and keys a missing one as "-"', () => {
      const rules = engine([
        { ...LOGINS, threshold: { count: 1, window: '1m', groupBy: 'source.userAgent' } },
      ]);
      const long = 'Mozilla/5.0 '.repeat(50);
      const [entry] = rules.evaluate(
        failedLogin(T0, 'x', { source: { ip: 'x', userAgent: long } }),
        T0,
      );
      expect(entry?.dedupKey).toMatch(
        new RegExp(`^admin-login-failures:security:sha256:[0-9a-f]{32}:${T0}$`),
      );
      const [missing] = rules.evaluate(failedLogin(T0, 'x'), T0);
      expect(missing?.dedupKey).toBe(`admin-login-failures:security:-:${T0}`);
      expect(missing?.message.text).toBe('1 failed admin logins from x within 1 minute');
    });

    it('carries the digest key when the threshold rule is also throttled', () => {
      const rules = engine([{ ...LOGINS, threshold: { count: 1, window: '1m' }, throttle: '1h' }]);
      const [entry] = rules.evaluate(failedLogin(T0, 'x'), T0);
      expect([entry?.digestKey, entry?.throttleMs]).toEqual([
        'admin-login-failures:security',
        3_600_000,
      ]);
    });

    it('keeps its memory bounded: at most maxOpenWindowsPerRule keys, closed windows dropped', () => {
      const rules = engine([LOGINS]);
      for (let i = 0; i < 10_000; i += 1)
        rules.evaluate(failedLogin(T0, `10.1.${i >> 8}.${i & 255}`), T0);
      expect(rules.openThresholdWindows()).toBe(10_000);
      for (let i = 0; i < 5_000; i += 1)
        rules.evaluate(failedLogin(T0, `10.2.${i >> 8}.${i & 255}`), T0);
      expect(rules.openThresholdWindows()).toBe(10_000);
      // Two windows later, everything above is closed and swept on the next evaluation.
      rules.evaluate(failedLogin(T0 + 120_000, '10.9.9.9'), T0 + 120_000);
      expect(rules.openThresholdWindows()).toBe(1);

      const small = engine([LOGINS], {}, { maxOpenWindowsPerRule: 3 });
      for (let i = 0; i < 10_000; i += 1)
        small.evaluate(failedLogin(T0 + i * 10, `ip-${i}`), T0 + i * 10);
      expect(small.openThresholdWindows()).toBe(3);
    });

    it('rejects a bad bound', () => {
      expect(() => engine([], {}, { maxOpenWindowsPerRule: 0 })).toThrow(/maxOpenWindowsPerRule/);
    });
  });
});
