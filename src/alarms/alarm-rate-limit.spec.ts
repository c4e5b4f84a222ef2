import { AuditConfigurationError } from '../common/audit-configuration.error';
import { InMemoryAuditStore } from '../stores/memory/memory-audit.store';
import { resolveAlarmOptions } from './alarm-config';
import { foldDigest } from './alarm-digest';
import type { AlarmMessage, AlarmSeverity } from '../stores/alarm-message';
import type { AlarmOutboxEntry } from '../stores/alarm-outbox-model';
import {
  AlarmRateLimiter,
  compileAlarmRateLimit,
  DEFAULT_ALARM_RATE_LIMIT,
  type CompiledAlarmRateLimit,
} from './alarm-rate-limit';
import { compileAlarmRules } from './alarm-rule';
import { AlarmDispatcher } from './alarm-dispatcher';
import { AlarmNotifier } from './notifiers/alarm-notifier';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');

let counter = 0;
function entry(
  at: number,
  rule = 'phone-changed',
  channel = 'ops',
  severity: AlarmSeverity = 'medium',
): AlarmOutboxEntry {
  counter += 1;
  const dedupKey = `${rule}:${channel}:${counter}`;
  const createdAt = new Date(at).toISOString();
  return {
    dedupKey,
    rule,
    channel,
    kind: 'event',
    severity,
    createdAt,
    message: {
      id: dedupKey,
      rule,
      channel,
      kind: 'event',
      severity,
      title: `${rule} changed`,
      text: `event ${counter}`,
      count: 1,
      events: [
        {
          id: `event-${counter}`,
          timestamp: createdAt,
          action: 'user.update',
          outcome: 'success',
          actor: { type: 'user', id: 'u1' },
          changes: [],
          text: `event ${counter}`,
        },
      ],
      firstAt: createdAt,
      lastAt: createdAt,
      service: 'svc',
    },
  };
}

describe('compileAlarmRateLimit', () => {
  it('reads a limit, and false or 0 as none', () => {
    expect(compileAlarmRateLimit('x', { count: 5, per: '30s' })).toEqual({
      count: 5,
      perMs: 30_000,
    });
    expect(compileAlarmRateLimit('x', { count: 1, per: 250 })).toEqual({ count: 1, perMs: 250 });
    expect(compileAlarmRateLimit('x', false)).toBe(false);
    expect(compileAlarmRateLimit('x', 0)).toBe(false);
  });

  it.each([
    [{ count: 0, per: '1m' }, /"count" must be a whole number from 1 to 10000 \(got 0\)/],
    [{ count: 2.5, per: '1m' }, /"count" must be a whole number/],
    [{ count: 5 }, /"per" must be a duration such as '1m'/],
    [{ count: 5, per: 'soon' }, /"per" must be a duration .*got "soon"/],
    [{ count: 5, per: '1m', burst: 2 }, /unknown key "burst"; known: count, per/],
    [true, /must be an object or false \(got true\)/],
    ['10/m', /must be an object or false/],
  ])('rejects %j with a fix', (raw, problem) => {
    const run = () => compileAlarmRateLimit('option "alarms.rateLimit"', raw);
    expect(run).toThrow(AuditConfigurationError);
    expect(run).toThrow(problem);
    expect(run).toThrow(/option "alarms.rateLimit" .*Use \{ count: 10, per: '1m' \}.*or false/);
  });

  it('is 10 messages per minute by default, configurable or off in the module option', () => {
    const channels = { ops: { type: 'slack', webhookUrl: 'https://hooks.example/x' } };
    expect(resolveAlarmOptions({ channels })?.rateLimit).toEqual(DEFAULT_ALARM_RATE_LIMIT);
    expect(DEFAULT_ALARM_RATE_LIMIT).toEqual({ count: 10, perMs: 60_000 });
    expect(resolveAlarmOptions({ channels, rateLimit: false })?.rateLimit).toBe(false);
    expect(
      resolveAlarmOptions({ channels, rateLimit: { count: 3, per: '10s' } })?.rateLimit,
    ).toEqual({ count: 3, perMs: 10_000 });
    expect(() => resolveAlarmOptions({ channels, rateLimit: { count: -1, per: '1m' } })).toThrow(
      /option "alarms.rateLimit" "count" must be/,
    );
  });

  it('takes a rule of its own, and refuses one next to throttle', () => {
    const settings = { serviceName: 'svc' };
    const [own, off] = compileAlarmRules(
      [
        { name: 'a', channels: ['ops'], rateLimit: { count: 2, per: '1h' } },
        { name: 'b', channels: ['ops'], rateLimit: false },
      ],
      ['ops'],
      settings,
    ).rules;
    expect(own?.rateLimit).toEqual({ count: 2, perMs: 3_600_000 });
    expect(off?.rateLimit).toBe(false);
    expect(() =>
      compileAlarmRules(
        [{ name: 'c', channels: ['ops'], throttle: '5m', rateLimit: { count: 2, per: '1m' } }],
        ['ops'],
        settings,
      ),
    ).toThrow(/alarm rule "c" field "rateLimit": cannot be combined with "throttle"/);
    expect(() =>
      compileAlarmRules(
        [{ name: 'd', channels: ['ops'], rateLimit: { count: 'many', per: '1m' } as never }],
        ['ops'],
        settings,
      ),
    ).toThrow(/alarm rule "d" field "rateLimit" "count" must be a whole number/);
  });
});

describe('AlarmRateLimiter', () => {
  const limit: CompiledAlarmRateLimit = { count: 3, perMs: 60_000 };

  it('lets `count` alarms per rule and channel through, and marks the rest as a digest', () => {
    let now = T0;
    const limiter = new AlarmRateLimiter(new Map([['phone-changed', limit]]), () => now);
    const ops = Array.from({ length: 5 }, (_, i) => entry(T0 + i));
    const sms = Array.from({ length: 4 }, (_, i) => entry(T0 + i, 'phone-changed', 'sms'));
    const other = Array.from({ length: 5 }, (_, i) => entry(T0 + i, 'unlimited'));
    limiter.apply([...ops.slice(0, 2), ...sms, ...other]);
    limiter.apply(ops.slice(2));
    expect(ops.map((e) => e.digestKey)).toEqual([
      undefined,
      undefined,
      undefined,
      'rate-limit/phone-changed:ops',
      'rate-limit/phone-changed:ops',
    ]);
    expect(ops[4]?.throttleMs).toBe(60_000);
    expect(sms.map((e) => e.digestKey)).toEqual([
      undefined,
      undefined,
      undefined,
      'rate-limit/phone-changed:sms',
    ]);
    expect(other.every((e) => e.digestKey === undefined)).toBe(true);

    // A new period lets `count` through again.
    now = T0 + 60_000;
    const later = Array.from({ length: 4 }, (_, i) => entry(now + i));
    limiter.apply(later);
    expect(later.map((e) => e.digestKey)).toEqual([
      undefined,
      undefined,
      undefined,
      'rate-limit/phone-changed:ops',
    ]);
  });

  it('leaves entries that already belong to a digest alone', () => {
    const limiter = new AlarmRateLimiter(new Map([['phone-changed', { count: 1, perMs: 1000 }]]));
    const throttled = Array.from({ length: 3 }, (_, i) => ({
      ...entry(T0 + i),
      digestKey: 'own:ops',
      throttleMs: 5000,
    }));
    limiter.apply(throttled);
    expect(throttled.map((e) => [e.digestKey, e.throttleMs])).toEqual([
      ['own:ops', 5000],
      ['own:ops', 5000],
      ['own:ops', 5000],
    ]);
  });
});

/** Records what reaches the channel, one send at a time. */
class RecordingNotifier extends AlarmNotifier {
  readonly received: AlarmMessage[] = [];
  send(message: AlarmMessage): Promise<void> {
    this.received.push(message);
    return Promise.resolve();
  }
}

describe('a rate-limited flood through the outbox and the dispatcher', () => {
  it('arrives as 10 messages and one digest counting the other 90, after the critical one', async () => {
    const store = new InMemoryAuditStore();
    const notifier = new RecordingNotifier();
    const now = T0 + 1000;
    const limiter = new AlarmRateLimiter(
      new Map([['phone-changed', DEFAULT_ALARM_RATE_LIMIT]]),
      () => now,
    );
    const dispatcher = new AlarmDispatcher(
      store,
      new Map([['ops', notifier]]),
      {
        maxAttempts: 3,
        backoff: { initialMs: 1000, maxMs: 1000 },
        pollIntervalMs: 1000,
        digestListSize: 5,
        concurrency: 1,
      },
      (members, total) => foldDigest(members, total, { digestListSize: 5 }),
      undefined,
      () => now,
    );
    const flood = Array.from({ length: 100 }, (_, i) => entry(T0 + i));
    limiter.apply(flood);
    const critical = entry(T0 + 500, 'failed-login', 'ops', 'critical');
    await store.append([], [...flood, critical]);

    while ((await dispatcher.runOnce()) > 0);

    const received = notifier.received;
    expect(received[0]?.rule).toBe('failed-login');
    const phone = received.filter((m) => m.rule === 'phone-changed');
    expect(phone.map((m) => m.count)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 90]);
    const digest = phone[10] as AlarmMessage;
    expect(digest.kind).toBe('digest');
    expect(digest.title).toBe('phone-changed changed (90 more like this)');
    expect(digest.events).toHaveLength(5);
    expect(digest.text).toMatch(
      /^90 more like this between .*, past the rule's rate limit; the first 5:/,
    );
    expect((await store.alarmOutbox.stats()).delivered).toBe(101);
    await dispatcher.stop();
  });
});
