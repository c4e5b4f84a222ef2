import { parseAuditQuery } from '../../src/query/audit-query';
import { InMemoryAuditStore } from '../../src/stores/memory/memory-audit.store';
import { makeEvent, makeEvents } from '../fixtures/events';
import { describeStoreContract } from './store-contract';

describeStoreContract('memory', async () => {
  const store = new InMemoryAuditStore();
  await store.init();
  return { store, teardown: () => store.close() };
});

describe('InMemoryAuditStore', () => {
  it('names its engine', () => {
    expect(new InMemoryAuditStore().engine).toBe('memory');
  });

  it('works without init() and keeps its records after close()', async () => {
    const store = new InMemoryAuditStore();
    const event = makeEvent();
    await store.append([event]);
    await store.close();
    expect(store.all()).toStrictEqual([event]);
    expect(await store.get(event.id)).toStrictEqual(event);
  });

  it('lists every event oldest first with all()', async () => {
    const store = new InMemoryAuditStore();
    const events = makeEvents(5, (i) => ({
      timestamp: new Date(Date.UTC(2026, 0, 5 - i)).toISOString(),
    }));
    await store.append(events);
    expect(store.all()).toStrictEqual([...events].reverse());
  });

  it('returns fresh copies from all()', async () => {
    const store = new InMemoryAuditStore();
    const event = makeEvent();
    await store.append([event]);
    const [copy] = store.all();
    expect(copy).not.toBe(event);
    if (copy) copy.action = 'changed';
    expect(store.all()).toStrictEqual([event]);
  });

  it('forgets everything on clear(), and accepts the same ids again', async () => {
    const store = new InMemoryAuditStore();
    const events = makeEvents(3);
    await store.append(events);
    store.clear();
    expect(store.all()).toEqual([]);
    expect((await store.query(parseAuditQuery())).items).toEqual([]);
    await store.append(events);
    expect(store.all()).toHaveLength(3);
  });
});
