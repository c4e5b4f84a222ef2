import { makeEvent } from '../../test/fixtures/events';
import type { AuditEvent } from '../event/audit-event';
import { InMemoryAuditStore } from '../stores/memory/memory-audit.store';
import { AuditWriter } from './audit-writer';

/** The real in-memory store, recording the size of each transaction it is given. */
class CountingStore extends InMemoryAuditStore {
  readonly batches: number[] = [];
  failNext = false;
  override async append(events: readonly AuditEvent[]): Promise<void> {
    this.batches.push(events.length);
    if (this.failNext) {
      this.failNext = false;
      throw new Error('store unavailable');
    }
    await super.append(events);
  }
}

describe('AuditWriter (group commit)', () => {
  it('commits events submitted together in shared transactions of at most maxBatch', async () => {
    const store = new CountingStore();
    const writer = new AuditWriter(store, 100);
    await Promise.all(Array.from({ length: 250 }, () => writer.write(makeEvent())));
    expect(store.batches).toEqual([100, 100, 50]);
    expect(store.all()).toHaveLength(250);
    expect(writer.stats()).toMatchObject({ committed: 250, failed: 0, commits: 3, pending: 0 });
  });

  it('resolves each write only once its event is stored', async () => {
    const store = new CountingStore();
    const writer = new AuditWriter(store, 10);
    const event = makeEvent();
    await writer.write(event);
    await expect(store.get(event.id)).resolves.toEqual(event);
  });

  it('rejects the writes of a failed transaction and keeps going with the next', async () => {
    const store = new CountingStore();
    store.failNext = true;
    const writer = new AuditWriter(store, 5);
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => writer.write(makeEvent())));
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(5);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(writer.stats()).toMatchObject({ committed: 3, failed: 5, lastError: 'store unavailable' });
  });

  it('drain() waits for everything queued, including writes made while flushing', async () => {
    const store = new CountingStore();
    const writer = new AuditWriter(store, 3);
    for (let i = 0; i < 7; i++) void writer.write(makeEvent());
    await writer.drain();
    expect(store.all()).toHaveLength(7);
    expect(writer.stats().pending).toBe(0);
  });
});
