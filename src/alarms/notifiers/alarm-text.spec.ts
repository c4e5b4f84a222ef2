import { REDACTED } from '../../event/redact';
import type { AlarmEventSummary, AlarmMessage } from '../../stores/alarm-message';
import {
  countSummary,
  describeActor,
  describeAction,
  describeChange,
  digestHeader,
  eventLines,
  fieldLabel,
  formatUtc,
  formatUtcSpan,
  severityPrefix,
  showValue,
  truncate,
} from './alarm-text';
import { makeAlarmEvent, makeAlarmMessage } from '../../../test/fixtures/alarm-messages';

function event(overrides: Partial<AlarmEventSummary> = {}): AlarmEventSummary {
  return makeAlarmEvent({ changes: [], ...overrides });
}

function message(overrides: Partial<AlarmMessage> = {}): AlarmMessage {
  return makeAlarmMessage({
    id: 'alarm-1',
    title: 'MFA phone changed',
    events: [event()],
    ...overrides,
  });
}

describe('alarm text', () => {
  it('words changes as field: old → new, with added and removed spelled out', () => {
    expect(
      describeChange({
        field: 'phone',
        op: 'changed',
        before: '+1 555 0100',
        after: '+1 555 0199',
      }),
    ).toBe('Phone: +1 555 0100 → +1 555 0199');
    expect(describeChange({ field: 'mfa.backupPhone', op: 'added', after: '+1 555 0101' })).toBe(
      'Mfa › backup phone: added, now +1 555 0101',
    );
    expect(describeChange({ field: 'email', op: 'removed', before: 'a@b.test' })).toBe(
      'Email: removed (was a@b.test)',
    );
    expect(
      describeChange({ field: 'items.0.unit_price', op: 'changed', before: '1', after: '' }),
    ).toBe('Items #1 › unit price: 1 → (empty)');
  });

  it('shows redacted values as [redacted], never the marker', () => {
    expect(
      describeChange({ field: 'password', op: 'changed', before: REDACTED, after: REDACTED }),
    ).toBe('Password: [redacted] → [redacted]');
    expect(showValue(`{"pin":"${REDACTED}"}`)).toBe('{"pin":"[redacted]"}');
  });

  it('keeps values on one line and short', () => {
    expect(showValue('a\r\nb')).toBe('a b');
    const long = showValue('x'.repeat(1000));
    expect(long).toHaveLength(300);
    expect(long.endsWith('…')).toBe(true);
  });

  it('truncates without splitting a surrogate pair', () => {
    expect(truncate('abc', 3)).toBe('abc');
    expect(truncate('abcd', 3)).toBe('ab…');
    // "a😀b": cutting at 3 would keep half of the emoji.
    expect(truncate('a\u{1F600}bcd', 3)).toBe('a…');
  });

  it('formats times in UTC with the zone spelled out', () => {
    expect(formatUtc('2026-03-14T11:02:05.120+01:00')).toBe('2026-03-14 10:02:05 UTC');
    expect(formatUtc('not a date')).toBe('not a date');
    expect(formatUtcSpan('2026-03-14T10:02:00Z', '2026-03-14T10:11:59Z')).toBe(
      'between 10:02 and 10:11 UTC',
    );
    expect(formatUtcSpan('2026-03-14T23:58:00Z', '2026-03-15T00:03:00Z')).toBe(
      'between 2026-03-14 23:58 and 2026-03-15 00:03 UTC',
    );
  });

  it('describes actors and actions for people', () => {
    expect(describeActor({ type: 'user', id: '7', name: 'Ada', email: 'ada@acme.test' })).toBe(
      'Ada <ada@acme.test> (id 7)',
    );
    expect(describeActor({ type: 'user', id: '7' })).toBe('User 7');
    expect(describeActor({ type: 'service', name: 'billing-worker' })).toBe(
      'Service billing-worker',
    );
    expect(describeActor({ type: 'anonymous' })).toBe('Anonymous');
    expect(describeAction(event({ outcome: 'failure' }))).toBe('user.update on user 42 (failed)');
    expect(describeAction(event({ target: undefined }))).toBe('user.update');
  });

  it('prefixes only high and critical severities', () => {
    expect(severityPrefix('critical')).toBe('[CRITICAL] ');
    expect(severityPrefix('high')).toBe('[HIGH] ');
    expect(severityPrefix('medium')).toBe('');
  });

  it('heads a digest with the count, the span and how many are listed', () => {
    const events = Array.from({ length: 10 }, (_, i) =>
      event({ id: `e${i}`, timestamp: `2026-03-14T10:0${i}:00Z` }),
    );
    const digest = message({
      kind: 'digest',
      count: 37,
      events,
      firstAt: '2026-03-14T10:02:00Z',
      lastAt: '2026-03-14T10:11:00Z',
    });
    expect(digestHeader(digest)).toBe('37 events between 10:02 and 10:11 UTC; the first 10:');
    expect(countSummary(digest)).toBe('37 events, first 10 listed');
    const all = message({ kind: 'digest', count: 2, events: events.slice(0, 2) });
    expect(countSummary(all)).toBe('2 events');
    expect(digestHeader(all)).toBe('2 events at 2026-03-14 10:02:05 UTC:');
    expect(digestHeader(message())).toBeUndefined();
    expect(countSummary(message())).toBeUndefined();
  });

  it('does not repeat the event text when it is the message text', () => {
    expect(eventLines(message())[0]?.text).toBeUndefined();
    const other = eventLines(message({ text: 'Something else' }))[0];
    expect(other?.text).toBe('Ada changed user 42');
    expect(other?.who).toBe('Ada Lovelace <ada@acme.test> (id 7)');
  });

  it('labels nested and camelCase fields readably', () => {
    expect(fieldLabel('phoneNumber')).toBe('Phone number');
    expect(fieldLabel('mfa.phone')).toBe('Mfa › phone');
  });
});
