import type {
  AlarmClaim,
  AlarmOutboxEntry,
  StoredAlarm,
} from '../../src/stores/alarm-outbox-model';
import { AlarmInputError } from '../../src/common/alarm-input.error';
import { AuditQueryError } from '../../src/common/audit-query.error';
import { AlarmOutbox } from '../../src/stores/alarm-outbox';
import type { AuditStore } from '../../src/stores/audit-store';
import { makeEvent, withoutSequence } from '../fixtures/events';
import { claimAt, makeAlarm, makeDigestAlarms, settlementOf } from './alarm-fixtures';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const CIRCULAR: Record<string, unknown> = {};
CIRCULAR.self = CIRCULAR;

function keys(items: readonly { dedupKey: string }[]): string[] {
  return items.map((item) => item.dedupKey);
}

function claimKeys(claims: readonly AlarmClaim[]): string[] {
  return claims.map((claim) => claim.alarm.dedupKey);
}

/**
 * The alarm outbox part of the store contract (see `AlarmOutbox`): atomic appends with events,
 * dedup keys, claims and leases, retries, dead letters, digest groups and their throttle,
 * listings and counts.
 *
 * @param current returns the store under test of the running test.
 */
export function describeAlarmOutboxContract(current: () => AuditStore): void {
  describe('alarm outbox', () => {
    let store: AuditStore;
    let outbox: AlarmOutbox;
    beforeEach(() => {
      store = current();
      const kept = store.alarmOutbox;
      if (kept === undefined) throw new Error(`${store.engine} store has no alarmOutbox`);
      outbox = kept;
    });

    const byKey = async (dedupKey: string): Promise<StoredAlarm> => {
      const [alarm] = await outbox.list({ dedupKey });
      if (!alarm) throw new Error(`no alarm ${dedupKey}`);
      return alarm;
    };

    it('exposes one outbox, the same object at every read', () => {
      expect(store.alarmOutbox).toBeInstanceOf(AlarmOutbox);
      expect(store.alarmOutbox).toBe(outbox);
    });

    describe('append', () => {
      it('stores events and their alarms together, pending and due when raised', async () => {
        const event = makeEvent();
        const alarm = makeAlarm(T0, { eventId: event.id, severity: 'high' });
        await store.append([event], [alarm]);
        expect(withoutSequence(await store.get(event.id))).toStrictEqual(event);
        const stored = await byKey(alarm.dedupKey);
        expect(stored).toStrictEqual({
          ...alarm,
          seq: expect.any(Number),
          status: 'pending',
          attempts: 0,
          nextAttemptAt: iso(T0),
        });
      });

      it('keeps the optional Slack text of a message as given, and its absence', async () => {
        const marked = makeAlarm(T0);
        marked.message.slackText = '*Phone changed* by ∗Eve∗ &amp; <https://runbook.example|rb>';
        const plain = makeAlarm(T0 + 1);
        await store.append([], [marked, plain]);
        expect((await byKey(marked.dedupKey)).message).toStrictEqual(marked.message);
        expect((await byKey(plain.dedupKey)).message).not.toHaveProperty('slackText');
        const claims = await outbox.claim(claimAt(T0 + 1));
        expect(claims.map((claim) => claim.alarm.message.slackText)).toStrictEqual([
          marked.message.slackText,
          undefined,
        ]);
      });

      it('stores alarms without events', async () => {
        const alarm = makeAlarm(T0, { kind: 'manual' });
        await store.append([], [alarm]);
        expect(keys(await outbox.list())).toEqual([alarm.dedupKey]);
      });

      it('stores a dedup key once, keeping the first entry, within and across batches', async () => {
        const first = makeAlarm(T0);
        const again = { ...first, rule: 'other' };
        const other = makeAlarm(T0);
        await store.append([makeEvent()], [first, again]);
        await store.append([makeEvent()], [{ ...first, channel: 'retry' }, other]);
        const all = await outbox.list();
        expect(all).toHaveLength(2);
        expect((await byKey(first.dedupKey)).rule).toBe('r');
        expect((await byKey(first.dedupKey)).channel).toBe('ops');
      });

      it('stores nothing when an event of the batch is invalid', async () => {
        const alarm = makeAlarm(T0);
        await expect(
          store.append([makeEvent(), makeEvent({ timestamp: 'soon' })], [alarm]),
        ).rejects.toThrow(/timestamp/);
        expect(await outbox.list()).toEqual([]);
      });

      it('stores nothing when an alarm of the batch is invalid', async () => {
        const event = makeEvent();
        const bad = makeAlarm(T0, { digestKey: 'k' });
        await expect(store.append([event], [makeAlarm(T0), bad])).rejects.toThrow(
          /Cannot store alarm .*a digest entry needs "throttleMs"/,
        );
        await expect(store.append([event], [bad])).rejects.toBeInstanceOf(AlarmInputError);
        expect(await store.get(event.id)).toBeUndefined();
        expect(await outbox.list()).toEqual([]);
      });

      it.each<[string, Partial<AlarmOutboxEntry>, RegExp]>([
        ['an empty dedup key', { dedupKey: '' }, /"dedupKey" must be a non-empty string/],
        ['an unknown kind', { kind: 'loud' as never }, /"kind" must be one of/],
        ['an unknown severity', { severity: 'dire' as never }, /"severity" must be one of/],
        ['a bad createdAt', { createdAt: 'now' }, /"createdAt" "now" is not an ISO-8601 instant/],
        // Values JSON cannot write are described, not handed to JSON.stringify (which throws).
        [
          'a BigInt createdAt',
          { createdAt: 1n as never },
          /"createdAt" 1n is not an ISO-8601 instant/,
        ],
        ['a throttle without digest key', { throttleMs: 5 }, /only applies together with/],
        ['no message', { message: null as never }, /"message" must be the rendered/],
      ])('rejects an entry with %s', async (_label, overrides, message) => {
        await expect(store.append([], [makeAlarm(T0, overrides)])).rejects.toThrow(message);
        await expect(store.append([], [makeAlarm(T0, overrides)])).rejects.toBeInstanceOf(
          AlarmInputError,
        );
      });
    });

    describe('claims and leases', () => {
      it('leases due messages oldest first, up to the limit, and skips leased ones', async () => {
        const alarms = [makeAlarm(T0 + 3), makeAlarm(T0 + 1), makeAlarm(T0 + 2), makeAlarm(T0 + 9)];
        await store.append([], alarms);
        const first = await outbox.claim(claimAt(T0 + 5, { limit: 2, owner: 'host-a' }));
        expect(claimKeys(first)).toEqual(keys([alarms[1]!, alarms[2]!]));
        for (const claim of first) {
          expect(claim.count).toBe(1);
          expect(claim.members).toEqual([]);
          expect(claim.lease).toMatch(/^host-a/);
          expect(claim.alarm.leaseUntil).toBe(iso(T0 + 5 + 30_000));
          expect(claim.alarm.leasedBy).toBe(claim.lease);
        }
        const second = await outbox.claim(claimAt(T0 + 5));
        expect(claimKeys(second)).toEqual([alarms[0]!.dedupKey]);
        expect(second[0]?.lease).not.toBe(first[0]?.lease);
        // The fourth is not due yet; the others are leased.
        expect(await outbox.claim(claimAt(T0 + 6))).toEqual([]);
        expect(claimKeys(await outbox.claim(claimAt(T0 + 9)))).toEqual([alarms[3]!.dedupKey]);
      });

      it('leases the most severe due messages first, then the oldest, per channel', async () => {
        // A flood of lesser alarms, then the urgent ones, on two channels.
        const flood = Array.from({ length: 6 }, (_, i) => makeAlarm(T0 + i));
        const low = makeAlarm(T0 - 10, { severity: 'low' });
        const info = makeAlarm(T0 - 20, { severity: 'info' });
        const high = makeAlarm(T0 + 20, { severity: 'high' });
        const critical = makeAlarm(T0 + 30, { severity: 'critical' });
        const otherCritical = makeAlarm(T0 + 25, { severity: 'critical', channel: 'sms' });
        const notDue = makeAlarm(T0 + 99, { severity: 'critical' });
        await store.append([], [info, low, ...flood, high, critical, otherCritical, notDue]);
        const first = await outbox.claim(claimAt(T0 + 50, { limit: 3 }));
        expect(claimKeys(first)).toEqual(keys([otherCritical, critical, high]));
        const excluding = await outbox.claim(
          claimAt(T0 + 50, { limit: 2, excludeChannels: ['sms'] }),
        );
        expect(claimKeys(excluding)).toEqual(keys([flood[0]!, flood[1]!]));
        const rest = await outbox.claim(claimAt(T0 + 50));
        expect(claimKeys(rest)).toEqual(keys([...flood.slice(2), low, info]));
      });

      it('ranks a digest head by its severity, and waits for its throttle period', async () => {
        const lesser = makeAlarm(T0, { severity: 'low' });
        const digest = makeDigestAlarms(3, 'urgent:ops', 60_000, (i) => T0 + 1 + i).map(
          (alarm) => ({ ...alarm, severity: 'critical' as const }),
        );
        await store.append([], [lesser, ...digest]);
        const first = await outbox.claim(claimAt(T0 + 10, { limit: 1 }));
        expect(claimKeys(first)).toEqual([digest[0]!.dedupKey]);
        expect(first[0]?.count).toBe(3);
        expect(claimKeys(await outbox.claim(claimAt(T0 + 10)))).toEqual([lesser.dedupKey]);
      });

      it('hands a message out again once its lease expired, with a new lease', async () => {
        const alarm = makeAlarm(T0);
        await store.append([], [alarm]);
        const [first] = await outbox.claim(claimAt(T0, { leaseMs: 1000 }));
        expect(await outbox.claim(claimAt(T0 + 999))).toEqual([]);
        const [again] = await outbox.claim(claimAt(T0 + 1000, { owner: 'other' }));
        expect(again?.alarm.dedupKey).toBe(alarm.dedupKey);
        expect(again?.lease).not.toBe(first?.lease);
        // The first claimer lost its lease: it cannot fail or dead-letter the entry any more.
        expect(
          await outbox.settle([
            settlementOf(first!, T0 + 1001, 'failed', { nextAttemptAt: T0 + 5000, error: 'x' }),
          ]),
        ).toEqual([false]);
        expect(await outbox.settle([settlementOf(first!, T0 + 1001, 'dead')])).toEqual([false]);
        const stored = await byKey(alarm.dedupKey);
        expect(stored.attempts).toBe(0);
        expect(stored.leasedBy).toBe(again?.lease);
        // Its attempts are still on record.
        expect(await outbox.listAttempts({ dedupKey: alarm.dedupKey })).toHaveLength(2);
      });

      it('returns nothing from an empty outbox', async () => {
        expect(await outbox.claim(claimAt(T0))).toEqual([]);
      });

      it('claims each message once under 10 concurrent claims', async () => {
        const alarms = Array.from({ length: 200 }, (_, i) => makeAlarm(T0 + i));
        await store.append([], alarms);
        const claims = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            outbox.claim(claimAt(T0 + 1000, { limit: 30, owner: `c${i}` })),
          ),
        );
        const claimed = claims.flat().map((claim) => claim.alarm.dedupKey);
        expect(claimed).toHaveLength(200);
        expect(new Set(claimed)).toEqual(new Set(keys(alarms)));
      });

      it('leaves out the channels a claim excludes, and claims them once they are not', async () => {
        const [slack1, mail, chat, slack2] = [
          makeAlarm(T0, { channel: 'slack' }),
          makeAlarm(T0 + 1, { channel: 'mail' }),
          makeAlarm(T0 + 2, { channel: 'chat' }),
          makeAlarm(T0 + 3, { channel: 'slack' }),
        ];
        await store.append([], [slack1, mail, chat, slack2]);
        const first = await outbox.claim(claimAt(T0 + 10, { excludeChannels: ['slack', 'chat'] }));
        expect(claimKeys(first)).toEqual([mail.dedupKey]);
        // Only excluded channels are due: nothing, and nothing of theirs is touched.
        expect(
          await outbox.claim(claimAt(T0 + 10, { excludeChannels: ['chat', 'slack'] })),
        ).toEqual([]);
        for (const alarm of [slack1, chat, slack2]) {
          const stored = await byKey(alarm.dedupKey);
          expect(stored.leaseUntil).toBeUndefined();
          expect(stored).toMatchObject({
            status: 'pending',
            attempts: 0,
            nextAttemptAt: iso(Date.parse(alarm.createdAt)),
          });
        }
        expect(
          claimKeys(await outbox.claim(claimAt(T0 + 10, { excludeChannels: ['slack'] }))),
        ).toEqual([chat.dedupKey]);
        expect(claimKeys(await outbox.claim(claimAt(T0 + 10, { excludeChannels: [] })))).toEqual(
          keys([slack1, slack2]),
        );
      });

      it.each<[string, object, RegExp]>([
        ['a limit of 0', { limit: 0 }, /"limit" must be a whole number from 1 to 1000/],
        ['a lease of 0', { leaseMs: 0 }, /"leaseMs" must be a whole number of ms above 0/],
        ['no owner', { owner: '' }, /"owner" must be a non-empty string/],
        ['a time that is not a number', { now: 'now' }, /"now" must be epoch milliseconds/],
        [
          'excluded channels that are not a list',
          { excludeChannels: 'slack' },
          /"excludeChannels" must be an array of channel names \(or left out\), got "slack"/,
        ],
        [
          'an excluded channel that is not a string',
          { excludeChannels: ['slack', 5] },
          /"excludeChannels\[1\]" must be a channel name \(a string\), got 5/,
        ],
        [
          'a BigInt limit',
          { limit: 10n },
          /"limit" must be a whole number from 1 to 1000, got 10n\./,
        ],
        [
          'an owner that is a circular object',
          { owner: CIRCULAR },
          /"owner" must be a non-empty string .*, got an object with keys \["self"\]\./,
        ],
      ])('rejects a claim with %s', async (_label, overrides, message) => {
        await expect(outbox.claim(claimAt(T0, overrides))).rejects.toThrow(message);
        await expect(outbox.claim(claimAt(T0, overrides))).rejects.toBeInstanceOf(AlarmInputError);
      });
    });

    describe('settling', () => {
      async function claimOne(now: number): Promise<AlarmClaim> {
        const [claim] = await outbox.claim(claimAt(now));
        if (!claim) throw new Error('nothing claimed');
        return claim;
      }

      it('marks a delivered message and records the attempt', async () => {
        const alarm = makeAlarm(T0);
        await store.append([], [alarm]);
        const claim = await claimOne(T0);
        expect(
          await outbox.settle([settlementOf(claim, T0 + 50, 'delivered', { statusCode: 200 })]),
        ).toEqual([true]);
        const stored = await byKey(alarm.dedupKey);
        expect(stored).toMatchObject({ status: 'delivered', attempts: 1, settledAt: iso(T0 + 50) });
        expect(stored.nextAttemptAt).toBeUndefined();
        expect(stored.leaseUntil).toBeUndefined();
        expect(stored.deliveredWith).toBeUndefined();
        expect(await outbox.listAttempts({ dedupKey: alarm.dedupKey })).toEqual([
          {
            alarmSeq: stored.seq,
            dedupKey: alarm.dedupKey,
            channel: 'ops',
            attempt: 1,
            at: iso(T0 + 50),
            durationMs: 12,
            result: 'delivered',
            count: 1,
            statusCode: 200,
          },
        ]);
        expect(await outbox.claim(claimAt(T0 + 100_000))).toEqual([]);
        // Settled already: a second settlement changes nothing.
        expect(await outbox.settle([settlementOf(claim, T0 + 60, 'delivered')])).toEqual([false]);
      });

      it('schedules the next attempt of a failed message and releases its lease', async () => {
        const alarm = makeAlarm(T0);
        await store.append([], [alarm]);
        let claim = await claimOne(T0);
        const schedule = [T0 + 1_000, T0 + 3_000, T0 + 7_000];
        for (const [i, next] of schedule.entries()) {
          expect(
            await outbox.settle([
              settlementOf(claim, next - 500, 'failed', {
                nextAttemptAt: next,
                error: `boom ${i + 1}`,
                statusCode: 503,
              }),
            ]),
          ).toEqual([true]);
          const stored = await byKey(alarm.dedupKey);
          expect(stored).toMatchObject({
            status: 'pending',
            attempts: i + 1,
            nextAttemptAt: iso(next),
            lastError: `boom ${i + 1}`,
          });
          expect(stored.leaseUntil).toBeUndefined();
          expect(await outbox.claim(claimAt(next - 1))).toEqual([]);
          claim = await claimOne(next);
          expect(claim.alarm.attempts).toBe(i + 1);
        }
        const attempts = await outbox.listAttempts({ dedupKey: alarm.dedupKey });
        expect(attempts.map((a) => [a.attempt, a.result, a.error])).toEqual([
          [3, 'failed', 'boom 3'],
          [2, 'failed', 'boom 2'],
          [1, 'failed', 'boom 1'],
        ]);
      });

      it('dead-letters a message with its last error', async () => {
        const alarm = makeAlarm(T0);
        await store.append([], [alarm]);
        const claim = await claimOne(T0);
        expect(
          await outbox.settle([
            settlementOf(claim, T0 + 5, 'dead', { error: 'HTTP 404', statusCode: 404 }),
          ]),
        ).toEqual([true]);
        expect(await byKey(alarm.dedupKey)).toMatchObject({
          status: 'dead',
          attempts: 1,
          lastError: 'HTTP 404',
          settledAt: iso(T0 + 5),
        });
        expect(await outbox.claim(claimAt(T0 + 1_000_000))).toEqual([]);
        expect(await outbox.stats()).toEqual({ pending: 0, delivered: 0, dead: 1 });
      });

      it('rejects a settlement whose attempt count is a BigInt, naming the field', async () => {
        await store.append([], [makeAlarm(T0)]);
        const claim = await claimOne(T0);
        const settlement = settlementOf(claim, T0, 'delivered');
        const bad = { ...settlement, attempt: { ...settlement.attempt, count: 1n as never } };
        await expect(outbox.settle([bad])).rejects.toThrow(
          /^AlarmOutbox\.settle\(\): "attempt\.count" must be a whole number, got 1n\.$/,
        );
        await expect(outbox.settle([bad])).rejects.toBeInstanceOf(AlarmInputError);
      });

      it('rejects a failed settlement without its next attempt time', async () => {
        await store.append([], [makeAlarm(T0)]);
        const claim = await claimOne(T0);
        await expect(outbox.settle([settlementOf(claim, T0, 'failed')])).rejects.toThrow(
          /"nextAttemptAt" must be an ISO-8601 instant for a failed attempt/,
        );
      });
    });

    describe('digests', () => {
      const KEY = 'digest:ops';
      const THROTTLE = 10_000;

      it('sends the first entry of a key at once and folds later ones, each counted once', async () => {
        const [a1] = makeDigestAlarms(1, KEY, THROTTLE, () => T0);
        await store.append([], [a1!]);
        const [lead] = await outbox.claim(claimAt(T0));
        expect(lead?.alarm.dedupKey).toBe(a1!.dedupKey);
        expect(lead?.count).toBe(1);
        expect(keys(lead!.members)).toEqual([a1!.dedupKey]);
        await outbox.settle([settlementOf(lead!, T0 + 10, 'delivered')]);

        // Three more within the throttle period: they wait for its end.
        const burst = makeDigestAlarms(3, KEY, THROTTLE, (i) => T0 + 1_000 + i);
        await store.append([], burst);
        expect(await outbox.claim(claimAt(T0 + 1_000))).toEqual([]);
        expect(await outbox.claim(claimAt(T0 + THROTTLE - 1))).toEqual([]);
        const [digest] = await outbox.claim(claimAt(T0 + THROTTLE, { listSize: 2 }));
        expect(digest?.alarm.dedupKey).toBe(burst[0]!.dedupKey);
        expect(digest?.count).toBe(3);
        expect(keys(digest!.members)).toEqual(keys(burst.slice(0, 2)));
        expect(digest?.members[0]?.digestHead).toBe(digest?.alarm.seq);

        // Raised while the digest is out: not part of it, even when it is retried.
        const late = makeAlarm(T0 + THROTTLE + 500, { digestKey: KEY, throttleMs: THROTTLE });
        await store.append([], [late]);
        await outbox.settle([
          settlementOf(digest!, T0 + THROTTLE + 600, 'failed', {
            nextAttemptAt: T0 + THROTTLE + 2_000,
            error: 'timeout',
          }),
        ]);
        expect(await outbox.claim(claimAt(T0 + THROTTLE + 1_000))).toEqual([]);
        const [retry] = await outbox.claim(claimAt(T0 + THROTTLE + 2_000));
        expect(retry?.alarm.dedupKey).toBe(burst[0]!.dedupKey);
        expect(retry?.count).toBe(3);
        expect(retry?.alarm.attempts).toBe(1);
        await outbox.settle([settlementOf(retry!, T0 + THROTTLE + 2_100, 'delivered')]);
        for (const member of burst) {
          expect(await byKey(member.dedupKey)).toMatchObject({
            status: 'delivered',
            deliveredWith: digest?.alarm.seq,
            settledAt: iso(T0 + THROTTLE + 2_100),
          });
        }

        // The late one opens the next period.
        expect(await outbox.claim(claimAt(2 * THROTTLE + T0 - 1))).toEqual([]);
        const [next] = await outbox.claim(claimAt(T0 + 2 * THROTTLE));
        expect(next?.alarm.dedupKey).toBe(late.dedupKey);
        expect(next?.count).toBe(1);
      });

      it('throttles each digest key on its own, and leaves single alarms alone', async () => {
        const a = makeDigestAlarms(2, 'key-a', THROTTLE, () => T0);
        const b = makeDigestAlarms(2, 'key-b', THROTTLE, () => T0);
        const single = makeAlarm(T0);
        await store.append([], [...a, ...b, single]);
        const claims = await outbox.claim(claimAt(T0));
        expect(claims.map((c) => [c.alarm.dedupKey, c.count]).sort()).toEqual(
          [
            [a[0]!.dedupKey, 2],
            [b[0]!.dedupKey, 2],
            [single.dedupKey, 1],
          ].sort(),
        );
      });

      it('leaves the digests of an excluded channel alone, ungrouped, until a claim includes it', async () => {
        const slack = [0, 1].map((i) =>
          makeAlarm(T0 + i, { channel: 'slack', digestKey: 'digest:slack', throttleMs: THROTTLE }),
        );
        const mail = makeAlarm(T0 + 2, { channel: 'mail' });
        await store.append([], [...slack, mail]);
        const first = await outbox.claim(claimAt(T0 + 10, { excludeChannels: ['slack'] }));
        expect(claimKeys(first)).toEqual([mail.dedupKey]);
        for (const alarm of slack) {
          const stored = await byKey(alarm.dedupKey);
          expect(stored.digestHead).toBeUndefined();
          expect(stored.leaseUntil).toBeUndefined();
        }
        // Raised while the channel was excluded: still part of the first group.
        const later = makeAlarm(T0 + 20, {
          channel: 'slack',
          digestKey: 'digest:slack',
          throttleMs: THROTTLE,
        });
        await store.append([], [later]);
        const [digest] = await outbox.claim(claimAt(T0 + 30, { listSize: 5 }));
        expect(digest?.alarm.dedupKey).toBe(slack[0]!.dedupKey);
        expect(digest?.count).toBe(3);
        expect(keys(digest!.members)).toEqual(keys([...slack, later]));

        // A formed group whose head is due again is left out the same way.
        await outbox.settle([
          settlementOf(digest!, T0 + 40, 'failed', { nextAttemptAt: T0 + 50, error: 'timeout' }),
        ]);
        expect(await outbox.claim(claimAt(T0 + 50, { excludeChannels: ['slack'] }))).toEqual([]);
        const [retry] = await outbox.claim(claimAt(T0 + 50, { excludeChannels: ['mail'] }));
        expect(retry?.alarm.dedupKey).toBe(slack[0]!.dedupKey);
        expect(retry?.count).toBe(3);
      });

      it('dead-letters every member with its group', async () => {
        const burst = makeDigestAlarms(4, KEY, THROTTLE, (i) => T0 + i);
        await store.append([], burst);
        const [claim] = await outbox.claim(claimAt(T0 + 10));
        expect(claim?.count).toBe(4);
        await outbox.settle([settlementOf(claim!, T0 + 20, 'dead', { error: 'HTTP 410' })]);
        for (const member of burst) {
          expect(await byKey(member.dedupKey)).toMatchObject({
            status: 'dead',
            lastError: 'HTTP 410',
          });
        }
        expect(await outbox.stats()).toEqual({ pending: 0, delivered: 0, dead: 4 });
      });

      it('sends at most one message per throttle period and counts every entry once', async () => {
        // 600 entries over 60 s in uneven bursts, claims every 250 ms, every other send fails
        // once: messages start at least THROTTLE apart and their counts add up exactly.
        const entries = makeDigestAlarms(600, KEY, THROTTLE, (i) => T0 + Math.floor((i * i) / 6));
        const last = T0 + Math.floor((599 * 599) / 6);
        let appended = 0;
        const formed: number[] = [];
        let counted = 0;
        let sends = 0;
        for (let now = T0; now <= last + 2 * THROTTLE; now += 250) {
          const due = entries.slice(appended).filter((e) => Date.parse(e.createdAt) <= now);
          if (due.length > 0) {
            await store.append([], due);
            appended += due.length;
          }
          for (const claim of await outbox.claim(claimAt(now))) {
            sends += 1;
            if (claim.alarm.attempts === 0) formed.push(now);
            if (claim.alarm.attempts === 0 && sends % 2 === 0) {
              await outbox.settle([
                settlementOf(claim, now, 'failed', { nextAttemptAt: now + 3_000 }),
              ]);
            } else {
              counted += claim.count;
              await outbox.settle([settlementOf(claim, now, 'delivered')]);
            }
          }
        }
        expect(appended).toBe(600);
        expect(counted).toBe(600);
        for (let i = 1; i < formed.length; i++) {
          expect((formed[i] as number) - (formed[i - 1] as number)).toBeGreaterThanOrEqual(
            THROTTLE,
          );
        }
        expect(formed.length).toBeLessThanOrEqual(Math.ceil((last - T0) / THROTTLE) + 1);
        expect(await outbox.stats()).toEqual({ pending: 0, delivered: 600, dead: 0 });
      });
    });

    describe('listing and counts', () => {
      it('lists entries newest first with filters, and attempts with theirs', async () => {
        const alarms = [
          makeAlarm(T0, { rule: 'a', channel: 'mail' }),
          makeAlarm(T0 + 1, { rule: 'b', channel: 'mail' }),
          makeAlarm(T0 + 2, { rule: 'a', channel: 'chat' }),
          makeAlarm(T0 + 3, { rule: 'a', channel: 'chat', digestKey: 'dk', throttleMs: 60_000 }),
        ];
        await store.append([], alarms);
        expect(keys(await outbox.list())).toEqual(keys([...alarms].reverse()));
        expect(keys(await outbox.list({ rule: 'a', channel: 'chat' }))).toEqual(
          keys([alarms[3]!, alarms[2]!]),
        );
        expect(keys(await outbox.list({ digestKey: 'dk' }))).toEqual([alarms[3]!.dedupKey]);
        expect(keys(await outbox.list({ limit: 1 }))).toEqual([alarms[3]!.dedupKey]);

        const claims = await outbox.claim(claimAt(T0 + 10));
        expect(claims).toHaveLength(4);
        const [c0, c1, c2, c3] = claims;
        await outbox.settle([
          settlementOf(c0!, T0 + 20, 'delivered'),
          settlementOf(c1!, T0 + 21, 'dead', { error: 'HTTP 400' }),
          settlementOf(c2!, T0 + 22, 'failed', { nextAttemptAt: T0 + 99, error: 'slow' }),
          settlementOf(c3!, T0 + 23, 'delivered'),
        ]);
        expect(keys(await outbox.list({ status: 'pending' }))).toEqual([alarms[2]!.dedupKey]);
        expect(keys(await outbox.list({ status: 'dead' }))).toEqual([alarms[1]!.dedupKey]);
        expect(keys(await outbox.list({ status: 'delivered', rule: 'a' }))).toEqual(
          keys([alarms[3]!, alarms[0]!]),
        );
        expect(await outbox.stats()).toEqual({
          pending: 1,
          delivered: 2,
          dead: 1,
          oldestPendingAt: iso(T0 + 2),
        });

        const attempts = await outbox.listAttempts();
        expect(attempts.map((a) => a.dedupKey)).toEqual(keys([...alarms].reverse()));
        expect(keys(await outbox.listAttempts({ channel: 'mail' }))).toEqual(
          keys([alarms[1]!, alarms[0]!]),
        );
        expect(keys(await outbox.listAttempts({ result: 'failed' }))).toEqual([
          alarms[2]!.dedupKey,
        ]);
        expect(await outbox.listAttempts({ limit: 2 })).toHaveLength(2);
      });

      it('counts nothing in an empty outbox', async () => {
        expect(await outbox.stats()).toEqual({ pending: 0, delivered: 0, dead: 0 });
        expect(await outbox.list()).toEqual([]);
        expect(await outbox.listAttempts()).toEqual([]);
      });

      it('rejects bad list filters', async () => {
        await expect(outbox.list({ status: 'lost' as never })).rejects.toThrow(
          /"status" must be pending, delivered or dead/,
        );
        await expect(outbox.list({ limit: 0 })).rejects.toThrow(/"limit" must be a whole/);
        await expect(outbox.listAttempts({ limit: 5000 })).rejects.toThrow(/1 to 1000/);
        await expect(outbox.list({ limit: 0 })).rejects.toBeInstanceOf(AuditQueryError);
        await expect(outbox.listAttempts({ limit: 5000 })).rejects.toMatchObject({
          code: 'AUDIT_QUERY_INVALID',
        });
        // Values JSON cannot write are described, not handed to JSON.stringify (which throws).
        const bad: [() => Promise<unknown>, RegExp][] = [
          [() => outbox.list({ limit: 10n as never }), /"limit" must be a whole .*, got 10n\./],
          [() => outbox.list({ status: 1n as never }), /"status" must be .*, got 1n\./],
          [() => outbox.list({ rule: 1n as never }), /"rule" must be a string, got 1n\./],
          [
            () => outbox.list({ channel: CIRCULAR as never }),
            /"channel" must be a string, got an object with keys \["self"\]\./,
          ],
          [() => outbox.listAttempts({ result: 1n as never }), /"result" must be .*, got 1n\./],
        ];
        for (const [list, message] of bad) {
          const error = await list().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(AuditQueryError);
          expect((error as Error).message).toMatch(message);
        }
      });
    });
  });
}
