import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import {
  AuditConfigurationError,
  AuditModule,
  AuditService,
  AuditStore,
  InMemoryAuditStore,
  type AuditAlarmOptions,
  type AuditEvent,
  type AuditQueryResult,
} from '../../src';
import { bootError } from '../utils/alarm-app';
import { startApp, tempDir, type RunningApp } from '../utils/apps';
import { Inbox, InboxNotifier } from '../utils/alarm-inbox';
import { HttpReceiver } from '../utils/http-receiver';
import { until, fakeOnly } from '../utils/until';
import { outboxOf } from '../utils/outbox-of';

async function appWith(alarms: AuditAlarmOptions, store: string | AuditStore): Promise<RunningApp> {
  return startApp('express', {
    imports: [AuditModule.forRoot({ store, stream: false, serviceName: 'shop', alarms })],
    providers: [Inbox, InboxNotifier],
  });
}

describe('digests: a throttled rule folds bursts into a few messages', () => {
  let running: RunningApp;
  let hook: HttpReceiver;
  let tmp: ReturnType<typeof tempDir>;
  const T0 = Date.parse('2026-03-01T10:00:00.000Z');

  beforeAll(async () => {
    // The application's clock is the test's: it stands still unless the test moves it, so the
    // throttle periods are counted in steps the test takes, not in whatever time a loaded
    // machine needs. Only Date is faked; timers, I/O and the dispatcher's polls run for real.
    fakeOnly(['Date'], T0);
    tmp = tempDir();
    hook = await HttpReceiver.start();
    running = await appWith(
      {
        channels: { siem: { type: 'webhook', url: hook.url, secret: 'a-secret-of-16+chars' } },
        allowPrivateNetworks: ['127.0.0.1'],
        rules: [
          { name: 'bulk-export', action: 'report.export', throttle: '1s', channels: ['siem'] },
        ],
        pollIntervalMs: 50,
      },
      join(tmp.dir, 'audit.db'),
    );
  });
  afterAll(async () => {
    jest.useRealTimers();
    await running.close();
    await hook.close();
    tmp.cleanup();
  });

  it('10,000 matching events give a bounded number of messages that count every one of them', async () => {
    const audit = running.app.get(AuditService);
    const store = running.app.get(AuditStore);
    const claims = jest.spyOn(outboxOf(store), 'claim');
    for (let batch = 0; batch < 20; batch += 1) {
      await Promise.all(
        Array.from({ length: 500 }, (_, i) =>
          audit.record({
            action: 'report.export',
            target: { type: 'report', id: batch * 500 + i },
          }),
        ),
      );
    }
    const counted = () =>
      hook
        .accepted()
        .map((r) => (JSON.parse(r.body) as { count: number }).count)
        .reduce((a, b) => a + b, 0);
    /**
     * Waits until the dispatcher has looked at the outbox at the clock's current time and what
     * it took then has arrived: the clock never moves while a message is on its way.
     */
    const lookedAt = async (now: number) => {
      await until(() => claims.mock.calls.some(([request]) => request.now === now));
      const taken = await Promise.all(
        claims.mock.calls.flatMap(([request], i) =>
          request.now === now ? [claims.mock.results[i]?.value as Promise<unknown[]>] : [],
        ),
      );
      const sent = taken.reduce((sum, claimed) => sum + claimed.length, 0);
      await until(() => hook.accepted().filter((r) => r.receivedAt === now).length >= sent);
    };
    // The leading message goes out at once, while the clock still stands at T0.
    await until(() => hook.accepted().length >= 1);
    await lookedAt(T0);
    // Then the clock moves in tenths of the throttle period, and the dispatcher looks at each.
    let now = T0;
    while (counted() < 10_000) {
      jest.advanceTimersByTime(100);
      now += 100;
      await lookedAt(now);
    }
    const accepted = hook.accepted();
    const payloads = accepted.map(
      (r) => JSON.parse(r.body) as { id: string; count: number; kind: string; events: unknown[] },
    );
    // Sent at the moments the clock stood at (it never moved while one was on its way), no two
    // within one throttle period: at most one per period, plus the leading one.
    const sentAt = accepted.map((r) => r.receivedAt - T0);
    for (let i = 1; i < sentAt.length; i += 1) {
      expect(sentAt[i]! - sentAt[i - 1]!).toBeGreaterThanOrEqual(1000);
    }
    expect(payloads.length).toBeLessThanOrEqual(Math.floor((now - T0) / 1000) + 1);
    expect(payloads.length).toBeLessThan(100);
    expect(counted()).toBe(10_000);
    expect(new Set(payloads.map((p) => p.id)).size).toBe(payloads.length);
    for (const p of payloads) expect(p.events.length).toBeLessThanOrEqual(Math.min(10, p.count));
    expect(payloads.some((p) => p.kind === 'digest' && p.count > 100)).toBe(true);
    // Nothing is left behind in the outbox: the last sends are marked delivered once their
    // receiver answered, which can come after it counted them.
    await until(async () => (await outboxOf(store).stats()).pending === 0);
    expect((await outboxOf(store).stats()).pending).toBe(0);
  }, 120_000);
});

describe('threshold rules: fire once per window per key', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await appWith(
      {
        channels: { inbox: InboxNotifier },
        rules: [
          {
            name: 'admin-login-failures',
            action: 'auth.login',
            outcome: 'failure',
            threshold: { count: 5, window: '1m', groupBy: 'source.ip' },
            channels: ['inbox'],
            severity: 'critical',
          },
        ],
        pollIntervalMs: 50,
      },
      new InMemoryAuditStore(),
    );
  });
  afterAll(() => running.close());

  it('counts by source.ip inside tumbling windows', async () => {
    const audit = running.app.get(AuditService);
    const windowStart = Date.UTC(2026, 10, 2, 10, 0, 0);
    const fail = (ip: string, at: number) =>
      audit.record({ action: 'auth.login', outcome: 'failure', source: { ip }, timestamp: at });
    for (let i = 0; i < 12; i += 1) await fail('10.0.0.7', windowStart + 1000 * i);
    for (let i = 0; i < 5; i += 1) await fail('10.0.0.8', windowStart + 2000 * i);
    for (let i = 0; i < 4; i += 1) await fail('10.0.0.9', windowStart + 3000 * i);
    // A success never counts.
    await audit.record({
      action: 'auth.login',
      source: { ip: '10.0.0.9' },
      timestamp: windowStart + 50_000,
    });
    // The next minute is a new window.
    for (let i = 0; i < 5; i += 1) await fail('10.0.0.7', windowStart + 60_000 + i);

    const inbox = running.app.get(Inbox);
    // Every alarm the rules raised was committed with its event: once the outbox holds none
    // pending, nothing more can arrive.
    const store = running.app.get(AuditStore);
    await until(async () => (await outboxOf(store).stats()).pending === 0);
    expect(await outboxOf(store).stats()).toEqual({ pending: 0, delivered: 3, dead: 0 });
    const fired = inbox.messages.map((m) => [m.groupKey, m.firstAt.slice(11, 16), m.count]).sort();
    expect(fired).toEqual([
      ['10.0.0.7', '10:00', 5],
      ['10.0.0.7', '10:01', 5],
      ['10.0.0.8', '10:00', 5],
    ]);
    expect(inbox.messages.every((m) => m.kind === 'threshold' && m.severity === 'critical')).toBe(
      true,
    );
  });
});

describe('dead letters', () => {
  it('gives up after maxAttempts, keeps the entry as dead and reports it in health()', async () => {
    const hook = await HttpReceiver.start();
    hook.respondWith(...Array.from({ length: 10 }, () => ({ status: 500 })));
    const running = await appWith(
      {
        channels: { siem: { type: 'webhook', url: hook.url, secret: 'a-secret-of-16+chars' } },
        allowPrivateNetworks: ['127.0.0.1'],
        rules: [{ name: 'any-void', action: 'invoice.void', channels: ['siem'] }],
        maxAttempts: 3,
        backoff: { initialMs: 10, maxMs: 20 },
        pollIntervalMs: 20,
      },
      new InMemoryAuditStore(),
    );
    try {
      const audit = running.app.get(AuditService);
      await audit.record({ action: 'invoice.void', target: { type: 'invoice', id: 9 } });
      const store = running.app.get(AuditStore);
      await until(async () => (await outboxOf(store).list({ status: 'dead' })).length === 1);
      const [dead] = await outboxOf(store).list({ status: 'dead' });
      expect(dead).toMatchObject({ rule: 'any-void', channel: 'siem', attempts: 3 });
      expect(dead?.lastError).toMatch(/500/);
      expect(hook.requests).toHaveLength(3);
      await until(() => audit.health().alarms?.dead === 1);
      expect(audit.health().alarms).toMatchObject({
        status: 'degraded',
        condition: 'audit.alarm_dead_letter',
      });
      // The audit trail itself is fine.
      expect(audit.health().status).toBe('up');
    } finally {
      await running.close();
      await hook.close();
    }
  });
});

describe('alarm configuration is checked at boot', () => {
  const boot = (alarms: AuditAlarmOptions, store?: AuditStore) => bootError(alarms, { store });
  const slack = {
    ops: { type: 'slack' as const, webhookUrl: 'https://hooks.slack.com/services/T/B/x' },
  };

  it.each([
    [
      'an unknown channel',
      { channels: slack, rules: [{ name: 'r', action: 'user.*', channels: ['sec'] }] },
      /unknown channel "sec"/,
    ],
    [
      'a bad glob',
      { channels: slack, rules: [{ name: 'r', action: 'user.{update', channels: ['ops'] }] },
      /rule "r".*action/,
    ],
    [
      'a bad template field',
      { channels: slack, rules: [{ name: 'r', message: 'by {actor.mail}', channels: ['ops'] }] },
      /actor\.mail/,
    ],
    [
      'a bad channel config',
      { channels: { ops: { type: 'slack', webhookUrl: 'not a url' } }, rules: [] },
      /alarms\.channels\.ops/,
    ],
    ['an unknown option', { channels: slack, retries: 3 } as AuditAlarmOptions, /alarms\.retries/],
    [
      'a lease shorter than a channel timeout',
      { channels: slack, leaseMs: 5000 },
      /"alarms\.leaseMs" \(5000\).*channel "ops" may take 10000 ms/,
    ],
  ])('rejects %s with a message naming it', async (_what, alarms, message) => {
    const error = await boot(alarms as AuditAlarmOptions);
    expect(error).toBeInstanceOf(AuditConfigurationError);
    expect((error as Error).message).toMatch(message);
  });

  class LogOnlyStore extends AuditStore {
    readonly engine = 'log-only';
    append(): Promise<void> {
      return Promise.resolve();
    }
    query(): Promise<AuditQueryResult> {
      return Promise.resolve({ items: [] });
    }
    history(): Promise<AuditEvent[]> {
      return Promise.resolve([]);
    }
    get(): Promise<AuditEvent | undefined> {
      return Promise.resolve(undefined);
    }
  }

  it('rejects a store that keeps no outbox, saying how to get one', async () => {
    const error = await boot({ channels: slack, rules: [] }, new LogOnlyStore());
    expect(error).toBeInstanceOf(AuditConfigurationError);
    expect((error as Error).message).toBe(
      'nestjs-audit: option "alarms" needs a store that keeps the alarm outbox, and LogOnlyStore (engine "log-only") does not (its alarmOutbox is undefined). Use the SQLite default, PostgresAuditStore or InMemoryAuditStore, or give LogOnlyStore an alarmOutbox (implement AlarmOutbox from nestjs-audit/store, and store the alarms its append() receives).',
    );
  });

  it('answers listAlarms() without an outbox with the same advice', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [AuditModule.forRoot({ store: new LogOnlyStore(), stream: false })],
    }).compile();
    try {
      const audit = moduleRef.get(AuditService);
      await expect(audit.listAlarms()).rejects.toThrow(
        /^nestjs-audit: listAlarms\(\) needs a store that keeps the alarm outbox, and LogOnlyStore .*give LogOnlyStore an alarmOutbox/,
      );
      await expect(audit.listAlarmAttempts()).rejects.toThrow(
        /^nestjs-audit: listAlarmAttempts\(\)/,
      );
    } finally {
      await moduleRef.close();
    }
  });
});
