import { verifyChain } from '../../src/integrity/verify';
import { randomBytes } from 'node:crypto';
import { parseAuditQuery } from '../../src/query/audit-query';
import type { PostgresAuditStore } from '../../src/stores/postgres/postgres-audit.store';
import { postgresNames } from '../../src/stores/postgres/postgres-names';
import { POSTGRES_MIGRATIONS } from '../../src/stores/postgres/postgres.schema';
import { makeEvent, makeEvents, withoutSequence } from '../fixtures/events';
import { migrationKit, newestFirst } from './postgres-migration-kit';

jest.setTimeout(60_000);

const { column, legacyTable, openStore } = migrationKit();

describe.each(['none', 'monthly'] as const)(
  'PostgresAuditStore migrating schema version 2 (partitioning: %s)',
  (partitioning) => {
    const schema = `audit_migr_${process.pid}_${randomBytes(3).toString('hex')}_${partitioning}`;
    const names = postgresNames(schema, 'audit_events');
    // Several events per millisecond, actor, resource and request, so that order and filters
    // have ties to get right.
    const events = makeEvents(120, (i) => ({
      timestamp: new Date(Date.UTC(2026, 0, 10 + (i % 3), 8, 0, 0, i % 7)).toISOString(),
      action: `order.${i % 4 ? 'update' : 'create'}`,
      outcome: i % 9 ? 'success' : 'failure',
      actor: { type: 'user', id: `u-${i % 5}`, authenticated: true },
      target: { type: 'order', id: `${i % 6}` },
      request: { id: `req-${i % 30}` },
      tenant: `t-${i % 2}`,
      changes: {
        diff: [{ path: ['n'], op: 'changed', before: i, after: i + 1 }],
        fields: ['n'],
      },
    }));
    let store: PostgresAuditStore;

    beforeAll(async () => {
      await legacyTable(names, partitioning, 2, events);
      store = await openStore(schema, partitioning);
    });

    /** The event as read once the first seal chained the migrated events, oldest first. */
    const oldestFirst = newestFirst(events).reverse();
    const numbered = (list: typeof events) =>
      list.map((event) => ({ ...event, sequence: oldestFirst.indexOf(event) + 1 }));

    it('records the new step, keeps the jsonb payload of a table that holds events, and brings the indexes to it', async () => {
      expect(
        await column<number>(`SELECT version FROM ${names.qualifiedMigrations} ORDER BY version`),
      ).toEqual(POSTGRES_MIGRATIONS.map((step) => step.version));
      expect(
        await column<string>(
          `SELECT format_type(atttypid, atttypmod) FROM pg_attribute
            WHERE attrelid = to_regclass($1) AND attname = 'payload'`,
          [names.qualifiedTable],
        ),
      ).toEqual(['jsonb']);
      expect(
        await column<string>(
          `SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = to_regclass($1) ORDER BY 1`,
          [names.qualifiedTable],
        ),
      ).toEqual([
        'audit_events_action_ts',
        'audit_events_actor_ts',
        'audit_events_outcome_ts',
        'audit_events_pkey',
        'audit_events_request',
        'audit_events_resource_ts',
        'audit_events_tenant_ts',
        'audit_events_ts',
      ]);
    });

    it('chains the events it held, oldest first, from their jsonb payloads', async () => {
      await store.seal();
      expect(await verifyChain(store)).toMatchObject({
        intact: true,
        verifiedTo: 120,
        events: 120,
      });
    });

    it('reads every event back unchanged, with its id, in the same order', async () => {
      const page = await store.query(parseAuditQuery({ limit: 1000 }));
      expect(page.items).toStrictEqual(numbered(newestFirst(events)));
      for (const event of events.slice(0, 5)) {
        expect(await store.get(event.id)).toStrictEqual(numbered([event])[0]);
      }
      const history = events.filter((e) => e.target?.id === '3');
      expect(await store.history('order', '3')).toStrictEqual(
        numbered(newestFirst(history).reverse()),
      );
    });

    it('filters and pages the migrated events through the new indexes', async () => {
      const expected = newestFirst(events.filter((e) => e.actor.id === 'u-2'));
      const first = await store.query(parseAuditQuery({ actorId: 'u-2', limit: 10 }));
      const second = await store.query(
        parseAuditQuery({ actorId: 'u-2', limit: 100, cursor: first.nextCursor }),
      );
      expect([...first.items, ...second.items]).toStrictEqual(numbered(expected));
      const failures = await store.query(parseAuditQuery({ outcome: 'failure', limit: 1000 }));
      expect(failures.items).toStrictEqual(
        numbered(newestFirst(events.filter((e) => e.outcome === 'failure'))),
      );
      const request = await store.query(parseAuditQuery({ requestId: 'req-7', limit: 1000 }));
      expect(request.items).toStrictEqual(
        numbered(newestFirst(events.filter((e) => e.request?.id === 'req-7'))),
      );
    });

    it('appends after the migration, skipping ids stored before it', async () => {
      const fresh = makeEvent({ timestamp: '2026-01-20T00:00:00.000Z' });
      await store.append([events[0]!, fresh]);
      expect(await column<number>(`SELECT count(*)::int FROM ${names.qualifiedTable}`)).toEqual([
        events.length + 1,
      ]);
      // Sealed in the background: numbered or not yet, the event is the same.
      expect(withoutSequence(await store.get(fresh.id))).toStrictEqual(fresh);
    });
  },
);
