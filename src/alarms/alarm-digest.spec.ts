import fc from 'fast-check';
import { makeEvent } from '../../test/fixtures/events';
import { diffStates } from '../event/diff';
import { foldDigest } from './alarm-digest';
import type { AlarmOutboxEntry } from '../stores/alarm-outbox-model';
import { compileAlarmRules } from './alarm-rule';
import { AlarmEngine } from './alarm-engine';
import { AuditInternalError } from '../common/audit-internal.error';

const T0 = Date.parse('2026-11-22T10:02:00.000Z');

function throttledEngine(title = 'MFA phone changed', viewerUrl?: string): AlarmEngine {
  return new AlarmEngine(
    compileAlarmRules(
      [
        {
          name: 'mfa-phone',
          action: 'user.update',
          changed: ['phone'],
          channels: ['security'],
          title,
          message: '{actor.name} changed the phone of {target.type} {target.id}',
          throttle: '10m',
        },
      ],
      ['security'],
      { serviceName: 'billing', ...(viewerUrl === undefined ? {} : { viewerUrl }) },
    ),
  );
}

function phoneEvents(n: number, action = 'user.update') {
  const diff = diffStates({ phone: '1' }, { phone: '2' });
  return Array.from({ length: n }, (_, i) =>
    makeEvent({
      action,
      timestamp: new Date(T0 + i * 1_000).toISOString(),
      target: { type: 'user', id: String(i) },
      changes: { diff, fields: ['phone'] },
    }),
  );
}

function entriesFor(n: number, engine = throttledEngine()): AlarmOutboxEntry[] {
  return phoneEvents(n).flatMap((event) => engine.evaluate(event, T0));
}

describe('foldDigest', () => {
  it('returns the single entry’s own message unchanged', () => {
    const [entry] = entriesFor(1);
    expect(foldDigest([entry!], 1, { digestListSize: 10 })).toBe(entry?.message);
  });

  it('folds several entries into one digest that counts them all and lists the first ones', () => {
    const entries = entriesFor(37);
    const digest = foldDigest(entries, 37, { digestListSize: 10 });
    expect(digest).toMatchObject({
      id: `mfa-phone:security:${entries[0]?.dedupKey}`,
      rule: 'mfa-phone',
      channel: 'security',
      kind: 'digest',
      severity: 'medium',
      title: 'MFA phone changed (37 times)',
      count: 37,
      firstAt: new Date(T0).toISOString(),
      lastAt: new Date(T0 + 36_000).toISOString(),
      service: 'billing',
    });
    expect(digest.events).toHaveLength(10);
    expect(digest.events.map((e) => e.target?.id)).toEqual([
      '0',
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
      '8',
      '9',
    ]);
    const lines = digest.text.split('\n');
    expect(lines[0]).toBe(
      '37 events between 2026-11-22 10:02:00 UTC and 2026-11-22 10:02:36 UTC; the first 10:',
    );
    expect(lines[1]).toBe('- 2026-11-22 10:02:00 UTC: Ada changed the phone of user 0');
    expect(lines).toHaveLength(11);
    expect(digest.url).toBeUndefined();
  });

  it('is stable for the same members (same id on a retry)', () => {
    const entries = entriesFor(3);
    expect(foldDigest(entries, 3, { digestListSize: 10 })).toEqual(
      foldDigest(entries, 3, { digestListSize: 10 }),
    );
  });

  it('lists everything when it fits, and counts members it was not given', () => {
    const entries = entriesFor(3);
    const whole = foldDigest(entries, 3, { digestListSize: 10 });
    expect(whole.text.split('\n')[0]).toBe(
      '3 events between 2026-11-22 10:02:00 UTC and 2026-11-22 10:02:02 UTC:',
    );
    const partial = foldDigest(entries.slice(0, 1), 500, { digestListSize: 10 });
    expect(partial.kind).toBe('digest');
    expect(partial.count).toBe(500);
    expect(partial.title).toBe('MFA phone changed (500 times)');
    expect(partial.text.split('\n')[0]).toMatch(/^500 events between .*; the first 1:$/);
  });

  it('never counts fewer than its entries stand for', () => {
    expect(foldDigest(entriesFor(4), 2, { digestListSize: 10 }).count).toBe(4);
  });

  it('uses the rule name when the titles differ', () => {
    const entries = entriesFor(2, throttledEngine('Phone changed for user {target.id}'));
    expect(foldDigest(entries, 2, { digestListSize: 10 }).title).toBe('mfa-phone (2 times)');
  });

  it('orders firstAt/lastAt across members whatever their order, and keeps the highest severity', () => {
    const entries = entriesFor(3);
    const shuffled = [entries[2]!, { ...entries[0]!, severity: 'critical' as const }, entries[1]!];
    const digest = foldDigest(shuffled, 3, { digestListSize: 10 });
    expect(digest.firstAt).toBe(new Date(T0).toISOString());
    expect(digest.lastAt).toBe(new Date(T0 + 2_000).toISOString());
    expect(digest.severity).toBe('critical');
    expect(digest.events.map((e) => e.target?.id)).toEqual(['2', '0', '1']);
    expect(digest.id).toBe(`mfa-phone:security:${entries[2]?.dedupKey}`);
  });

  it('folds threshold members by their counts', () => {
    const entries = entriesFor(2).map((entry, i) => ({
      ...entry,
      message: { ...entry.message, count: i + 5 },
    }));
    expect(foldDigest(entries, 11, { digestListSize: 10 }).count).toBe(11);
  });

  it('links to the viewer list filtered to its period and action', () => {
    const viewerUrl = 'https://admin.acme.test/audit/';
    const digest = foldDigest(entriesFor(3, throttledEngine(undefined, viewerUrl)), 3, {
      digestListSize: 10,
      viewerUrl,
    });
    const url = new URL(digest.url ?? '');
    expect(`${url.origin}${url.pathname}`).toBe(viewerUrl);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      action: 'user.update',
      from: new Date(T0).toISOString(),
      to: new Date(T0 + 2_001).toISOString(),
    });
  });

  it('leaves the action out of the link when members differ', () => {
    const engine = new AlarmEngine(
      compileAlarmRules([{ name: 'all', channels: ['ops'], throttle: '1m' }], ['ops'], {
        serviceName: 's',
      }),
    );
    const entries = [...phoneEvents(1, 'user.update'), ...phoneEvents(1, 'user.delete')].flatMap(
      (e) => engine.evaluate(e, T0),
    );
    const digest = foldDigest(entries, 2, { digestListSize: 10, viewerUrl: 'https://x.test/' });
    expect(new URL(digest.url ?? '').searchParams.has('action')).toBe(false);
  });

  it('refuses an empty list', () => {
    expect(() => foldDigest([], 0, { digestListSize: 10 })).toThrow(AuditInternalError);
  });

  it('10,000 matching events of one throttled rule share one digest key and fold to a count of 10,000', () => {
    const entries = entriesFor(10_000);
    expect(entries).toHaveLength(10_000);
    expect(new Set(entries.map((e) => e.digestKey))).toEqual(new Set(['mfa-phone:security']));
    expect(new Set(entries.map((e) => e.dedupKey)).size).toBe(10_000);
    const digest = foldDigest(entries, 10_000, { digestListSize: 10 });
    expect(digest.count).toBe(10_000);
    expect(digest.events).toHaveLength(10);
    expect(digest.title).toBe('MFA phone changed (10000 times)');
  });

  it('property: the count is the sum of the member counts, the list is the first ones', () => {
    const pool = entriesFor(20);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: 19 }), fc.integer({ min: 1, max: 1000 })), {
          minLength: 1,
          maxLength: 20,
        }),
        fc.integer({ min: 1, max: 30 }),
        (members, listSize) => {
          const entries = members.map(([i, count]) => {
            const entry = pool[i]!;
            return { ...entry, message: { ...entry.message, count } };
          });
          const total = members.reduce((sum, [, count]) => sum + count, 0);
          const digest = foldDigest(entries, total, { digestListSize: listSize });
          expect(digest.count).toBe(total);
          const expected = entries.flatMap((e) => e.message.events).slice(0, listSize);
          expect(digest.events).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});
