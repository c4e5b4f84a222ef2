import { makeEvent } from '../../test/fixtures/events';
import type { AlarmRule } from './alarm-options';
import type { AlarmOutboxEntry } from '../stores/alarm-outbox-model';
import { compileAlarmRules } from './alarm-rule';
import { AlarmEngine } from './alarm-engine';
import { DEFAULT_MAX_OPEN_WINDOWS } from './threshold-windows';

const T0 = Date.parse('2026-11-22T10:00:00.000Z');
const MINUTE = 60_000;

/** The attack's rule: 5 failed logins per source address within a minute. */
const LOGINS: AlarmRule = {
  name: 'login-failures',
  action: 'auth.login',
  outcome: 'failure',
  channels: ['security', 'ops'],
  severity: 'medium',
  threshold: { count: 5, window: '1m', groupBy: 'source.ip' },
};

function engine(maxOpenWindowsPerRule?: number, rule: AlarmRule = LOGINS): AlarmEngine {
  const compiled = compileAlarmRules([rule], ['security', 'ops'], { serviceName: 'shop' });
  return new AlarmEngine(
    compiled,
    maxOpenWindowsPerRule === undefined ? {} : { maxOpenWindowsPerRule },
  );
}

/** Runs failed logins from `ips` at `now` (time passed explicitly) and returns every entry. */
function fail(rules: AlarmEngine, ips: readonly string[], now: number): AlarmOutboxEntry[] {
  const out: AlarmOutboxEntry[] = [];
  for (const ip of ips) {
    const event = makeEvent({
      timestamp: new Date(now).toISOString(),
      action: 'auth.login',
      outcome: 'failure',
      source: { ip },
    });
    out.push(...rules.evaluate(event, now));
  }
  return out;
}

function times<T>(n: number, value: T): T[] {
  return Array.from({ length: n }, () => value);
}

/** `n` distinct addresses of one IPv6 /64. */
function spray(n: number, from = 0): string[] {
  return Array.from({ length: n }, (_, i) => `2001:db8:0:1::${(from + i).toString(16)}`);
}

const crossed = (entries: AlarmOutboxEntry[]) => entries.filter((e) => e.kind === 'threshold');
const dropped = (entries: AlarmOutboxEntry[]) =>
  entries.filter((e) => e.kind === 'windows-dropped');

describe('threshold windows cannot be evaded', () => {
  it.each([
    ['a small cap (100)', 100, 1_000],
    ['the default cap', undefined, DEFAULT_MAX_OPEN_WINDOWS],
  ])(
    'with %s: 4 failures, a spray of single failures from distinct addresses, 4 more: the threshold fires',
    (_, cap, sprayed) => {
      const rules = engine(cap);
      const entries = [
        ...fail(rules, times(4, '203.0.113.9'), T0),
        ...fail(rules, spray(sprayed), T0 + 1),
        ...fail(rules, times(4, '203.0.113.9'), T0 + 2),
      ];
      expect(crossed(entries).map((e) => [e.channel, e.message.groupKey, e.message.count])).toEqual(
        [
          ['security', '203.0.113.9', 5],
          ['ops', '203.0.113.9', 5],
        ],
      );
      expect(rules.openThresholdWindows()).toBe(cap ?? DEFAULT_MAX_OPEN_WINDOWS);
      // The spray did force drops: the rule says so once (per channel) in this window length.
      const reports = dropped(entries);
      expect(reports.map((e) => e.channel)).toEqual(['security', 'ops']);
      expect(reports[0]?.message).toMatchObject({
        rule: 'login-failures',
        kind: 'windows-dropped',
        severity: 'high',
        title: 'login-failures: 1 open threshold window dropped',
        count: 1,
      });
      expect(reports[0]?.message.text).toContain('The largest had counted 1 of 5 events');
    },
  );

  it('drops the lowest count first, the longest at that count first, and fired windows before any', () => {
    const threshold = { count: 3, window: '1m', groupBy: 'source.ip' };
    const rules = engine(3, { ...LOGINS, threshold });
    fail(rules, ['a', 'a', 'b', 'c'], T0); // a:2, b:1, c:1
    expect(dropped(fail(rules, ['d'], T0))).toHaveLength(2); // drops b: count 1, longer there than c
    expect(crossed(fail(rules, ['a'], T0))).toHaveLength(2); // a kept its 2
    expect(crossed(fail(rules, ['c', 'c'], T0))).toHaveLength(2); // c kept its 1
    fail(rules, ['e', 'f'], T0); // drop a, then c: they fired, nothing is lost
    expect(crossed(fail(rules, ['d', 'd'], T0))).toHaveLength(2); // d kept its 1
    // Only b was a loss, and it was reported when it happened.
    expect(dropped(fail(rules, ['g'], T0 + MINUTE + 1))).toEqual([]);
  });

  it('reports the largest count dropped and the events they had counted', () => {
    const rules = engine(2, {
      ...LOGINS,
      threshold: { count: 3, window: '1m', groupBy: 'source.ip' },
    });
    fail(rules, ['a', 'a', 'b', 'b'], T0);
    const [report] = dropped(fail(rules, ['c'], T0 + 5_000));
    expect(report?.message.text).toBe(
      'Rule login-failures (3 events within 1 minute per source.ip) dropped 1 open window below ' +
        'its threshold between 2026-11-22T10:00:05.000Z and 2026-11-22T10:00:05.000Z, because it ' +
        'keeps at most 2 open windows (alarms.maxOpenWindowsPerRule). The largest had counted 2 ' +
        'of 3 events (2 in all); their next events count from zero, so a threshold may have been ' +
        'missed. Many distinct keys at once may be an attempt to hide from this rule: look at the ' +
        'events of this rule in that time, and raise alarms.maxOpenWindowsPerRule if the traffic ' +
        'is legitimate.',
    );
    expect(report?.dedupKey).toBe(`login-failures:security:windows-dropped:${T0 + 5_000}`);
    expect(report?.severity).toBe('high');
    const critical = engine(1, { ...LOGINS, severity: 'critical' });
    expect(dropped(fail(critical, ['a', 'b'], T0)).map((e) => e.severity)).toEqual([
      'critical',
      'critical',
    ]);
  });

  it('drops windows whose time is over freely, without a report', () => {
    const rules = engine(2);
    fail(rules, ['a', 'a', 'a', 'a', 'b'], T0);
    const entries = fail(rules, ['c', 'd'], T0 + MINUTE);
    expect(dropped(entries)).toEqual([]);
    expect(rules.openThresholdWindows()).toBe(2);
  });

  it('a sustained spray raises one report per window length, and every drop is counted', () => {
    const rules = engine(10);
    const reports: AlarmOutboxEntry[] = [];
    for (let second = 0; second < 600; second += 1) {
      reports.push(...dropped(fail(rules, spray(1, second), T0 + second * 1_000)));
    }
    const security = reports.filter((e) => e.channel === 'security');
    expect(security.map((e) => e.createdAt.slice(11, 19))).toEqual(
      Array.from({ length: 10 }, (_, m) => `10:0${m}:10`),
    );
    // 50 drops a minute (60 addresses, 10 kept); the last 49 wait for the next report.
    const reported = () => security.reduce((sum, e) => sum + e.message.count, 0);
    expect(reported()).toBe(500 - 49);
    security.push(
      ...dropped(fail(rules, ['x'], T0 + 11 * MINUTE)).filter((e) => e.channel === 'security'),
    );
    expect(reported()).toBe(500);
    expect(new Set(security.map((e) => e.dedupKey)).size).toBe(security.length);
  });

  it('counts every key when under the cap: nothing is dropped, nothing reported', () => {
    const rules = engine(1_000);
    const entries = [...fail(rules, spray(999), T0), ...fail(rules, times(5, 'z'), T0)];
    expect(dropped(entries)).toEqual([]);
    expect(crossed(entries)).toHaveLength(2);
  });
});
