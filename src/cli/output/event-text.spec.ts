import { makeEvent } from '../../../test/fixtures/events';
import { diffTruncationEntry } from '../../event/diff';
import { REDACTED } from '../../event/redact';
import { truncatedMarker } from '../../event/serialize';
import {
  actorLabel,
  diffLines,
  eventDetails,
  eventRow,
  targetLabel,
  valueText,
} from './event-text';
import { painter } from './terminal';

const plain = painter(false);

describe('event text', () => {
  it('names actors and targets briefly', () => {
    expect(actorLabel({ type: 'user', id: 'u-1', name: 'Ada', authenticated: true })).toBe(
      'Ada (u-1)',
    );
    expect(actorLabel({ type: 'user', id: 'u-1', authenticated: true })).toBe('u-1');
    expect(actorLabel({ type: 'user', email: 'a@x.io', authenticated: true })).toBe('a@x.io');
    expect(actorLabel({ type: 'anonymous', authenticated: false })).toBe('anonymous');
    expect(targetLabel({ type: 'user', id: '42' })).toBe('user:42');
    expect(targetLabel({ type: 'report' })).toBe('report');
    expect(targetLabel(undefined)).toBe('');
  });

  it('shows values as JSON, the redaction marker as stored, size markers spelled out', () => {
    expect(valueText('Alice')).toBe('"Alice"');
    expect(valueText(REDACTED)).toBe('[REDACTED]');
    expect(valueText({ a: [1, null] })).toBe('{"a":[1,null]}');
    expect(valueText(truncatedMarker('x'.repeat(10)))).toMatch(
      /^\[too large, not stored: 10 bytes, sha256 [0-9a-f]{12}…\]$/,
    );
    expect(valueText(undefined)).toBe('(absent)');
  });

  it('lays out a diff with ~, + and -, and the entries left out of a cut diff', () => {
    const lines = diffLines(
      [
        { path: ['mfa', 'phone'], op: 'changed', before: '+1', after: REDACTED },
        { path: ['tags'], op: 'added', after: ['vip'] },
        { path: ['nickname'], op: 'removed', before: 'Al' },
        { path: [], op: 'changed', before: 1, after: 2 },
        diffTruncationEntry([
          { path: ['a'], op: 'added', after: 1 },
          { path: ['b'], op: 'added', after: 2 },
        ]),
      ],
      plain,
    );
    expect(lines).toEqual([
      '  ~ mfa.phone: "+1" → [REDACTED]',
      '  + tags: ["vip"]',
      '  - nickname: "Al"',
      '  ~ (whole value): 1 → 2',
      expect.stringMatching(/^ {2}… 2 more changes not stored \(\d+ bytes\)$/),
    ]);
  });

  it('escapes control characters in field names and values', () => {
    const [line] = diffLines([{ path: ['a\u001bb'], op: 'added', after: 'x\u009by' }], plain);
    expect(line).toBe('  + a\\u001bb: "x\\u009by"');
  });

  it('gives the cells of the event table', () => {
    const event = makeEvent({
      timestamp: '2026-03-01T10:00:00.123Z',
      changes: { diff: [], fields: ['phone', ''] },
    });
    expect(eventRow(event)).toEqual([
      '2026-03-01T10:00:00Z',
      'Ada (u-1)',
      'user.update',
      'user:42',
      'success',
      'phone, (whole value)',
      event.id,
    ]);
  });

  it('lays out an event without changes or request facts', () => {
    const event = makeEvent({ timestamp: '2026-03-01T10:00:00.000Z' });
    const text = eventDetails(event, plain);
    expect(text).toBe(
      [
        `id       ${event.id}`,
        'time     2026-03-01T10:00:00.000Z',
        'action   user.update · category iam · type change, user',
        'outcome  success · level info',
        'actor    Ada (u-1) · user, authenticated',
        'target   user:42',
        '',
      ].join('\n'),
    );
  });

  it('says the changes of a failed change are unknown, and counts fields cut from the list', () => {
    const unknown = makeEvent({
      changes: {
        diff: [],
        fields: [],
        count: 0,
        unavailable: 'the after-state could not be loaded',
      },
    });
    expect(eventDetails(unknown, plain)).toContain(
      'changes  unknown (the after-state could not be loaded)',
    );
    const cut = makeEvent({
      changes: { diff: [], fields: ['a'], count: 6001, fieldsTruncated: true },
    });
    expect(eventDetails(cut, plain)).toContain('changes  6001 fields');
  });
});
