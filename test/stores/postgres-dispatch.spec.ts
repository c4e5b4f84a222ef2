import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'pg';
import { AlarmDispatcher, type AlarmDigestFold } from '../../src/alarms/alarm.dispatcher';
import type { AlarmMessage } from '../../src/alarms/alarm-message';
import type { AlarmOutboxEntry } from '../../src/alarms/alarm-outbox';
import { AlarmNotifier, type AlarmSendContext } from '../../src/alarms/notifiers/alarm-notifier';
import { PostgresAuditStore } from '../../src/stores/postgres/postgres-audit.store';
import { makeEvent } from '../fixtures/events';
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

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`condition not met in ${timeoutMs} ms`);
    await sleep(25);
  }
}

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
    const settings = {
      maxAttempts: 5,
      backoff: { initialMs: 50, maxMs: 200 },
      pollIntervalMs: 50,
      digestListSize: 5,
      timeoutMs: 500,
      leaseMs: 1500,
      concurrency: 4,
    };
    const a = new AlarmDispatcher(
      storeA,
      new Map([['ops', slow]]),
      { ...settings, owner: 'a' },
      fold,
    );
    const b = new AlarmDispatcher(
      storeB,
      new Map([['ops', quick]]),
      { ...settings, owner: 'b' },
      fold,
    );
    try {
      a.start();
      b.start();
      const singles: AlarmOutboxEntry[] = [];
      let digestEntries = 0;
      for (let batch = 0; batch < 20; batch++) {
        const alarms = Array.from({ length: 15 }, () => makeAlarm(Date.now()));
        singles.push(...alarms);
        const digests = Array.from({ length: 10 }, (_, i) =>
          makeAlarm(Date.now(), { digestKey: `burst-${i % 2}`, throttleMs: 300 }),
        );
        digestEntries += digests.length;
        const [store, dispatcher] = batch % 2 ? [storeA, a] : [storeB, b];
        await store.append([makeEvent()], [...alarms, ...digests]);
        dispatcher.wake();
        await sleep(20);
      }
      // Stop A while it has sends in flight: they are aborted and left to their leases.
      await until(() => slow.active > 0, 5_000);
      // Set in the same tick as the check: the send in progress can now only end by the abort,
      // however late the stop's deadline timer fires on a loaded machine.
      slow.hold = true;
      await a.stop(0);
      expect(slow.aborted).toBeGreaterThan(0);

      await until(async () => (await storeB.alarmStats()).pending === 0, 30_000);
      const ids = delivered.map((d) => d.id);
      expect(new Set(ids).size).toBe(ids.length);
      const singleIds = new Set(singles.map((s) => s.dedupKey));
      expect(ids.filter((id) => singleIds.has(id)).sort()).toEqual([...singleIds].sort());
      const digestCount = delivered
        .filter((d) => !singleIds.has(d.id))
        .reduce((sum, d) => sum + d.count, 0);
      expect(digestCount).toBe(digestEntries);
      expect(await storeB.alarmStats()).toEqual({
        pending: 0,
        delivered: singles.length + digestEntries,
        dead: 0,
      });
      // Both took part, and B finished what A left behind.
      expect(delivered.some((d) => d.by === 'a')).toBe(true);
      expect(delivered.some((d) => d.by === 'b')).toBe(true);
      const attempts = await storeB.listAlarmAttempts({ limit: 1000 });
      expect(attempts.filter((t) => t.result === 'delivered')).toHaveLength(delivered.length);
    } finally {
      await a.stop(0);
      await b.stop(0);
      await Promise.all(stores.map((store) => store.close()));
    }
  });
});
