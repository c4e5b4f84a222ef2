import { makeEvent } from '../../test/fixtures/events';
import type { AuditEvent } from '../event/audit-event';
import { diffStates } from '../event/diff';
import { manualAlarmEntries } from './manual-alarm';
import { AlarmInputError } from '../common/alarm-input.error';

const CHANNELS = ['security', 'ops'];
const CIRCULAR: Record<string, unknown> = {};
CIRCULAR.self = CIRCULAR;
const T0 = Date.parse('2026-11-22T10:00:00.000Z');

function phoneChange(): AuditEvent {
  const diff = diffStates({ phone: '+1 555 0100' }, { phone: '+1 555 0199' });
  return makeEvent({
    id: '01900000-0000-7000-8000-0000000000aa',
    timestamp: '2026-11-22T10:02:13.456Z',
    actor: { type: 'user', id: 'u-1', name: 'Ada', email: 'ada@acme.test', authenticated: true },
    target: { type: 'user', id: '42' },
    changes: { diff, fields: ['phone'] },
  });
}

describe('manualAlarmEntries', () => {
  const settings = { serviceName: 'billing', channels: CHANNELS, now: T0 };

  it('returns one manual entry per channel with a generated key shared by the channels', () => {
    const entries = manualAlarmEntries(
      {
        title: 'Refund above limit',
        message: 'Refund of 12,000 EUR\nby Ada',
        channels: ['ops', 'security'],
        severity: 'critical',
      },
      settings,
    );
    expect(entries).toHaveLength(2);
    const [ops, security] = entries;
    expect(ops?.dedupKey).toMatch(/^manual:ops:[0-9a-f-]{36}$/);
    expect(security?.dedupKey).toBe(ops?.dedupKey.replace('manual:ops:', 'manual:security:'));
    expect(ops).toMatchObject({
      rule: 'manual',
      channel: 'ops',
      kind: 'manual',
      severity: 'critical',
      createdAt: new Date(T0).toISOString(),
    });
    expect(ops?.eventId).toBeUndefined();
    expect(ops?.message).toEqual({
      id: ops?.dedupKey,
      rule: 'manual',
      channel: 'ops',
      kind: 'manual',
      severity: 'critical',
      title: 'Refund above limit',
      text: 'Refund of 12,000 EUR\nby Ada',
      count: 1,
      events: [],
      firstAt: new Date(T0).toISOString(),
      lastAt: new Date(T0).toISOString(),
      service: 'billing',
    });
    expect(manualAlarmEntries({ title: 'x', channels: ['ops'] }, settings)[0]?.dedupKey).not.toBe(
      ops?.dedupKey,
    );
  });

  it('uses the given dedup key and rule, lists the event and links to it', () => {
    const event = phoneChange();
    const [entry] = manualAlarmEntries(
      { title: 'Check this', channels: ['ops'], dedupKey: 'refund-4711', rule: 'refunds', event },
      { ...settings, viewerUrl: 'https://admin.acme.test/audit/' },
    );
    expect(entry?.dedupKey).toBe('manual:ops:refund-4711');
    expect(entry?.rule).toBe('refunds');
    expect(entry?.eventId).toBe(event.id);
    expect(entry?.message.text).toBe('Check this');
    expect(entry?.message.firstAt).toBe(event.timestamp);
    expect(entry?.message.events[0]?.text).toBe(
      'Ada (u-1) did user.update on user 42: phone: +1 555 0100 → +1 555 0199',
    );
    expect(entry?.message.url).toBe(`https://admin.acme.test/audit/view/events/${event.id}`);
  });

  it('cleans control characters from the title and message', () => {
    const [entry] = manualAlarmEntries(
      { title: ' A\r\nB\u0007 ', message: 'x\u202e\ny\u0000', channels: ['ops'] },
      settings,
    );
    expect(entry?.message.title).toBe('A B');
    expect(entry?.message.text).toBe('x\ny');
  });

  it.each([
    [null, /expects an object/],
    [{ channels: ['ops'] }, /"title" must be a non-empty string/],
    [{ title: ' ', channels: ['ops'] }, /"title" must be a non-empty string/],
    [
      { title: 'x', channels: [] },
      /"channels" must list at least one channel; known channels: security, ops/,
    ],
    [{ title: 'x', channels: ['sec'] }, /unknown channel "sec"; known channels: security, ops/],
    [
      { title: 'x', channels: ['ops'], severity: 'urgent' },
      /"severity" must be one of info, low, medium, high, critical/,
    ],
    [{ title: 'x', channels: ['ops'], message: 5 }, /"message" must be a string/],
    [{ title: 'x', channels: ['ops'], rule: 'a rule' }, /"rule" must be 1-100 letters/],
    [
      { title: 'x', channels: ['ops'], dedupKey: '' },
      /"dedupKey" must be a string of 1-200 characters/,
    ],
    [{ title: 'x', channels: ['ops'], dedupKey: 'a\nb' }, /"dedupKey"/],
    [{ title: 'x', channels: ['ops'], event: { id: 1 } }, /"event" must be a recorded AuditEvent/],
    [{ title: 'x', channels: ['ops'], chanels: ['ops'] }, /"chanels" is not a field/],
  ])('rejects %j', (input, message) => {
    let thrown: unknown;
    try {
      manualAlarmEntries(input as never, settings);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AlarmInputError);
    expect(thrown).toMatchObject({ code: 'AUDIT_ALARM_INPUT_INVALID' });
    expect((thrown as Error).message).toMatch(/^AuditService.alarm\(\): /);
    expect((thrown as Error).message).toMatch(message);
  });

  // Values JSON cannot write are described, not handed to JSON.stringify (which throws).
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a BigInt severity', { severity: 1n }, /"severity" must be one of .* \(got 1n\)/],
    [
      'a circular severity',
      { severity: CIRCULAR },
      /"severity" must be one of .* \(got an object with keys \["self"\]\)/,
    ],
    ['a BigInt channel', { channels: [1n] }, /unknown channel 1n; known channels/],
    ['a BigInt rule', { rule: 1n }, /"rule" must be 1-100 letters.* \(got 1n\)/],
  ])('refuses %s with an AlarmInputError naming the field', (_label, fields, message) => {
    let thrown: unknown;
    try {
      manualAlarmEntries({ title: 'x', channels: ['ops'], ...fields }, settings);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AlarmInputError);
    expect((thrown as Error).message).toMatch(message);
  });
});
