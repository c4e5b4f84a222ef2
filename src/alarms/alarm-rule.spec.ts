import { makeEvent } from '../../test/fixtures/events';
import { AuditConfigurationError } from '../common/audit-configuration.error';
import type { AuditEvent } from '../event/audit-event';
import { diffStates, diffTruncationEntry } from '../event/diff';
import { REDACTED } from '../event/redact';
import type { AlarmRule } from './alarm-options';
import {
  DEFAULT_ALARM_MESSAGE,
  DEFAULT_ALARM_TITLE,
  DEFAULT_THRESHOLD_MESSAGE,
  DEFAULT_THRESHOLD_TITLE,
  compileAlarmRules,
} from './alarm-rule';
import { normalizeViewerUrl } from './alarm-rule-links';
import { AlarmEngine } from './alarm-engine';

const CHANNELS = ['security', 'ops'];
const SETTINGS = { serviceName: 'billing' };

function compile(rules: unknown[], settings: Parameters<typeof compileAlarmRules>[2] = SETTINGS) {
  return compileAlarmRules(rules as AlarmRule[], CHANNELS, settings);
}

function rule(fields: Record<string, unknown>): Record<string, unknown> {
  return { name: 'r', channels: ['ops'], ...fields };
}

/** Whether a rule with these fields raises an alarm for the event (through the real engine). */
function fires(fields: Record<string, unknown>, event: AuditEvent): boolean {
  return new AlarmEngine(compile([rule(fields)])).evaluate(event).length > 0;
}

function withChanges(before: unknown, after: unknown, overrides: Partial<AuditEvent> = {}) {
  const diff = diffStates(before, after);
  return makeEvent({
    changes: { before, after, diff, fields: diff.map((d) => d.path.join('.')) },
    ...overrides,
  });
}

describe('compileAlarmRules: validation at boot', () => {
  function rejects(rules: unknown[], message: string | RegExp, settings = SETTINGS) {
    let thrown: unknown;
    try {
      compileAlarmRules(rules as AlarmRule[], CHANNELS, settings);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AuditConfigurationError);
    const text = (thrown as Error).message;
    expect(text.startsWith('nestjs-audit: ')).toBe(true);
    if (typeof message === 'string') expect(text).toBe(message);
    else expect(text).toMatch(message);
  }

  it('names an unknown channel and the known ones', () => {
    rejects(
      [{ name: 'mfa-phone', channels: ['sec'] }],
      'nestjs-audit: alarm rule "mfa-phone" field "channels": unknown channel "sec"; known channels: security, ops.',
    );
  });

  it('says when no channel is declared at all', () => {
    expect(() => compileAlarmRules([{ name: 'a', channels: ['ops'] }], [], SETTINGS)).toThrow(
      /unknown channel "ops"; known channels: none \(declare them in alarms.channels\)/,
    );
  });

  it('requires at least one channel', () => {
    rejects(
      [{ name: 'a', channels: [] }],
      /rule "a" field "channels": must list at least one channel/,
    );
    rejects([{ name: 'a' }], /rule "a" field "channels": must list at least one channel/);
  });

  it('rejects a channel listed twice', () => {
    rejects([rule({ channels: ['ops', 'ops'] })], /field "channels": lists "ops" twice/);
  });

  it('requires a safe, unique name', () => {
    rejects([{ channels: ['ops'] }], /alarm rule #1 field "name": must be 1-100 letters/);
    rejects([rule({}), { name: 'bad name', channels: ['ops'] }], /alarm rule #2 field "name"/);
    rejects(
      [rule({}), rule({})],
      'nestjs-audit: alarm rule "r" field "name": another rule has the same name; rule names must be unique.',
    );
    rejects([rule({ name: 'manual' })], /"manual" is reserved for AuditService.alarm\(\)/);
  });

  it('rejects a rule that is not an object', () => {
    rejects([null], /alarm rule #1 must be an object/);
  });

  it('rejects unknown keys (typos)', () => {
    rejects(
      [rule({ acton: 'user.update' })],
      /alarm rule "r" field "acton": is not a rule field; known fields: name, action, resourceType/,
    );
  });

  it('rejects a bad action glob', () => {
    rejects(
      [rule({ action: 'user.{update' })],
      /rule "r" field "action": "user.\{update" has an unclosed "\{"/,
    );
    rejects([rule({ action: 42 })], /field "action": must be a string or an array of strings/);
    rejects([rule({ action: [] })], /field "action": Give at least one glob/);
    // Values JSON cannot write are described, not handed to JSON.stringify (which throws).
    rejects([rule({ action: ['user.*', 10n] })], /field "action": 10n is not a glob/);
  });

  it('rejects a bad resource type glob', () => {
    rejects([rule({ resourceType: 'in voice' })], /field "resourceType": "in voice" contains " "/);
  });

  it('rejects an unknown outcome', () => {
    rejects(
      [rule({ outcome: 'failed' })],
      /field "outcome": unknown outcome "failed"; use success, failure, unknown/,
    );
    rejects([rule({ outcome: [] })], /field "outcome": must name at least one/);
  });

  it('rejects an unknown severity', () => {
    rejects(
      [rule({ severity: 'urgent' })],
      /field "severity": unknown severity "urgent"; use one of info, low, medium, high, critical/,
    );
  });

  it('rejects a bad "changed"', () => {
    rejects(
      [rule({ changed: 'phone' })],
      /field "changed": must be a non-empty array of field paths/,
    );
    rejects([rule({ changed: [] })], /field "changed": must be a non-empty array/);
    rejects(
      [rule({ changed: ['mfa..phone'] })],
      /field "changed": "mfa..phone" has an empty segment/,
    );
  });

  it('rejects bad actorRoles and labels', () => {
    rejects(
      [rule({ actorRoles: 'admin' })],
      /field "actorRoles": must be a non-empty array of strings/,
    );
    rejects([rule({ actorRoles: [''] })], /field "actorRoles": must hold non-empty strings only/);
    rejects(
      [rule({ labels: { region: 1 } })],
      /field "labels": the value of "region" must be a string/,
    );
    rejects([rule({ labels: [] })], /field "labels": must be an object/);
  });

  it('requires `when` to be a function', () => {
    rejects(
      [rule({ when: 'e.outcome === "failure"' })],
      /field "when": must be a function \(event\) => boolean/,
    );
  });

  it('rejects a bad throttle', () => {
    rejects(
      [rule({ throttle: '10 minutes' })],
      /field "throttle": "10 minutes" is not a duration; use/,
    );
    rejects([rule({ throttle: 0 })], /field "throttle": 0 is not a duration/);
    rejects([rule({ throttle: 10n })], /field "throttle": 10n is not a duration/);
  });

  it('rejects a bad threshold count', () => {
    rejects(
      [rule({ threshold: { count: 0, window: '1m' } })],
      /field "threshold.count": must be a whole number of at least 1 \(got 0\)/,
    );
    rejects([rule({ threshold: { count: 2.5, window: '1m' } })], /field "threshold.count"/);
  });

  it('rejects a bad threshold window', () => {
    rejects(
      [rule({ threshold: { count: 5, window: 'a minute' } })],
      /field "threshold.window": "a minute" is not a duration/,
    );
  });

  it('rejects an unknown groupBy path', () => {
    rejects(
      [rule({ threshold: { count: 5, window: '1m', groupBy: 'ip' } })],
      /field "threshold.groupBy": "ip" is not an event path; use one of id, timestamp, action.*source.ip.*labels.<name>/,
    );
  });

  it('rejects unknown threshold keys and a non-object threshold', () => {
    rejects(
      [rule({ threshold: { count: 5, window: '1m', groupby: 'source.ip' } })],
      /field "threshold": has the unknown key "groupby"/,
    );
    rejects([rule({ threshold: 5 })], /field "threshold": must be an object/);
  });

  it('rejects templates with unknown fields', () => {
    rejects(
      [rule({ title: 'Phone changed for {user.id}' })],
      /alarm rule "r" field "title": the template uses the unknown field \{user.id\} at position 19; known fields:/,
    );
    rejects(
      [rule({ message: '{actor.id} {chnages}' })],
      /field "message": the template uses the unknown field \{chnages\}/,
    );
    rejects(
      [rule({ message: '{count} within {window}' })],
      /field "message": the template uses \{window\}, which exists only in rules with a threshold/,
    );
    rejects([rule({ title: '' })], /field "title": must be a non-empty template string/);
  });

  it('rejects a bad transition', () => {
    rejects(
      [rule({ transition: { field: 'status' } })],
      /field "transition": give "from", "to" or both/,
    );
    rejects(
      [rule({ transition: { field: 'sta*', to: 'void' } })],
      /field "transition": "field" must be a dotted field path without wildcards/,
    );
    rejects(
      [rule({ transition: { field: 'status', to: { a: 1 } } })],
      /"to" must be a string, number, boolean or null/,
    );
    rejects(
      [rule({ transition: { field: 'status', to: 'void', form: 'x' } })],
      /has the unknown key "form"/,
    );
  });

  it('rejects bad module settings', () => {
    rejects([], /option "alarms.digestListSize" must be a whole number from 1 to 100/, {
      ...SETTINGS,
      digestListSize: 0,
    } as never);
    rejects([], /option "alarms.viewerUrl" must be an absolute http\(s\) URL/, {
      ...SETTINGS,
      viewerUrl: 'ftp://x',
    } as never);
    rejects([], /option "alarms.viewerUrl" must be an absolute http\(s\) URL.* \(got 10n\)/, {
      ...SETTINGS,
      viewerUrl: 10n,
    } as never);
    expect(() => compileAlarmRules({} as never, CHANNELS, SETTINGS)).toThrow(
      /option "alarms.rules" must be an array/,
    );
  });

  it('accepts a complete rule and applies the defaults', () => {
    const compiled = compile([
      rule({
        action: ['user.*'],
        resourceType: 'user',
        outcome: ['success', 'failure'],
        changed: ['phone', 'mfa.*'],
        actorRoles: ['admin'],
        labels: { region: 'eu' },
        when: () => true,
        severity: 'high',
        title: 'MFA phone changed',
        message: '{actor.email}: {changes}',
        throttle: '10m',
      }),
      { name: 'plain', channels: ['ops', 'security'] },
      {
        name: 'logins',
        channels: ['ops'],
        threshold: { count: 5, window: '1m', groupBy: 'source.ip' },
      },
    ]);
    expect(compiled.digestListSize).toBe(10);
    expect(compiled.rules.map((r) => r.name)).toEqual(['r', 'plain', 'logins']);
    const [full, plain, logins] = compiled.rules;
    expect(full?.throttleMs).toBe(600_000);
    expect(full?.severity).toBe('high');
    expect(plain?.severity).toBe('medium');
    expect(plain?.action).toBeUndefined();
    expect(plain?.title.source).toBe(DEFAULT_ALARM_TITLE);
    expect(plain?.message.source).toBe(DEFAULT_ALARM_MESSAGE);
    expect(plain?.channels).toEqual(['ops', 'security']);
    expect(logins?.threshold).toMatchObject({
      count: 5,
      windowMs: 60_000,
      window: '1 minute',
      groupBy: 'source.ip',
    });
    expect(logins?.title.source).toBe(DEFAULT_THRESHOLD_TITLE);
    expect(logins?.message.source).toBe(DEFAULT_THRESHOLD_MESSAGE);
    expect(Object.isFrozen(compiled.rules)).toBe(true);
  });

  it('normalises the viewer URL to end with one slash and no query', () => {
    expect(compile([], { ...SETTINGS, viewerUrl: 'https://admin.acme.test/audit' }).viewerUrl).toBe(
      'https://admin.acme.test/audit/',
    );
    expect(normalizeViewerUrl('https://admin.acme.test/audit/?x=1#y')).toBe(
      'https://admin.acme.test/audit/',
    );
    expect(normalizeViewerUrl('http://localhost:3000')).toBe('http://localhost:3000/');
  });
});

describe('rule matching', () => {
  it('matches every event when it has no conditions', () => {
    expect(fires({}, makeEvent())).toBe(true);
  });

  it('matches an exact action, a glob and a list', () => {
    expect(fires({ action: 'user.update' }, makeEvent({ action: 'user.update' }))).toBe(true);
    expect(fires({ action: 'user.update' }, makeEvent({ action: 'user.create' }))).toBe(false);
    expect(fires({ action: 'user.*' }, makeEvent({ action: 'user.delete' }))).toBe(true);
    expect(fires({ action: '*.void' }, makeEvent({ action: 'invoice.void' }))).toBe(true);
    expect(
      fires(
        { action: ['order.*', 'invoice.{void,refund}'] },
        makeEvent({ action: 'invoice.refund' }),
      ),
    ).toBe(true);
    expect(
      fires(
        { action: ['order.*', 'invoice.{void,refund}'] },
        makeEvent({ action: 'invoice.create' }),
      ),
    ).toBe(false);
  });

  it('matches the resource type, exact or glob, and never an event without target', () => {
    const invoice = makeEvent({ target: { type: 'invoice', id: '7' } });
    expect(fires({ resourceType: 'invoice' }, invoice)).toBe(true);
    expect(fires({ resourceType: ['order', 'inv*'] }, invoice)).toBe(true);
    expect(fires({ resourceType: 'order' }, invoice)).toBe(false);
    const none = makeEvent();
    delete (none as { target?: unknown }).target;
    expect(fires({ resourceType: '*' }, none)).toBe(false);
  });

  it('matches the outcome', () => {
    expect(fires({ outcome: 'failure' }, makeEvent({ outcome: 'failure' }))).toBe(true);
    expect(fires({ outcome: 'failure' }, makeEvent({ outcome: 'success' }))).toBe(false);
    expect(fires({ outcome: ['failure', 'unknown'] }, makeEvent({ outcome: 'unknown' }))).toBe(
      true,
    );
  });

  it('matches changed fields, exact, glob and nested', () => {
    const phone = withChanges({ phone: '1', name: 'a' }, { phone: '2', name: 'a' });
    expect(fires({ changed: ['phone'] }, phone)).toBe(true);
    expect(fires({ changed: ['name'] }, phone)).toBe(false);
    const mfa = withChanges(
      { mfa: { phone: '1', enabled: true } },
      { mfa: { phone: '2', enabled: true } },
    );
    expect(fires({ changed: ['mfa.phone'] }, mfa)).toBe(true);
    expect(fires({ changed: ['mfa.*'] }, mfa)).toBe(true);
    expect(fires({ changed: ['mfa.enabled'] }, mfa)).toBe(false);
    expect(fires({ changed: ['*.phone'] }, mfa)).toBe(true);
    expect(fires({ changed: ['**.phone'] }, mfa)).toBe(true);
    expect(fires({ changed: ['phone'] }, mfa)).toBe(false);
    expect(fires({ changed: ['{email,mfa.phone}'] }, mfa)).toBe(true);
  });

  it('counts a change inside an object as a change of the object (`mfa` covers `mfa.phone`)', () => {
    const deep = withChanges(
      { mfa: { phone: { number: '1' } } },
      { mfa: { phone: { number: '2' } } },
    );
    expect(fires({ changed: ['mfa'] }, deep)).toBe(true);
    expect(fires({ changed: ['mfa.phone'] }, deep)).toBe(true);
    expect(fires({ changed: ['mfa.*'] }, deep)).toBe(true);
    expect(fires({ changed: ['mfa.email'] }, deep)).toBe(false);
  });

  it('sees fields inside an object added, removed or replaced as a whole', () => {
    const added = withChanges({ name: 'a' }, { name: 'a', mfa: { phone: '2' } });
    expect(added.changes?.diff).toEqual([{ path: ['mfa'], op: 'added', after: { phone: '2' } }]);
    expect(fires({ changed: ['mfa.phone'] }, added)).toBe(true);
    const removed = withChanges({ mfa: { phone: '2' } }, {});
    expect(fires({ changed: ['mfa.phone'] }, removed)).toBe(true);
    const replaced = withChanges({ mfa: null }, { mfa: { backup: { phone: '1' } } });
    expect(fires({ changed: ['mfa.**.phone'] }, replaced)).toBe(true);
    expect(fires({ changed: ['mfa.email'] }, replaced)).toBe(false);
  });

  it('matches a redacted field by name (its values are redacted, not its path)', () => {
    const event = makeEvent({
      changes: {
        diff: [{ path: ['mfa', 'phone'], op: 'changed', before: REDACTED, after: REDACTED }],
        fields: ['mfa.phone'],
      },
    });
    expect(fires({ changed: ['mfa.phone'] }, event)).toBe(true);
  });

  it('ignores the marker of a cut diff and uses `fields` of a hand-made event without diff', () => {
    const cut = makeEvent({ changes: { diff: [diffTruncationEntry([])], fields: [] } });
    expect(fires({ changed: ['*'] }, cut)).toBe(false);
    expect(fires({ changed: ['$audit'] }, cut)).toBe(false);
    const handMade = makeEvent({ changes: { diff: [], fields: ['mfa.phone'] } });
    expect(fires({ changed: ['mfa'] }, handMade)).toBe(true);
    expect(fires({ changed: ['phone'] }, makeEvent())).toBe(false);
  });

  it('matches actor roles (any of them)', () => {
    const admin = makeEvent({
      actor: { type: 'user', id: 'u', roles: ['support', 'admin'], authenticated: true },
    });
    expect(fires({ actorRoles: ['admin'] }, admin)).toBe(true);
    expect(fires({ actorRoles: ['owner', 'support'] }, admin)).toBe(true);
    expect(fires({ actorRoles: ['owner'] }, admin)).toBe(false);
    expect(fires({ actorRoles: ['admin'] }, makeEvent())).toBe(false);
  });

  it('matches labels (every one given)', () => {
    const event = makeEvent({ labels: { region: 'eu', tier: 'gold' } });
    expect(fires({ labels: { region: 'eu' } }, event)).toBe(true);
    expect(fires({ labels: { region: 'eu', tier: 'gold' } }, event)).toBe(true);
    expect(fires({ labels: { region: 'eu', tier: 'free' } }, event)).toBe(false);
    expect(fires({ labels: { region: 'eu' } }, makeEvent())).toBe(false);
    expect(fires({ labels: { toString: 'x' } }, makeEvent({ labels: {} }))).toBe(false);
  });

  it('matches with `when`, a truthy result meaning a match', () => {
    expect(fires({ when: (e: AuditEvent) => e.target?.id === '42' }, makeEvent())).toBe(true);
    expect(fires({ when: (e: AuditEvent) => e.target?.id === '43' }, makeEvent())).toBe(false);
  });

  it('combines every condition with AND', () => {
    const fields = {
      action: 'user.*',
      resourceType: 'user',
      outcome: 'success',
      changed: ['phone'],
      actorRoles: ['admin'],
      labels: { region: 'eu' },
      when: () => true,
    };
    const base = {
      actor: { type: 'user' as const, id: 'u', roles: ['admin'], authenticated: true },
      labels: { region: 'eu' },
    };
    expect(fires(fields, withChanges({ phone: '1' }, { phone: '2' }, base))).toBe(true);
    expect(
      fires(fields, withChanges({ phone: '1' }, { phone: '2' }, { ...base, outcome: 'failure' })),
    ).toBe(false);
    expect(
      fires(fields, withChanges({ phone: '1' }, { phone: '2' }, { ...base, labels: {} })),
    ).toBe(false);
    expect(
      fires({ ...fields, when: () => false }, withChanges({ phone: '1' }, { phone: '2' }, base)),
    ).toBe(false);
  });

  describe('transition', () => {
    const approvedToVoid = withChanges(
      { status: 'approved', total: 5 },
      { status: 'void', total: 5 },
    );

    it('matches a field going from one value to another', () => {
      expect(
        fires({ transition: { field: 'status', from: 'approved', to: 'void' } }, approvedToVoid),
      ).toBe(true);
      expect(
        fires({ transition: { field: 'status', from: 'draft', to: 'void' } }, approvedToVoid),
      ).toBe(false);
      expect(
        fires({ transition: { field: 'status', from: 'approved', to: 'paid' } }, approvedToVoid),
      ).toBe(false);
      expect(fires({ transition: { field: 'total', to: 'void' } }, approvedToVoid)).toBe(false);
    });

    it('accepts lists and an open side', () => {
      expect(
        fires({ transition: { field: 'status', to: ['void', 'cancelled'] } }, approvedToVoid),
      ).toBe(true);
      expect(
        fires({ transition: { field: 'status', from: ['approved', 'sent'] } }, approvedToVoid),
      ).toBe(true);
    });

    it('reads nested fields, also inside an object replaced as a whole', () => {
      const nested = withChanges(
        { billing: { state: 'approved' } },
        { billing: { state: 'void' } },
      );
      expect(
        fires({ transition: { field: 'billing.state', from: 'approved', to: 'void' } }, nested),
      ).toBe(true);
      const whole = withChanges({ billing: null }, { billing: { state: 'void' } });
      expect(fires({ transition: { field: 'billing.state', to: 'void' } }, whole)).toBe(true);
      expect(fires({ transition: { field: 'billing.state', from: 'approved' } }, whole)).toBe(
        false,
      );
    });

    it('compares strictly, and a redacted value never matches', () => {
      const numeric = withChanges({ level: 1 }, { level: 2 });
      expect(fires({ transition: { field: 'level', from: 1, to: 2 } }, numeric)).toBe(true);
      expect(fires({ transition: { field: 'level', from: '1', to: '2' } }, numeric)).toBe(false);
      const redacted = makeEvent({
        changes: {
          diff: [{ path: ['status'], op: 'changed', before: REDACTED, after: REDACTED }],
          fields: ['status'],
        },
      });
      expect(fires({ transition: { field: 'status', to: 'void' } }, redacted)).toBe(false);
    });

    it('does not match an unrelated change or an event without changes', () => {
      expect(
        fires({ transition: { field: 'status', to: 'void' } }, withChanges({ a: 1 }, { a: 2 })),
      ).toBe(false);
      expect(fires({ transition: { field: 'status', to: 'void' } }, makeEvent())).toBe(false);
    });
  });
});
