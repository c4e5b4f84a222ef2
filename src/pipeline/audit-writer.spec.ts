import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeAlarmMessage } from '../../test/fixtures/alarm-messages';
import { makeEvent } from '../../test/fixtures/events';
import { Gate, turn, until, fakeOnly } from '../../test/utils/until';
import type { AlarmOutboxEntry } from '../stores/alarm-outbox-model';
import type { AuditEvent } from '../event/audit-event';
import { InMemoryAuditStore } from '../stores/memory/memory-audit.store';
import { AuditWriter } from './audit-writer';
import { AuditCommitError, type AuditWriterSettings } from './audit-writer.contract';
import { AuditSpool } from './spool';

/** The real in-memory store, recording each transaction and able to fail or stall on demand. */
class CountingStore extends InMemoryAuditStore {
  readonly batches: number[] = [];
  failing = false;
  delayMs = 0;
  private readonly gate = new Gate();

  /** Holds every transaction from now on until the returned function is called. */
  hold(): () => void {
    return this.gate.close();
  }

  override async append(
    events: readonly AuditEvent[],
    alarms?: readonly AlarmOutboxEntry[],
  ): Promise<void> {
    this.batches.push(events.length);
    const held = this.gate.closed;
    if (held) await held;
    if (this.delayMs) await sleep(this.delayMs);
    if (this.failing) throw new Error('store unavailable');
    await super.append(events, alarms);
  }
}

/**
 * Fakes `setTimeout` and `clearTimeout` only, the writer's flush and retry timers: a test moves
 * them with `jest.advanceTimersByTime`. Its turn-of-the-loop waits (`setImmediate`) stay real.
 */
function fakeTimeouts(): void {
  fakeOnly(['setTimeout', 'clearTimeout']);
}

/**
 * Lets a flush that a timer may have started run as far as the in-memory store: the writer waits
 * one turn of the event loop before a commit, and the rest runs on promises.
 */
async function afterAnyFlush(): Promise<void> {
  await turn();
  await turn();
}

const ack: AuditWriterSettings = {
  durability: 'ack',
  maxBatch: 100,
  flushIntervalMs: 20,
  maxQueue: 1000,
  onQueueFull: 'block',
  retryIntervalMs: 30,
};
const async: AuditWriterSettings = { ...ack, durability: 'async' };

describe("AuditWriter in 'ack' mode (group commit)", () => {
  it('commits events submitted together in shared transactions of at most maxBatch', async () => {
    const store = new CountingStore();
    const writer = new AuditWriter(store, ack, undefined);
    const receipts = await Promise.all(
      Array.from({ length: 250 }, () => writer.write(makeEvent())),
    );
    expect(new Set(receipts)).toEqual(new Set(['committed']));
    expect(store.batches).toEqual([100, 100, 50]);
    expect(store.all()).toHaveLength(250);
    expect(writer.stats()).toMatchObject({ committed: 250, failed: 0, commits: 3, pending: 0 });
  });

  it('resolves each write only once its event is stored', async () => {
    const store = new CountingStore();
    const writer = new AuditWriter(store, { ...ack, maxBatch: 10 }, undefined);
    const event = makeEvent();
    await writer.write(event);
    await expect(store.get(event.id)).resolves.toEqual(event);
  });

  it('rejects the writes of a failed transaction with AuditCommitError naming the events', async () => {
    const store = new CountingStore();
    store.failing = true;
    const reported: string[] = [];
    const writer = new AuditWriter(store, { ...ack, maxBatch: 5 }, undefined, {
      report: (_l, m) => reported.push(m),
    });
    const events = Array.from({ length: 8 }, () => makeEvent());
    const results = await Promise.allSettled(events.map((e) => writer.write(e)));
    expect(
      results.every((r) => r.status === 'rejected' && r.reason instanceof AuditCommitError),
    ).toBe(true);
    const first = results[0] as PromiseRejectedResult;
    expect((first.reason as AuditCommitError).eventIds).toContain(events[0]!.id);
    expect(writer.stats()).toMatchObject({
      committed: 0,
      failed: 8,
      lastError: 'store unavailable',
    });
    expect(
      reported.some((m) => m.includes('audit.pipeline_failure') && m.includes(events[0]!.id)),
    ).toBe(true);
    store.failing = false;
    await expect(writer.write(makeEvent())).resolves.toBe('committed');
  });

  it('treats a store that throws instead of rejecting as a failed transaction', async () => {
    class ThrowingStore extends InMemoryAuditStore {
      throwing = true;
      // A third-party store written without async: its error is thrown, not returned.
      override append(events: readonly AuditEvent[]): Promise<void> {
        if (this.throwing) throw new Error('driver threw');
        return super.append(events);
      }
    }
    const store = new ThrowingStore();
    const writer = new AuditWriter(store, ack, undefined, { report: () => undefined });
    const failed = writer.write(makeEvent());
    await expect(failed).rejects.toBeInstanceOf(AuditCommitError);
    await expect(failed).rejects.toThrow(/driver threw/);
    expect(writer.stats()).toMatchObject({ committed: 0, failed: 1, lastError: 'driver threw' });
    store.throwing = false;
    await expect(writer.write(makeEvent())).resolves.toBe('committed');
  });

  it('close() waits for everything queued, including writes made while flushing', async () => {
    const store = new CountingStore();
    const writer = new AuditWriter(store, { ...ack, maxBatch: 3 }, undefined);
    const writes = Array.from({ length: 7 }, () => writer.write(makeEvent()));
    await writer.close();
    await Promise.all(writes);
    expect(store.all()).toHaveLength(7);
    expect(writer.stats().pending).toBe(0);
  });
});

describe("AuditWriter in 'async' mode", () => {
  it('answers at once and flushes by size and by interval', async () => {
    fakeTimeouts();
    try {
      // By size: the interval is far away, so only the tenth event can start the flush.
      const store = new CountingStore();
      const writer = new AuditWriter(
        store,
        { ...async, maxBatch: 10, flushIntervalMs: 60_000 },
        undefined,
      );
      const receipts = await Promise.all(
        Array.from({ length: 10 }, () => writer.write(makeEvent())),
      );
      expect(new Set(receipts)).toEqual(new Set(['queued']));
      await until(() => store.all().length === 10);
      await writer.write(makeEvent());
      jest.advanceTimersByTime(59_999);
      await afterAnyFlush();
      expect(store.batches).toEqual([10]);
      await writer.close();
      expect(store.all()).toHaveLength(11);

      // By interval: one event, far from a full batch, is flushed by the timer alone.
      const timed = new CountingStore();
      const ticking = new AuditWriter(
        timed,
        { ...async, maxBatch: 10, flushIntervalMs: 30 },
        undefined,
      );
      await ticking.write(makeEvent());
      jest.advanceTimersByTime(29);
      await afterAnyFlush();
      expect(timed.batches).toEqual([]);
      jest.advanceTimersByTime(1);
      await until(() => timed.all().length === 1);
      await ticking.close();
    } finally {
      jest.useRealTimers();
    }
  });

  it("blocks writers when the queue is full with onQueueFull 'block'", async () => {
    const store = new CountingStore();
    const release = store.hold();
    const writer = new AuditWriter(store, { ...async, maxBatch: 5, maxQueue: 10 }, undefined);
    const queued: number[] = [];
    const pendingSeen: number[] = [];
    const writes = Array.from({ length: 40 }, (_, i) =>
      writer.write(makeEvent()).then((receipt) => {
        queued.push(i);
        pendingSeen.push(writer.stats().pending);
        return receipt;
      }),
    );
    // The first commit is held: ten writes found room (five committing, five queued), the
    // other thirty wait for it.
    await until(() => store.batches.length === 1);
    await turn();
    expect(queued).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(writer.stats().pending).toBe(10);
    release();
    expect(new Set(await Promise.all(writes))).toEqual(new Set(['queued']));
    expect(queued).toHaveLength(40);
    expect(Math.max(...pendingSeen)).toBeLessThanOrEqual(10);
    await writer.close();
    expect(store.all()).toHaveLength(40);
  });

  it("drops and counts with onQueueFull 'drop'", async () => {
    const store = new CountingStore();
    store.delayMs = 50;
    const reported: string[] = [];
    const writer = new AuditWriter(
      store,
      { ...async, maxBatch: 5, maxQueue: 10, onQueueFull: 'drop' },
      undefined,
      { report: (_l, m) => reported.push(m) },
    );
    const receipts = await Promise.all(Array.from({ length: 30 }, () => writer.write(makeEvent())));
    const dropped = receipts.filter((r) => r === 'dropped').length;
    expect(dropped).toBe(20);
    expect(writer.stats().dropped).toBe(20);
    expect(reported[0]).toMatch(/queue full .*dropped/);
    await writer.close();
    expect(store.all()).toHaveLength(10);
  });

  it('keeps failed batches in memory and retries them until the store answers', async () => {
    const store = new CountingStore();
    store.failing = true;
    const writer = new AuditWriter(
      store,
      { ...async, maxBatch: 5, retryIntervalMs: 20 },
      undefined,
    );
    await Promise.all(Array.from({ length: 12 }, () => writer.write(makeEvent())));
    // Three attempts failed, and all twelve events are still held.
    await until(() => store.batches.length >= 3);
    expect(writer.stats()).toMatchObject({ degraded: true, pending: 12 });
    store.failing = false;
    await until(() => store.all().length === 12);
    await until(() => !writer.stats().degraded && writer.stats().pending === 0);
    expect(writer.stats()).toMatchObject({ degraded: false, pending: 0 });
    await writer.close();
  });

  it('never holds more than maxQueue events, counting the batch being committed', async () => {
    const store = new CountingStore();
    store.failing = true;
    store.delayMs = 5;
    const writer = new AuditWriter(
      store,
      { ...async, maxBatch: 5, maxQueue: 10, onQueueFull: 'drop', retryIntervalMs: 5 },
      undefined,
    );
    let peak = 0;
    for (let i = 0; i < 200; i++) {
      await writer.write(makeEvent());
      peak = Math.max(peak, writer.stats().pending);
      // Go on only once another commit attempt has begun: writes arrive while it runs.
      if (i % 10 === 0) {
        const attempts = store.batches.length;
        await until(() => store.batches.length > attempts);
      }
    }
    expect(peak).toBe(10);
    expect(writer.stats().dropped).toBeGreaterThan(0);
    store.failing = false;
    await writer.close();
    expect(store.all()).toHaveLength(10);
  });

  it('counts what cannot be committed at shutdown as lost, and says so', async () => {
    const store = new CountingStore();
    store.failing = true;
    const reported: string[] = [];
    const writer = new AuditWriter(store, { ...async, retryIntervalMs: 10_000 }, undefined, {
      report: (_l, m) => reported.push(m),
    });
    await writer.write(makeEvent());
    await writer.close();
    expect(writer.stats().lost).toBe(1);
    expect(reported.at(-1)).toMatch(/lost at shutdown/);
  });
});

describe('AuditWriter with a spool', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'audit-writer-spool-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const spoolAt = (path: string) => new AuditSpool({ path, maxBytes: 1024 * 1024 });

  it('spools while the store is down, stays degraded, and replays everything exactly once', async () => {
    const store = new CountingStore();
    store.failing = true;
    const writer = new AuditWriter(
      store,
      { ...ack, maxBatch: 10, retryIntervalMs: 20 },
      spoolAt(join(dir, 's')),
    );
    await writer.start();
    const events = Array.from({ length: 35 }, () => makeEvent());
    const receipts = await Promise.all(events.map((e) => writer.write(e)));
    expect(new Set(receipts)).toEqual(new Set(['spooled']));
    expect(writer.stats()).toMatchObject({ degraded: true, spooled: 35 });
    expect(writer.spoolStats()?.events).toBe(35);
    const attemptsWhileDegraded = store.batches.length;
    await writer.write(makeEvent());
    // Once degraded, new batches go straight to the spool instead of waiting on a dead store.
    expect(store.batches.length).toBeLessThanOrEqual(attemptsWhileDegraded + 1);
    store.failing = false;
    await until(() => !writer.stats().degraded);
    expect(writer.stats()).toMatchObject({ degraded: false, replayed: 36 });
    expect(store.all()).toHaveLength(36);
    expect(new Set(store.all().map((e) => e.id)).size).toBe(36);
    expect(writer.spoolStats()?.events).toBe(0);
    await writer.close();
  });

  it('keeps alarms with their events: committed together, spooled together, replayed together', async () => {
    const alarmOf = (event: AuditEvent): AlarmOutboxEntry => ({
      dedupKey: `mfa:security:${event.id}`,
      rule: 'mfa',
      channel: 'security',
      kind: 'event',
      severity: 'high',
      eventId: event.id,
      createdAt: event.timestamp,
      message: makeAlarmMessage({ id: `mfa:security:${event.id}` }),
    });
    const store = new CountingStore();
    const woken: number[] = [];
    const writer = new AuditWriter(
      store,
      { ...ack, retryIntervalMs: 20 },
      spoolAt(join(dir, 's')),
      { onAlarmsStored: () => woken.push(woken.length + 1) },
    );
    await writer.start();
    const [committed, spooled, plain] = [makeEvent(), makeEvent(), makeEvent()];
    await expect(writer.write(committed, [alarmOf(committed)])).resolves.toBe('committed');
    expect(woken).toHaveLength(1);
    store.failing = true;
    await expect(writer.write(spooled, [alarmOf(spooled)])).resolves.toBe('spooled');
    expect((await store.alarmOutbox.list()).map((a) => a.eventId)).toEqual([committed.id]);
    store.failing = false;
    await writer.write(plain); // no alarms: the store sees a one-argument append
    await until(() => !writer.stats().degraded);
    const stored = await store.alarmOutbox.list();
    expect(stored.map((a) => a.eventId).sort()).toEqual([committed.id, spooled.id].sort());
    expect(woken).toHaveLength(2);
    await writer.close();
  });

  it('replays what an earlier process left in the spool when it starts', async () => {
    const path = join(dir, 's');
    const down = new CountingStore();
    down.failing = true;
    const first = new AuditWriter(down, { ...ack, retryIntervalMs: 60_000 }, spoolAt(path));
    await first.start();
    await Promise.all(Array.from({ length: 5 }, () => first.write(makeEvent())));
    await first.close();

    const store = new CountingStore();
    const reported: string[] = [];
    const second = new AuditWriter(store, ack, spoolAt(path), {
      report: (_l, m) => reported.push(m),
    });
    await second.start();
    await until(() => store.all().length >= 5);
    expect(store.all()).toHaveLength(5);
    expect(reported[0]).toMatch(/replaying 5 spooled audit event/);
    await second.close();
  });

  it('falls back to failing the write when the spool is full', async () => {
    const store = new CountingStore();
    store.failing = true;
    const writer = new AuditWriter(
      store,
      { ...ack, maxBatch: 1 },
      new AuditSpool({ path: join(dir, 's'), maxBytes: 64 * 1024 }),
    );
    await writer.start();
    const big = (): AuditEvent => makeEvent({ message: 'x'.repeat(8000) });
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => writer.write(big())));
    expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    expect(rejected[0]!.reason).toBeInstanceOf(AuditCommitError);
    await writer.close();
  });
});
