import { makeEvent } from '../../test/fixtures/events';
import type { AuditEvent } from '../event/audit-event';
import { diffTruncationEntry } from '../event/diff';
import { REDACTED } from '../event/redact';
import { ALARM_EVENT_PATHS } from './alarm-event-paths';
import {
  ALARM_TEMPLATE_FIELDS,
  AlarmTemplateError,
  MAX_TITLE_CHARS,
  THRESHOLD_TEMPLATE_FIELDS,
  parseAlarmTemplate,
  type AlarmTemplateContext,
} from './alarm-template';
import {
  MAX_VALUE_CHARS,
  describeDuration,
  describeTime,
  renderValue,
} from './alarm-template-values';

const full: AuditEvent = makeEvent({
  id: '01900000-0000-7000-8000-000000000001',
  timestamp: '2026-11-22T10:02:13.456Z',
  action: 'user.update',
  outcome: 'failure',
  level: 'warn',
  message: 'Phone changed',
  tenant: 'acme',
  durationMs: 42,
  actor: {
    type: 'user',
    id: 'u-1',
    name: 'Ada',
    email: 'ada@acme.test',
    roles: ['admin', 'support'],
    authenticated: true,
  },
  target: { type: 'user', id: '42' },
  source: { ip: '10.0.0.7', userAgent: 'curl/8' },
  request: {
    method: 'PATCH',
    path: '/users/42',
    route: '/users/:id',
    id: 'req-1',
    traceId: 'trace-1',
  },
  response: { statusCode: 409 },
  error: { type: 'ConflictException', message: 'Version mismatch' },
  labels: { region: 'eu', 'app.tier': 'gold' },
  changes: {
    before: {},
    after: {},
    diff: [
      { path: ['mfa', 'enabled'], op: 'changed', before: false, after: true },
      { path: ['nickname'], op: 'added', after: 'Ace' },
      { path: ['phone'], op: 'changed', before: '+1 555 0100', after: '+1 555 0199' },
      { path: ['fax'], op: 'removed', before: '0100' },
    ],
    fields: ['mfa.enabled', 'nickname', 'phone', 'fax'],
  },
});

function context(event: AuditEvent | undefined, extra: Partial<AlarmTemplateContext> = {}) {
  return {
    event,
    rule: 'mfa-phone',
    severity: 'high',
    service: 'billing',
    count: 1,
    ...extra,
  } as const;
}

function render(template: string, event: AuditEvent | undefined = full, extra = {}) {
  return parseAlarmTemplate(template, { multiline: true, threshold: true }).render(
    context(event, extra),
  );
}

describe('parseAlarmTemplate', () => {
  it.each([
    ['id', '01900000-0000-7000-8000-000000000001'],
    ['timestamp', '2026-11-22T10:02:13.456Z'],
    ['action', 'user.update'],
    ['outcome', 'failure'],
    ['level', 'warn'],
    ['message', 'Phone changed'],
    ['tenant', 'acme'],
    ['durationMs', '42'],
    ['actor.id', 'u-1'],
    ['actor.name', 'Ada'],
    ['actor.email', 'ada@acme.test'],
    ['actor.type', 'user'],
    ['actor.roles', 'admin, support'],
    ['target.type', 'user'],
    ['target.id', '42'],
    ['source.ip', '10.0.0.7'],
    ['source.userAgent', 'curl/8'],
    ['request.method', 'PATCH'],
    ['request.path', '/users/42'],
    ['request.route', '/users/:id'],
    ['request.id', 'req-1'],
    ['request.traceId', 'trace-1'],
    ['response.statusCode', '409'],
    ['error.type', 'ConflictException'],
    ['error.message', 'Version mismatch'],
    ['labels.region', 'eu'],
    ['labels.app.tier', 'gold'],
    [
      'changes',
      'mfa.enabled: false → true; nickname: added Ace; phone: +1 555 0100 → +1 555 0199; fax: removed (was 0100)',
    ],
    ['changed', 'mfa.enabled, nickname, phone, fax'],
    ['rule', 'mfa-phone'],
    ['severity', 'high'],
    ['service', 'billing'],
    ['count', '1'],
  ])('renders {%s}', (field, expected) => {
    expect(render(`{${field}}`)).toBe(expected);
  });

  it('covers every documented field in the table above', () => {
    // Keeps the list of known fields and this spec in step.
    expect(ALARM_TEMPLATE_FIELDS).toEqual(
      expect.arrayContaining([...ALARM_EVENT_PATHS, 'changes', 'changed', 'rule', 'severity']),
    );
    expect(ALARM_TEMPLATE_FIELDS).toHaveLength(ALARM_EVENT_PATHS.length + 6);
  });

  it('renders the threshold fields {window} and {group}', () => {
    expect(
      render('{count} logins from {group} within {window}', full, {
        count: 6,
        window: '1 minute',
        group: '10.0.0.7',
      }),
    ).toBe('6 logins from 10.0.0.7 within 1 minute');
  });

  it('mixes literal text and fields', () => {
    expect(render('{actor.email} changed {target.type} {target.id}: {changes}')).toBe(
      'ada@acme.test changed user 42: mfa.enabled: false → true; nickname: added Ace; phone: +1 555 0100 → +1 555 0199; fax: removed (was 0100)',
    );
  });

  it('turns {{ and }} into literal braces', () => {
    expect(render('{{literal}} {{{actor.id}}} }}{{')).toBe('{literal} {u-1} }{');
  });

  it('accepts spaces inside the braces', () => {
    expect(render('{ actor.id }')).toBe('u-1');
  });

  it('renders a missing value as an em dash', () => {
    const bare = makeEvent({ actor: { type: 'anonymous', authenticated: false } });
    delete (bare as { target?: unknown }).target;
    expect(
      render(
        '{actor.name} ({actor.id}) on {target.type} {target.id} {labels.region} {changes} {changed} {source.ip}',
        bare,
      ),
    ).toBe('— (—) on — — — — — —');
    expect(
      render(
        '{actor.roles}',
        makeEvent({ actor: { type: 'user', roles: [], authenticated: true } }),
      ),
    ).toBe('—');
    expect(render('{message}', makeEvent({ message: '' }))).toBe('—');
  });

  it('renders event fields as missing when there is no event (manual alarms)', () => {
    expect(parseAlarmTemplate('{rule} {action} {count}').render(context(undefined))).toBe(
      'mfa-phone — 1',
    );
  });

  it('keeps redacted values redacted', () => {
    const event = makeEvent({
      actor: { type: 'user', id: 'u-1', email: REDACTED, authenticated: true },
      labels: { secret: REDACTED },
      changes: {
        diff: [
          { path: ['mfa', 'phone'], op: 'changed', before: REDACTED, after: REDACTED },
          { path: ['password'], op: 'added', after: REDACTED },
          {
            path: ['profile'],
            op: 'changed',
            before: { pin: REDACTED },
            after: { pin: REDACTED, a: 1 },
          },
        ],
        fields: ['mfa.phone', 'password', 'profile'],
      },
    });
    expect(render('{actor.email} {labels.secret}', event)).toBe('[REDACTED] [REDACTED]');
    expect(render('{changes}', event)).toBe(
      'mfa.phone: [REDACTED] → [REDACTED]; password: added [REDACTED]; profile: {"pin":"[REDACTED]"} → {"pin":"[REDACTED]","a":1}',
    );
  });

  it('removes control characters and bidirectional overrides from values, keeping one line', () => {
    const event = makeEvent({
      actor: {
        type: 'user',
        name: 'Eve\r\nBcc: x@y\u0000\u001b[31m\u202eevil\u2066',
        authenticated: true,
      },
      target: { type: 'user', id: 'a\tb\u2028c' },
    });
    expect(render('{actor.name}|{target.id}', event)).toBe('Eve Bcc: x@y[31mevil|a b c');
  });

  it('cuts long values at 200 characters with an ellipsis', () => {
    const event = makeEvent({ message: 'x'.repeat(1000) });
    const out = render('{message}', event);
    expect(out).toHaveLength(MAX_VALUE_CHARS);
    expect(out.endsWith('…')).toBe(true);
    expect(renderValue('😀'.repeat(150))).toHaveLength(MAX_VALUE_CHARS - 1);
    expect(renderValue('😀'.repeat(150)).endsWith('😀…')).toBe(true);
  });

  it('renders objects as compact JSON, cut', () => {
    expect(renderValue({ a: [1, 'x'], b: null })).toBe('{"a":[1,"x"],"b":null}');
    expect(renderValue(null)).toBe('null');
    const big = renderValue({ list: Array.from({ length: 500 }, (_, i) => i) });
    expect(big).toHaveLength(MAX_VALUE_CHARS);
    expect(big.startsWith('{"list":[0,1,2')).toBe(true);
  });

  it('lists at most 10 changes, then "and N more" (including fields cut from the event)', () => {
    const diff = Array.from({ length: 13 }, (_, i) => ({
      path: [`f${String(i).padStart(2, '0')}`],
      op: 'changed' as const,
      before: i,
      after: i + 1,
    }));
    const event = makeEvent({ changes: { diff, fields: diff.map((d) => d.path[0] as string) } });
    const text = render('{changes}', event);
    expect(text.split('; ')).toHaveLength(11);
    expect(text.endsWith('f09: 9 → 10; and 3 more')).toBe(true);
    expect(render('{changed}', event)).toBe(
      'f00, f01, f02, f03, f04, f05, f06, f07, f08, f09, and 3 more',
    );

    const cut = makeEvent({
      changes: {
        diff: [diff[0]!, diffTruncationEntry(diff.slice(1))],
        fields: ['f00'],
      },
    });
    expect(render('{changes}', cut)).toBe('f00: 0 → 1; and 12 more');
    expect(render('{changed}', cut)).toBe('f00, and 12 more');
  });

  it('names a change of the whole value', () => {
    const event = makeEvent({
      changes: { diff: [{ path: [], op: 'changed', before: 1, after: 2 }], fields: [''] },
    });
    expect(render('{changes} / {changed}', event)).toBe('(value): 1 → 2 / (value)');
  });

  it('cuts a rendered title at the title limit', () => {
    const title = parseAlarmTemplate(`${'t'.repeat(250)} {message}`);
    const out = title.render(context(makeEvent({ message: 'm'.repeat(200) })));
    expect(out).toHaveLength(MAX_TITLE_CHARS);
  });

  it('lists the fields it uses', () => {
    expect(parseAlarmTemplate('{actor.id} {changes} {{x}}').fields).toEqual([
      'actor.id',
      'changes',
    ]);
  });

  describe('errors at parse time', () => {
    it.each([
      ['{actor.mail}', /unknown field \{actor\.mail\} at position 1; known fields: id, timestamp/],
      ['a {labels.}', /unknown field \{labels\.\}/],
      ['{labels.a b}', /unknown field/],
      ['x {actor.id', /unclosed "\{" at position 3/],
      ['x {actor.{id}}', /unclosed "\{" at position 3/],
      ['a } b', /lone "\}" at position 3; write "\}\}"/],
      ['a {} b', /empty field "\{\}" at position 3/],
      ['{window}', /exists only in rules with a threshold/],
      ['line\nbreak', /control character U\+000a at position 5; a title must be one line/],
    ])('rejects the title %j', (source, message) => {
      expect(() => parseAlarmTemplate(source)).toThrow(AlarmTemplateError);
      expect(() => parseAlarmTemplate(source)).toThrow(message);
    });

    it('allows line breaks and tabs in message bodies only, and no other controls', () => {
      expect(parseAlarmTemplate('a\n\tb', { multiline: true }).render(context(full))).toBe(
        'a\n\tb',
      );
      expect(() => parseAlarmTemplate('a\u0007b', { multiline: true })).toThrow(
        /U\+0007.*only line breaks and tabs/,
      );
    });

    it('accepts the threshold fields in threshold templates', () => {
      expect(THRESHOLD_TEMPLATE_FIELDS).toEqual(['window', 'group']);
      expect(parseAlarmTemplate('{window} {group}', { threshold: true }).fields).toEqual([
        'window',
        'group',
      ]);
    });

    it('rejects a template that is not a string', () => {
      expect(() => parseAlarmTemplate(5 as unknown as string)).toThrow(/must be a string/);
    });
  });
});

describe('describeDuration / describeTime', () => {
  it.each([
    [60_000, '1 minute'],
    [300_000, '5 minutes'],
    [90_000, '90 seconds'],
    [1_500, '1500 milliseconds'],
    [1, '1 millisecond'],
    [3_600_000, '1 hour'],
    [172_800_000, '2 days'],
    [604_800_000, '1 week'],
  ])('%d ms reads "%s"', (ms, text) => {
    expect(describeDuration(ms)).toBe(text);
  });

  it('formats times as UTC', () => {
    expect(describeTime('2026-11-22T10:02:13.456Z')).toBe('2026-11-22 10:02:13 UTC');
    expect(describeTime('not a date')).toBe('not a date');
  });
});
