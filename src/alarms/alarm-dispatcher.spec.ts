import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { turn, until, fakeOnly } from '../../test/utils/until';
import type { AuditEvent } from '../event/audit-event';
import type { AuditQueryResult } from '../query/audit-query';
import { AuditStore } from '../stores/audit-store';
import { InMemoryAuditStore } from '../stores/memory/memory-audit.store';
import { SqliteAuditStore } from '../stores/sqlite/sqlite-audit.store';
import type { AlarmDigestFold } from './alarm-claim-message';
import type { AlarmDispatcherSettings } from './alarm-dispatcher-settings';
import { AlarmDispatcher } from './alarm-dispatcher';
import { AuditConfigurationError } from '../common/audit-configuration.error';
import type { AlarmMessage } from '../stores/alarm-message';
import type { AlarmClaim, AlarmOutboxEntry } from '../stores/alarm-outbox-model';
import {
  AlarmDeliveryError,
  AlarmNotifier,
  type AlarmSendContext,
} from './notifiers/alarm-notifier';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');

/** A channel whose behaviour each test scripts: a real AlarmNotifier, as users write them. */
class ScriptedNotifier extends AlarmNotifier {
  readonly calls: { message: AlarmMessage; context: AlarmSendContext }[] = [];

  constructor(
    private readonly behave: (
      message: AlarmMessage,
      context: AlarmSendContext,
      call: number,
    ) => void | Promise<void> = () => undefined,
  ) {
    super();
  }

  async send(message: AlarmMessage, context: AlarmSendContext): Promise<void> {
    this.calls.push({ message, context });
    await this.behave(message, context, this.calls.length);
  }
}

/**
 * Fakes `setTimeout` and `clearTimeout` only, the timers the dispatcher keeps time with (its
 * poll, its attempt timeouts, the deadline of `stop()`): a test moves them with
 * `jest.advanceTimersByTime` and knows exactly how much time the dispatcher saw pass, whatever
 * the machine's load. The stores' I/O, `setImmediate` and the clock stay real.
 */
function fakeTimeouts(): void {
  fakeOnly(['setTimeout', 'clearTimeout']);
}

/**
 * Runs the dispatcher's due timers (its `setTimeout(…, 0)` wake-ups) and lets the stores answer,
 * until `check` holds. The fake clock does not move: whatever happens here happens at once.
 */
async function drive(check: () => boolean): Promise<void> {
  await until(() => {
    jest.advanceTimersByTime(0);
    return check();
  });
}

/** Waits for the signal; rejects with its reason, as a well-behaved notifier does. */
function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}

let counter = 0;
function entry(at: number, overrides: Partial<AlarmOutboxEntry> = {}): AlarmOutboxEntry {
  counter += 1;
  const dedupKey = overrides.dedupKey ?? `rule-a:ops:${counter}`;
  const createdAt = new Date(at).toISOString();
  return {
    dedupKey,
    rule: 'rule-a',
    channel: 'ops',
    kind: 'event',
    severity: 'high',
    createdAt,
    message: {
      id: dedupKey,
      rule: 'rule-a',
      channel: overrides.channel ?? 'ops',
      kind: 'event',
      severity: 'high',
      title: `title ${counter}`,
      text: `text ${counter}`,
      count: 1,
      events: [],
      firstAt: createdAt,
      lastAt: createdAt,
      service: 'svc',
    },
    ...overrides,
  };
}

/** A digest fold good enough for tests: counts, lists the members' titles. */
const testFold: AlarmDigestFold = (members, total) => {
  const first = members[0] as AlarmOutboxEntry;
  return {
    ...first.message,
    kind: 'digest',
    title: `${total} alarms of ${first.rule}`,
    text: members.map((m) => m.message.title).join('\n'),
    count: total,
  };
};

const BASE: AlarmDispatcherSettings = {
  maxAttempts: 5,
  backoff: { initialMs: 1000, maxMs: 60_000 },
  pollIntervalMs: 1000,
  digestListSize: 3,
  timeoutMs: 2000,
};

interface Logged {
  level: string;
  message: string;
}

const engines: [
  string,
  () => Promise<{ store: InMemoryAuditStore | SqliteAuditStore; cleanup: () => Promise<void> }>,
][] = [
  [
    'memory',
    () => {
      const store = new InMemoryAuditStore();
      return Promise.resolve({ store, cleanup: () => store.close() });
    },
  ],
  [
    'sqlite',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'nestjs-audit-dispatch-'));
      const store = new SqliteAuditStore({ path: join(dir, 'audit.db') });
      await store.init();
      return {
        store,
        cleanup: async () => {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  ],
];

describe.each(engines)('AlarmDispatcher on the %s store', (_name, open) => {
  let store: InMemoryAuditStore | SqliteAuditStore;
  let cleanup: () => Promise<void>;
  let clock: number;
  let logged: Logged[];
  const dispatchers: AlarmDispatcher[] = [];

  beforeEach(async () => {
    ({ store, cleanup } = await open());
    clock = T0;
    logged = [];
  });

  afterEach(async () => {
    // Stopping waits on a real timer; timers faked by a test never fire after this.
    jest.useRealTimers();
    for (const dispatcher of dispatchers.splice(0)) await dispatcher.stop(0);
    await cleanup();
  });

  function dispatcher(
    channels: Record<string, AlarmNotifier>,
    settings: Partial<AlarmDispatcherSettings> = {},
    on: AuditStore = store,
    fold: AlarmDigestFold = testFold,
  ): AlarmDispatcher {
    const created = new AlarmDispatcher(
      on,
      new Map(Object.entries(channels)),
      { ...BASE, ...settings },
      fold,
      (level, message) => logged.push({ level, message }),
      () => clock,
    );
    dispatchers.push(created);
    return created;
  }

  const stored = async (dedupKey: string) => (await store.alarmOutbox.list({ dedupKey }))[0];

  it('delivers a due alarm once, with its dedup key as message id, and records the attempt', async () => {
    const ops = new ScriptedNotifier();
    const d = dispatcher({ ops });
    const alarm = entry(T0);
    await store.append([], [alarm]);
    expect(await d.runOnce()).toBe(1);
    expect(ops.calls).toHaveLength(1);
    expect(ops.calls[0]?.message).toStrictEqual(alarm.message);
    expect(ops.calls[0]?.context).toMatchObject({ attempt: 1, timeoutMs: 2000 });
    expect(ops.calls[0]?.context.signal.aborted).toBe(false);
    expect(await stored(alarm.dedupKey)).toMatchObject({ status: 'delivered', attempts: 1 });
    const [attempt] = await store.alarmOutbox.listAttempts({ dedupKey: alarm.dedupKey });
    expect(attempt).toMatchObject({
      result: 'delivered',
      attempt: 1,
      at: new Date(T0).toISOString(),
    });
    expect(await d.runOnce()).toBe(0);
    expect(ops.calls).toHaveLength(1);
    expect(d.stats()).toMatchObject({ sent: 1, delivered: 1, failedAttempts: 0, dead: 0 });
  });

  it('retries with growing, jittered backoff until delivered', async () => {
    const ops = new ScriptedNotifier((_m, _c, call) => {
      if (call <= 3) throw new Error(`receiver down (${call})`);
    });
    const d = dispatcher({ ops });
    const alarm = entry(T0);
    await store.append([], [alarm]);
    const waits: number[] = [];
    for (let i = 1; i <= 3; i++) {
      expect(await d.runOnce()).toBe(1);
      const { nextAttemptAt, attempts, lastError } = (await stored(alarm.dedupKey))!;
      expect(attempts).toBe(i);
      expect(lastError).toBe(`receiver down (${i})`);
      const wait = Date.parse(nextAttemptAt!) - clock;
      waits.push(wait);
      expect(wait).toBeGreaterThanOrEqual(0);
      expect(wait).toBeLessThanOrEqual(1000 * 2 ** (i - 1));
      if (wait > 0) {
        clock += wait - 1;
        expect(await d.runOnce()).toBe(0);
        clock += 1;
      }
    }
    expect(await d.runOnce()).toBe(1);
    expect(ops.calls.map((c) => c.context.attempt)).toEqual([1, 2, 3, 4]);
    expect(await stored(alarm.dedupKey)).toMatchObject({ status: 'delivered', attempts: 4 });
    const attempts = await store.alarmOutbox.listAttempts({ dedupKey: alarm.dedupKey });
    expect(attempts.map((a) => a.result)).toEqual(['delivered', 'failed', 'failed', 'failed']);
    expect(d.stats()).toMatchObject({ sent: 1, failedAttempts: 3, dead: 0 });
    expect(logged.filter((l) => l.level === 'warn')).toHaveLength(3);
    expect(logged[0]?.message).toMatch(
      /^nestjs-audit: attempt 1 of 5 of alarm of rule "rule-a" to channel "ops" .*failed: receiver down \(1\)\. Next attempt in \d+ s\.$/,
    );
  });

  it('dead-letters after maxAttempts and logs an error naming rule, channel, key and cause', async () => {
    const ops = new ScriptedNotifier(() => {
      throw new AlarmDeliveryError('HTTP 503 from receiver', { statusCode: 503 });
    });
    const d = dispatcher({ ops }, { maxAttempts: 3, backoff: { initialMs: 10, maxMs: 10 } });
    const alarm = entry(T0);
    await store.append([], [alarm]);
    for (let i = 0; i < 3; i++) {
      expect(await d.runOnce()).toBe(1);
      clock += 10;
    }
    expect(await d.runOnce()).toBe(0);
    expect(ops.calls).toHaveLength(3);
    expect(await stored(alarm.dedupKey)).toMatchObject({
      status: 'dead',
      attempts: 3,
      lastError: 'HTTP 503 from receiver',
    });
    const errors = logged.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toBe(
      `nestjs-audit: alarm of rule "rule-a" to channel "ops" (dedup key ${alarm.dedupKey}) was dead-lettered after 3 attempts: HTTP 503 from receiver. It stays in the outbox with status "dead" (AuditService.listAlarms({ status: 'dead' })).`,
    );
    const [last] = await store.alarmOutbox.listAttempts({ dedupKey: alarm.dedupKey });
    expect(last).toMatchObject({ result: 'dead', attempt: 3, statusCode: 503 });
    expect(d.stats()).toMatchObject({ dead: 1, failedAttempts: 2 });
    expect(d.stats().lastError).toContain('dead-lettered');
  });

  it('honours Retry-After even beyond maxMs', async () => {
    const ops = new ScriptedNotifier((_m, _c, call) => {
      if (call === 1) {
        throw new AlarmDeliveryError('HTTP 429', { retryAfterMs: 120_000, statusCode: 429 });
      }
    });
    const d = dispatcher({ ops }, { backoff: { initialMs: 100, maxMs: 1000 } });
    const alarm = entry(T0);
    await store.append([], [alarm]);
    await d.runOnce();
    expect((await stored(alarm.dedupKey))?.nextAttemptAt).toBe(
      new Date(T0 + 120_000).toISOString(),
    );
    clock = T0 + 119_999;
    expect(await d.runOnce()).toBe(0);
    clock = T0 + 120_000;
    expect(await d.runOnce()).toBe(1);
    expect(await stored(alarm.dedupKey)).toMatchObject({ status: 'delivered', attempts: 2 });
    const attempts = await store.alarmOutbox.listAttempts({ dedupKey: alarm.dedupKey });
    expect(attempts[1]).toMatchObject({ result: 'failed', statusCode: 429, error: 'HTTP 429' });
  });

  it('dead-letters at once on a permanent error', async () => {
    const ops = new ScriptedNotifier(() => {
      throw new AlarmDeliveryError('HTTP 404: no such webhook', {
        permanent: true,
        statusCode: 404,
      });
    });
    const d = dispatcher({ ops }, { maxAttempts: 8 });
    const alarm = entry(T0);
    await store.append([], [alarm]);
    await d.runOnce();
    expect(await stored(alarm.dedupKey)).toMatchObject({ status: 'dead', attempts: 1 });
    expect(logged.filter((l) => l.level === 'error')[0]?.message).toMatch(
      /dead-lettered after 1 attempt: HTTP 404: no such webhook\./,
    );
  });

  it('records the attempt of a notifier that throws an object JSON cannot write', async () => {
    const circular: Record<string, unknown> = { reason: 'loop' };
    circular.self = circular;
    const ops = new ScriptedNotifier((_m, _c, call) => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- a third-party notifier may throw anything
      throw call === 1 ? { code: 10n } : circular;
    });
    const d = dispatcher({ ops }, { backoff: { initialMs: 10, maxMs: 10 } });
    const alarm = entry(T0);
    await store.append([], [alarm]);
    expect(await d.runOnce()).toBe(1);
    expect(await stored(alarm.dedupKey)).toMatchObject({ attempts: 1, lastError: '{"code":"10"}' });
    clock += 10;
    expect(await d.runOnce()).toBe(1);
    expect(await stored(alarm.dedupKey)).toMatchObject({
      attempts: 2,
      lastError: '{"reason":"loop","self":"[Circular]"}',
    });
  });

  it('dead-letters an alarm for a channel that is no longer configured, and goes on', async () => {
    const ops = new ScriptedNotifier();
    const d = dispatcher({ ops });
    const orphan = entry(T0, { channel: 'pager' });
    const fine = entry(T0);
    await store.append([], [orphan, fine]);
    expect(await d.runOnce()).toBe(2);
    expect(await stored(orphan.dedupKey)).toMatchObject({ status: 'dead', attempts: 1 });
    expect((await stored(orphan.dedupKey))?.lastError).toMatch(
      /^channel "pager" is not configured .*Known channels: ops$/,
    );
    expect(await stored(fine.dedupKey)).toMatchObject({ status: 'delivered' });
    expect(ops.calls).toHaveLength(1);
  });

  it('aborts the signal of an attempt that outlives its channel timeout', async () => {
    fakeTimeouts();
    const seen: { aborted: boolean; reason: string }[] = [];
    const slow = new ScriptedNotifier(async (_m, { signal }) => {
      try {
        await untilAborted(signal);
      } finally {
        seen.push({ aborted: signal.aborted, reason: String((signal.reason as Error).message) });
      }
    });
    // Ignores its signal entirely: the dispatcher must not wait for it anyway.
    const deaf = new ScriptedNotifier(() => new Promise(() => undefined));
    const d = dispatcher({ slow, deaf }, { channelTimeoutMs: { slow: 50, deaf: 80 } });
    const a = entry(T0, { channel: 'slow' });
    const b = entry(T0, { channel: 'deaf' });
    await store.append([], [a, b]);
    const run = d.runOnce();
    await until(() => slow.calls.length === 1 && deaf.calls.length === 1);
    const signalOf = (notifier: ScriptedNotifier) => notifier.calls[0]?.context.signal;
    // Each attempt ends at its own channel's timeout, not a moment sooner.
    jest.advanceTimersByTime(49);
    await turn();
    expect([signalOf(slow)?.aborted, signalOf(deaf)?.aborted]).toEqual([false, false]);
    expect(seen).toEqual([]);
    jest.advanceTimersByTime(1);
    expect([signalOf(slow)?.aborted, signalOf(deaf)?.aborted]).toEqual([true, false]);
    jest.advanceTimersByTime(29);
    expect(signalOf(deaf)?.aborted).toBe(false);
    jest.advanceTimersByTime(1);
    expect(signalOf(deaf)?.aborted).toBe(true);
    // The deaf notifier never settles: runOnce() ends because the dispatcher stopped waiting.
    expect(await run).toBe(2);
    expect(seen).toEqual([
      {
        aborted: true,
        reason:
          'no answer from channel "slow" within 50 ms (its timeoutMs); the attempt was aborted',
      },
    ]);
    expect(slow.calls[0]?.context.timeoutMs).toBe(50);
    expect(await stored(a.dedupKey)).toMatchObject({ status: 'pending', attempts: 1 });
    expect((await stored(b.dedupKey))?.lastError).toMatch(/within 80 ms/);
  });

  it('keeps a fast channel flowing while a slow one waits for its timeout', async () => {
    const slow = new ScriptedNotifier((_m, { signal }) => untilAborted(signal));
    const atFast: { slowSends: number; slowAborted: number }[] = [];
    const fast = new ScriptedNotifier(() => {
      atFast.push({
        slowSends: slow.calls.length,
        slowAborted: slow.calls.filter((c) => c.context.signal.aborted).length,
      });
    });
    // An hour of timeout and of poll interval: the fast message can only have gone out because
    // it did not wait for the slow sends, nor for a poll.
    const d = dispatcher(
      { slow, fast },
      { channelTimeoutMs: { slow: 3_600_000 }, concurrency: 4, pollIntervalMs: 3_600_000 },
    );
    await store.append(
      [],
      [
        entry(T0, { channel: 'slow' }),
        entry(T0, { channel: 'slow' }),
        entry(T0, { channel: 'slow' }),
        entry(T0, { channel: 'fast' }),
      ],
    );
    d.start();
    await until(() => fast.calls.length === 1);
    // Sent while both slow sends were still hanging.
    expect(atFast).toEqual([{ slowSends: 2, slowAborted: 0 }]);
    // channelConcurrency defaults to half of concurrency: the third waits for a free slot.
    expect(slow.calls).toHaveLength(2);
  });

  /**
   * A channel that hangs until its send is aborted, counting its sends in flight and noting, at
   * each send, how many of the sends before it had been aborted already.
   */
  function hangingChannel() {
    const state = { inFlight: 0, most: 0, abortedBefore: [] as number[] };
    const notifier: ScriptedNotifier = new ScriptedNotifier(async (_m, { signal }) => {
      state.abortedBefore.push(
        notifier.calls.slice(0, -1).filter((c) => c.context.signal.aborted).length,
      );
      state.inFlight += 1;
      state.most = Math.max(state.most, state.inFlight);
      try {
        await untilAborted(signal);
      } finally {
        state.inFlight -= 1;
      }
    });
    return { notifier, state };
  }

  it('keeps a hanging channel with a backlog to its channelConcurrency, so others go out at once', async () => {
    fakeTimeouts();
    const slack = hangingChannel();
    const atMail: { slackSends: number; slackInFlight: number; msElapsed: number }[] = [];
    const started = jest.now();
    const mail = new ScriptedNotifier(() => {
      atMail.push({
        slackSends: slack.notifier.calls.length,
        slackInFlight: slack.state.inFlight,
        msElapsed: jest.now() - started,
      });
    });
    const d = dispatcher(
      { slack: slack.notifier, mail },
      { concurrency: 4, channelTimeoutMs: { slack: 2000 }, pollIntervalMs: 50 },
    );
    const backlog = Array.from({ length: 20 }, (_, i) =>
      entry(T0 - 1000 + i, { channel: 'slack' }),
    );
    await store.append([], backlog);
    // Raised after the whole backlog: it comes last in the claim order.
    await store.append([], [entry(T0, { channel: 'mail' })]);
    d.start();
    await drive(() => mail.calls.length === 1);
    // At once (no timer had to fire), while the first two slack sends hang.
    expect(atMail).toEqual([{ slackSends: 2, slackInFlight: 2, msElapsed: 0 }]);
    // The mail counts as in flight until its settlement is written (by the store's worker
    // thread for SQLite).
    await drive(() => d.stats().inFlight === 2);
    // Polls come and go, but the slack slots stay taken until the sends time out at 2000 ms.
    jest.advanceTimersByTime(1999);
    await turn();
    expect(slack.notifier.calls).toHaveLength(2);
    expect(slack.state.inFlight).toBe(2);
    jest.advanceTimersByTime(1);
    expect(slack.notifier.calls.map((c) => (c.context.signal.reason as Error).message)).toEqual([
      'no answer from channel "slack" within 2000 ms (its timeoutMs); the attempt was aborted',
      'no answer from channel "slack" within 2000 ms (its timeoutMs); the attempt was aborted',
    ]);
    // The freed slots go to the next of the backlog, still two at most.
    await drive(() => slack.notifier.calls.length === 4);
    expect(slack.state.abortedBefore).toEqual([0, 0, 2, 2]);
    expect(slack.state.inFlight).toBe(2);
    expect(await d.runOnce()).toBe(0);
    expect(slack.notifier.calls).toHaveLength(4);
    expect(slack.state.most).toBe(2);
    expect(slack.notifier.calls.map((c) => c.message.id)).toEqual(
      backlog.slice(0, 4).map((e) => e.dedupKey),
    );
  });

  it('never exceeds channelConcurrency when several claims run at the same time', async () => {
    fakeTimeouts();
    const slow = hangingChannel();
    const d = dispatcher(
      { slow: slow.notifier },
      { concurrency: 8, channelConcurrency: 3, channelTimeoutMs: { slow: 100 } },
    );
    await store.append(
      [],
      Array.from({ length: 12 }, () => entry(T0, { channel: 'slow' })),
    );
    let answered = 0;
    const outbox = store.alarmOutbox;
    const claim = outbox.claim.bind(outbox);
    jest.spyOn(outbox, 'claim').mockImplementation(async (request) => {
      const claims = await claim(request);
      answered += 1;
      return claims;
    });
    d.start();
    const runs = Promise.all([d.runOnce(), d.runOnce(), d.runOnce()]);
    // The three runOnce() claims and the loop's first one, all made while the sends hang.
    await drive(() => answered === 4);
    expect(slow.state.inFlight).toBe(3);
    jest.advanceTimersByTime(100);
    expect(await runs).toEqual([3, 0, 0]);
    expect(slow.state.most).toBe(3);
    expect(slow.notifier.calls).toHaveLength(3);
  });

  it('folds a burst of 10,000 alarms into a few digests per key, counting each once', async () => {
    const sentAt = new Map<string, number>();
    const messages = new ScriptedNotifier((message) => {
      sentAt.set(message.id, clock);
    });
    const folds: number[] = [];
    const fold: AlarmDigestFold = (members, total) => {
      folds.push(members.length);
      expect(members.map((m) => m.createdAt)).toEqual([...members.map((m) => m.createdAt)].sort());
      return testFold(members, total);
    };
    const d = dispatcher({ ops: messages }, { batchSize: 50, concurrency: 8 }, store, fold);
    const THROTTLE = 10_000;
    const keys = ['digest-a', 'digest-b'];
    // 10,000 entries within 60 s: 100 commits of 100, alternating two digest keys.
    for (let step = 0; step < 600; step++) {
      clock = T0 + step * 100;
      if (step % 6 === 0) {
        const batch = Array.from({ length: 100 }, (_, i) =>
          entry(clock, { digestKey: keys[i % 2], throttleMs: THROTTLE }),
        );
        await store.append([], batch);
      }
      await d.runOnce();
    }
    clock = T0 + 60_000 + THROTTLE;
    await d.runOnce();
    const perKey = new Map<string, AlarmMessage[]>();
    for (const { message } of messages.calls) {
      const key = (await store.alarmOutbox.list({ dedupKey: message.id }))[0]?.digestKey as string;
      perKey.set(key, [...(perKey.get(key) ?? []), message]);
    }
    expect([...perKey.keys()].sort()).toEqual(keys);
    for (const [, sent] of perKey) {
      expect(sent.length).toBeLessThanOrEqual(Math.ceil(60_000 / THROTTLE) + 1);
      expect(sent.reduce((sum, m) => sum + m.count, 0)).toBe(5000);
      // Leading edge: the first message of a key goes out at once, with what was waiting then
      // (the first commit's 50); the others are sent one throttle period apart.
      expect(sentAt.get(sent[0]?.id as string)).toBe(T0);
      expect(sent[0]?.count).toBe(50);
      const times = sent.map((m) => sentAt.get(m.id) as number);
      for (let i = 1; i < times.length; i++) {
        expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(THROTTLE);
      }
      expect(sent.every((m) => m.kind === 'digest' && m.count > 1)).toBe(true);
    }
    expect(Math.max(...folds)).toBe(3);
    expect(await store.alarmOutbox.stats()).toEqual({ pending: 0, delivered: 10_000, dead: 0 });
  }, 60_000);

  it('sends a plain summary when the digest fold throws', async () => {
    const ops = new ScriptedNotifier();
    const d = dispatcher({ ops }, {}, store, () => {
      throw new Error('template broken');
    });
    const entries = [1, 2, 3].map(() => entry(T0, { digestKey: 'k', throttleMs: 1000 }));
    for (const alarm of entries) alarm.message.slackText = `*${alarm.message.text}*`;
    await store.append([], entries);
    await d.runOnce();
    expect(ops.calls[0]?.message).toMatchObject({ kind: 'digest', count: 3 });
    expect(ops.calls[0]?.message.text).toMatch(/… and 2 more alarm\(s\) of rule "rule-a"\.$/);
    // The head's Slack text lacks that note: Slack must neutralize the text instead.
    expect(ops.calls[0]?.message).not.toHaveProperty('slackText');
    expect(logged[0]?.message).toMatch(
      /could not build the digest of rule "rule-a" \(3 alarms\): template broken/,
    );
  });

  it('stops with a send in flight: aborts it at the deadline, and its lease lets it go out later', async () => {
    let signal: AbortSignal | undefined;
    const hanging = new ScriptedNotifier((_m, context) => {
      signal = context.signal;
      return untilAborted(context.signal);
    });
    fakeTimeouts();
    const d = dispatcher({ ops: hanging }, { leaseMs: 30_000, pollIntervalMs: 10 });
    const alarm = entry(T0);
    await store.append([], [alarm]);
    d.start();
    await drive(() => hanging.calls.length === 1);
    expect(d.stats().inFlight).toBe(1);
    let stopped = false;
    const stopping = d.stop(150).then(() => {
      stopped = true;
    });
    // The send keeps its chance until the deadline…
    jest.advanceTimersByTime(149);
    await turn();
    expect([signal?.aborted, stopped]).toEqual([false, false]);
    // …and is aborted when it comes.
    jest.advanceTimersByTime(1);
    await stopping;
    expect(signal?.aborted).toBe(true);
    expect((signal?.reason as Error).message).toBe('the application is shutting down');
    expect(d.stats()).toMatchObject({ running: false, inFlight: 0 });
    // Not settled: still pending and leased, no attempt recorded.
    expect(await stored(alarm.dedupKey)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(await store.alarmOutbox.listAttempts()).toEqual([]);
    expect(await d.runOnce()).toBe(0);

    const ops = new ScriptedNotifier();
    const next = dispatcher({ ops });
    clock = T0 + 29_999;
    expect(await next.runOnce()).toBe(0);
    clock = T0 + 30_000;
    expect(await next.runOnce()).toBe(1);
    expect(ops.calls.map((c) => c.message.id)).toEqual([alarm.dedupKey]);
    expect(await stored(alarm.dedupKey)).toMatchObject({ status: 'delivered' });
  });

  it('starts delivering at once when woken after a commit', async () => {
    const ops = new ScriptedNotifier();
    const claims = jest.spyOn(store.alarmOutbox, 'claim');
    // Polls an hour apart: a delivery within the test can only come from the wake-up.
    const d = dispatcher({ ops }, { pollIntervalMs: 3_600_000 });
    d.start();
    await until(() => claims.mock.results.length === 1);
    // The first look at the outbox found it empty; the next poll is an hour away.
    await expect(claims.mock.results[0]?.value).resolves.toEqual([]);
    const alarm = entry(T0);
    await store.append([], [alarm]);
    d.wake();
    await until(() => ops.calls.length === 1);
    expect(ops.calls[0]?.message.id).toBe(alarm.dedupKey);
    // The claim right after the wake-up carried it. (A third claim may follow: a freed slot
    // wakes the loop again, as soon as the send settles, so the count is not asserted.)
    const woken = (await claims.mock.results[1]?.value) as AlarmClaim[];
    expect(woken.map((c) => c.alarm.dedupKey)).toEqual([alarm.dedupKey]);
  });

  it('keeps the outcome of a send whose settlement failed, and writes it at the next poll', async () => {
    const flaky = new InMemoryAuditStore();
    jest.spyOn(flaky.alarmOutbox, 'settle').mockRejectedValueOnce(new Error('database is locked'));
    const ops = new ScriptedNotifier();
    const d = dispatcher({ ops }, {}, flaky);
    const alarm = entry(T0);
    await flaky.append([], [alarm]);
    await d.runOnce();
    expect(d.stats().unsettled).toBe(1);
    expect(logged[0]?.message).toMatch(
      /could not record the outcome of alarm .*database is locked/,
    );
    await d.runOnce();
    expect(d.stats().unsettled).toBe(0);
    expect((await flaky.alarmOutbox.list())[0]).toMatchObject({ status: 'delivered' });
    expect(ops.calls).toHaveLength(1);
  });

  it('reports the outbox counts of the store in its stats', async () => {
    const d = dispatcher({ ops: new ScriptedNotifier() });
    await store.append([], [entry(T0 + 60_000), entry(T0 + 60_000)]);
    await d.runOnce();
    expect(d.stats().outbox).toEqual({
      pending: 2,
      delivered: 0,
      dead: 0,
      oldestPendingAt: new Date(T0 + 60_000).toISOString(),
    });
    expect(d.stats().outboxCheckedAt).toBe(new Date(T0).toISOString());
  });
});

describe('AlarmDispatcher loop resilience', () => {
  class ClaimFails extends InMemoryAuditStore {
    failing = true;
    claims = 0;
    /** When each claim came, in the fake time of the test's timers. */
    readonly claimedAt: number[] = [];
    constructor() {
      super();
      const outbox = this.alarmOutbox;
      const claim = outbox.claim.bind(outbox);
      jest.spyOn(outbox, 'claim').mockImplementation(async (request) => {
        this.claims += 1;
        this.claimedAt.push(jest.now());
        if (this.failing) throw new Error('connection refused');
        return claim(request);
      });
    }
  }

  afterEach(() => jest.useRealTimers());

  it('survives a failing store without spinning, and delivers once it is back', async () => {
    fakeTimeouts();
    const store = new ClaimFails();
    const ops = new ScriptedNotifier();
    const logged: Logged[] = [];
    const d = new AlarmDispatcher(
      store,
      new Map([['ops', ops]]),
      { ...BASE, pollIntervalMs: 20 },
      testFold,
      (level, message) => logged.push({ level, message }),
      () => T0,
    );
    await store.append([], [entry(T0 - 1000)]);
    const started = jest.now();
    d.start();
    await drive(() => store.claims === 1);
    // After each failed claim the loop waits twice as long as after the one before: 20, 40,
    // 80, 160 ms, and not a moment less (no busy loop).
    for (const pause of [20, 40, 80, 160]) {
      const tries = store.claims;
      // The failed cycle is over once it has set its timer.
      await until(() => jest.getTimerCount() === 1);
      jest.advanceTimersByTime(pause - 1);
      await turn();
      expect(store.claims).toBe(tries);
      jest.advanceTimersByTime(1);
      await until(() => store.claims === tries + 1);
    }
    expect(store.claimedAt.map((at) => at - started)).toEqual([0, 20, 60, 140, 300]);
    expect(logged.filter((l) => l.level === 'error')).toHaveLength(1);
    expect(logged.filter((l) => l.level === 'warn')).toHaveLength(4);
    expect(logged[0]?.message).toBe(
      'nestjs-audit: could not claim alarms from the memory store: connection refused. Alarms stay in the outbox; trying again in a moment.',
    );
    expect(d.stats()).toMatchObject({ running: true, lastError: logged.at(-1)?.message });
    store.failing = false;
    await until(() => jest.getTimerCount() === 1);
    jest.advanceTimersByTime(320);
    await until(() => ops.calls.length === 1);
    expect(store.claimedAt.at(-1)! - started).toBe(620);
    jest.useRealTimers();
    await d.stop(0);
  });

  it('refuses a store without an alarm outbox, saying which stores have one', () => {
    class Plain extends AuditStore {
      readonly engine = 'plain';
      async append(_events: readonly AuditEvent[]): Promise<void> {}
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
    const store = new Plain();
    expect(() => new AlarmDispatcher(store, new Map(), BASE, testFold)).toThrow(
      'nestjs-audit: alarms need a store that keeps the alarm outbox, and Plain (engine "plain") does not (its alarmOutbox is undefined). Use the SQLite default, PostgresAuditStore or InMemoryAuditStore, or give Plain an alarmOutbox (implement AlarmOutbox from nestjs-audit/store, and store the alarms its append() receives). Or remove the "alarms" option.',
    );
    expect(store.alarmOutbox).toBeUndefined();
  });

  it('rejects a lease no longer than the longest timeout', () => {
    expect(
      () =>
        new AlarmDispatcher(
          new InMemoryAuditStore(),
          new Map(),
          { ...BASE, leaseMs: 5000, channelTimeoutMs: { mail: 5000 } },
          testFold,
        ),
    ).toThrow(
      /setting "leaseMs" \(5000\) must be longer than the longest channel timeout \(5000\)/,
    );
  });

  it.each<[string, unknown]>([
    ['0', 0],
    ['a fraction', 1.5],
    ['a string', '2'],
  ])('rejects a channelConcurrency of %s', (_label, value) => {
    expect(
      () =>
        new AlarmDispatcher(
          new InMemoryAuditStore(),
          new Map(),
          { ...BASE, channelConcurrency: value as number },
          testFold,
        ),
    ).toThrow(
      `nestjs-audit: alarm dispatcher setting "channelConcurrency" must be a whole number above 0, got ${JSON.stringify(value)}.`,
    );
  });

  it('rejects a channelConcurrency that JSON cannot write with its own error', () => {
    const create = () =>
      new AlarmDispatcher(
        new InMemoryAuditStore(),
        new Map(),
        { ...BASE, channelConcurrency: 2n as never },
        testFold,
      );
    expect(create).toThrow(AuditConfigurationError);
    expect(create).toThrow(
      'nestjs-audit: alarm dispatcher setting "channelConcurrency" must be a whole number above 0, got 2n.',
    );
  });

  it('does nothing when woken before start or after stop', async () => {
    fakeTimeouts();
    const store = new InMemoryAuditStore();
    const claims = jest.spyOn(store.alarmOutbox, 'claim');
    const ops = new ScriptedNotifier();
    const d = new AlarmDispatcher(
      store,
      new Map([['ops', ops]]),
      BASE,
      testFold,
      undefined,
      () => T0,
    );
    await store.append([], [entry(T0)]);
    /** Runs every timer the dispatcher may have set, and what they started on the memory store. */
    const settle = async () => {
      jest.runAllTimers();
      await turn();
    };
    d.wake();
    await settle();
    expect(claims).not.toHaveBeenCalled();
    await d.stop(0);
    d.start();
    d.wake();
    await settle();
    expect(claims).not.toHaveBeenCalled();
    expect(ops.calls).toHaveLength(0);
    expect(await d.runOnce()).toBe(0);
  });
});
