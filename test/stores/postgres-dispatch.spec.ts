import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'pg';
import type { AlarmDigestFold } from '../../src/alarms/alarm-claim-message';
import { AlarmDispatcher } from '../../src/alarms/alarm-dispatcher';
import type { AlarmMessage } from '../../src/stores/alarm-message';
import type { AlarmOutboxEntry } from '../../src/stores/alarm-outbox-model';
import { AlarmNotifier, type AlarmSendContext } from '../../src/alarms/notifiers/alarm-notifier';
import { PostgresAuditStore } from '../../src/stores/postgres/postgres-audit.store';
import { makeEvent } from '../fixtures/events';
import { until } from '../utils/until';
import { makeAlarm } from './alarm-fixtures';

jest.setTimeout(60_000);

const CONNECTION = process.env.AUDIT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `audit_dispatch_${process.pid}_${randomBytes(3).toString('hex')}`;
const admin = new Pool({ connectionString: CONNECTION, max: 1 });

afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

interface Delivery {
  id: string;
  count: number;
  by: string;
}

/** Records what it delivered; takes `delayMs` per message and gives up when aborted. */
class RecordingNotifier extends AlarmNotifier {
  aborted = 0;
  /** Why each aborted send was aborted, and which message it carried. */
  readonly abortedSends: { id: string; reason: string }[] = [];
  /** Sends in progress right now. */
  active = 0;
  /** While true, sends in progress do not finish (only an abort ends them). */
  hold = false;

  constructor(
    private readonly name: string,
    private readonly delayMs: number,
    private readonly delivered: Delivery[],
  ) {
    super();
  }

  async send(message: AlarmMessage, { signal }: AlarmSendContext): Promise<void> {
    this.active += 1;
    try {
      let waited = 0;
      do {
        await sleep(5, undefined, { signal });
        waited += 5;
      } while (waited < this.delayMs || this.hold);
    } catch (error) {
      this.aborted += 1;
      this.abortedSends.push({ id: message.id, reason: (signal.reason as Error).message });
      throw error;
    } finally {
      this.active -= 1;
    }
    this.delivered.push({ id: message.id, count: message.count, by: this.name });
  }
}

const fold: AlarmDigestFold = (members, total) => ({
  ...(members[0] as AlarmOutboxEntry).message,
  kind: 'digest',
  count: total,
});

describe('two AlarmDispatchers on one PostgreSQL schema', () => {
  it('deliver every alarm exactly once, also when one stops mid-way and its leases expire', async () => {
    const stores = [0, 1].map(
      () => new PostgresAuditStore({ connectionString: CONNECTION, schema, poolSize: 4 }),
    );
    const [storeA, storeB] = stores as [PostgresAuditStore, PostgresAuditStore];
    await Promise.all(stores.map((store) => store.init()));
    const delivered: Delivery[] = [];
    const slow = new RecordingNotifier('a', 150, delivered);
    const quick = new RecordingNotifier('b', 5, delivered);
    // Both dispatchers read one clock the test moves: due times, throttles and leases follow
    // it, not the machine's speed. Attempt timeouts are real but ten minutes long, so only a
    // stop ends a send that hangs.
    let clock = Date.parse('2026-03-01T10:00:00.000Z');
    const now = () => clock;
    const settings = {
      maxAttempts: 5,
      backoff: { initialMs: 50, maxMs: 200 },
      pollIntervalMs: 50,
      digestListSize: 5,
      timeoutMs: 600_000,
      leaseMs: 1_200_000,
      concurrency: 4,
    };
    const a = new AlarmDispatcher(
      storeA,
      new Map([['ops', slow]]),
      { ...settings, owner: 'a' },
      fold,
      undefined,
      now,
    );
    const b = new AlarmDispatcher(
      storeB,
      new Map([['ops', quick]]),
      { ...settings, owner: 'b' },
      fold,
      undefined,
      now,
    );
    const singles: AlarmOutboxEntry[] = [];
    let digestEntries = 0;
    /** Commits 15 alarms and 10 digest entries through one instance, and wakes it. */
    const raise = async (store: PostgresAuditStore, dispatcher: AlarmDispatcher) => {
      const alarms = Array.from({ length: 15 }, () => makeAlarm(clock));
      singles.push(...alarms);
      const digests = Array.from({ length: 10 }, (_, i) =>
        makeAlarm(clock, { digestKey: `burst-${i % 2}`, throttleMs: 300 }),
      );
      digestEntries += digests.length;
      await store.append([makeEvent()], [...alarms, ...digests]);
      dispatcher.wake();
      clock += 20;
    };
    try {
      // A takes part for sure: it delivers before B starts.
      a.start();
      await raise(storeA, a);
      await until(() => delivered.some((d) => d.by === 'a'));
      // Then both claim from the one outbox while alarms keep coming through either instance.
      b.start();
      for (let batch = 1; batch < 20; batch++) {
        await raise(batch % 2 ? storeA : storeB, batch % 2 ? a : b);
        // Pacing only, so that claims and commits interleave; nothing below depends on it.
        await sleep(20);
      }
      // Stop A while it has sends in flight. Held, B keeps at most its two slots of the channel
      // and then claims nothing more, so A gets some of the next alarms; held, A's sends can
      // only end by the stop.
      slow.hold = true;
      quick.hold = true;
      await raise(storeA, a);
      await until(() => slow.active > 0);
      // What A delivered before is written down (a settlement that failed is retried at each
      // poll): only the held sends are left to their leases.
      await until(() => a.stats().unsettled === 0);
      await a.stop(0);
      expect(a.stats().unsettled).toBe(0);
      expect(slow.aborted).toBeGreaterThan(0);
      expect(new Set(slow.abortedSends.map((s) => s.reason))).toEqual(
        new Set(['the application is shutting down']),
      );

      // B finishes everything, A's leftovers once their leases expire: a minute passes at each
      // look, so the twenty-minute leases run out after twenty looks. The clock moves only while
      // B has no send in flight and nothing left to write down, so no lease of B's own can run
      // out before its outcome is stored.
      quick.hold = false;
      await until(async () => {
        const { inFlight, unsettled } = b.stats();
        if (inFlight === 0 && unsettled === 0) {
          clock += 60_000;
          b.wake();
        }
        return (await storeB.alarmOutbox.stats()).pending === 0;
      }, 20);
      const ids = delivered.map((d) => d.id);
      expect(new Set(ids).size).toBe(ids.length);
      const singleIds = new Set(singles.map((s) => s.dedupKey));
      expect(ids.filter((id) => singleIds.has(id)).sort()).toEqual([...singleIds].sort());
      const digestCount = delivered
        .filter((d) => !singleIds.has(d.id))
        .reduce((sum, d) => sum + d.count, 0);
      expect(digestCount).toBe(digestEntries);
      expect(await storeB.alarmOutbox.stats()).toEqual({
        pending: 0,
        delivered: singles.length + digestEntries,
        dead: 0,
      });
      // Both took part, and B delivered what A was sending when it stopped.
      expect(delivered.some((d) => d.by === 'a')).toBe(true);
      expect(delivered.some((d) => d.by === 'b')).toBe(true);
      for (const { id } of slow.abortedSends) {
        expect(delivered.filter((d) => d.id === id)).toEqual([
          expect.objectContaining({ by: 'b' }),
        ]);
      }
      const attempts = await storeB.alarmOutbox.listAttempts({ limit: 1000 });
      expect(attempts.filter((t) => t.result === 'delivered')).toHaveLength(delivered.length);
    } finally {
      await a.stop(0);
      await b.stop(0);
      await Promise.all(stores.map((store) => store.close()));
    }
  });
});
