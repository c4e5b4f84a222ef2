import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import type { AuditEvent } from '../../src/event/audit-event';
import { parseAuditQuery } from '../../src/query/audit-query';
import { PostgresAuditStore } from '../../src/stores/postgres/postgres-audit.store';
import { makeEvents } from '../fixtures/events';

jest.setTimeout(60_000);

const CONNECTION = process.env.AUDIT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const admin = new Pool({ connectionString: CONNECTION, max: 2 });
const schemas: string[] = [];
const opened: PostgresAuditStore[] = [];

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

afterAll(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

async function open(partitioning: 'none' | 'monthly'): Promise<PostgresAuditStore> {
  const schema = `audit_seq_${process.pid}_${randomBytes(3).toString('hex')}`;
  schemas.push(schema);
  const store = new PostgresAuditStore({ connectionString: CONNECTION, schema, partitioning });
  opened.push(store);
  await store.init();
  // The seal init() starts is over: from here on, only the test asks for one.
  await store.seal();
  return store;
}

/**
 * Commits the events the way an application's own transaction does (the ORM integrations'
 * atomic mode): they are queued for the seal, which the store runs only when asked to here.
 */
async function commitInOwnTransaction(store: PostgresAuditStore, events: AuditEvent[]) {
  const statements = await store.appendStatements(events);
  const client = new Client({ connectionString: CONNECTION });
  await client.connect();
  try {
    await client.query('BEGIN');
    for (const { text, values } of statements) await client.query(text, [...values]);
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
}

/** `[id, sequence]` of each event, as read through query, get and history. */
async function numbersRead(store: PostgresAuditStore, events: readonly AuditEvent[]) {
  const pair = (e: AuditEvent | undefined) => [e?.id, e?.sequence];
  const page = await store.query(parseAuditQuery({ limit: 10 }));
  return {
    query: page.items.reverse().map(pair),
    get: await Promise.all(events.map(async (e) => pair(await store.get(e.id)))),
    history: (await store.history('order', '7')).map(pair),
  };
}

describe.each(['none', 'monthly'] as const)(
  'PostgresAuditStore sequence numbers on read (partitioning: %s)',
  (partitioning) => {
    it('gives a queried event no sequence number before the seal, and its number after', async () => {
      const store = await open(partitioning);
      const events = makeEvents(3, (i) => ({
        timestamp: new Date(T0 + i * 1000).toISOString(),
        target: { type: 'order', id: '7' },
      }));
      await commitInOwnTransaction(store, events);

      const unsealed = events.map((e) => [e.id, undefined]);
      const before = await numbersRead(store, events);
      expect(before).toEqual({ query: unsealed, get: unsealed, history: unsealed });
      const raw = await store.get(events[0]!.id);
      expect(raw).not.toHaveProperty('sequence');

      await store.seal();
      const sealed = events.map((e, i) => [e.id, i + 1]);
      expect(await numbersRead(store, events)).toEqual({
        query: sealed,
        get: sealed,
        history: sealed,
      });
    });
  },
);
