import { randomBytes } from 'node:crypto';
import { parseAuditQuery } from '../../src/query/audit-query';
import type { PostgresAuditStore } from '../../src/stores/postgres/postgres-audit.store';
import { postgresNames } from '../../src/stores/postgres/postgres-names';
import { POSTGRES_MIGRATIONS } from '../../src/stores/postgres/postgres.schema';
import { makeEvents, withoutSequence } from '../fixtures/events';
import { migrationKit, newestFirst } from './postgres-migration-kit';

jest.setTimeout(60_000);

const { column, legacyTable, openStore } = migrationKit();

describe.each(['none', 'monthly'] as const)(
  'PostgresAuditStore migrating schema version 6 (partitioning: %s)',
  (partitioning) => {
    const schema = `audit_mig7_${process.pid}_${randomBytes(3).toString('hex')}_${partitioning}`;
    const names = postgresNames(schema, 'audit_events');
    // Ties in time, actor and action, so that order and the index's action condition are tested.
    const events = makeEvents(90, (i) => ({
      timestamp: new Date(Date.UTC(2026, 0, 10 + (i % 3), 8, 0, 0, i % 5)).toISOString(),
      action: `order.${['create', 'update', 'delete'][i % 3]!}`,
      actor: { type: 'user', id: `u-${i % 4}`, authenticated: true },
      target: { type: 'order', id: `${i % 6}` },
    }));
    // The table's index, then (monthly) the one of the partition that held events before.
    const actorIndex = () =>
      column<string>(
        `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexdef LIKE '%(actor_id, ts%'
          AND tablename IN ('audit_events', 'audit_events_y2026m01') ORDER BY tablename`,
        [schema],
      );
    const on = partitioning === 'monthly' ? 'ON ONLY' : 'ON';
    const partitionIndex = (columns: string) =>
      partitioning === 'monthly'
        ? [
            expect.stringMatching(
              new RegExp(`ON ${schema}\\.audit_events_y2026m01 USING btree \\(${columns}\\) WHERE`),
            ),
          ]
        : [];
    let store: PostgresAuditStore;
    let before: string[];

    beforeAll(async () => {
      await legacyTable(names, partitioning, 6, events);
      before = await actorIndex();
      store = await openStore(schema, partitioning);
    });

    it('replaces the actor index by one that carries the action, and records the step', async () => {
      expect(before).toEqual([
        `CREATE INDEX audit_events_actor_ts ${on} ${schema}.audit_events USING btree (actor_id, ts) WHERE (actor_id IS NOT NULL)`,
        ...partitionIndex('actor_id, ts'),
      ]);
      expect(await actorIndex()).toEqual([
        `CREATE INDEX audit_events_actor_ts ${on} ${schema}.audit_events USING btree (actor_id, ts, action) WHERE (actor_id IS NOT NULL)`,
        ...partitionIndex('actor_id, ts, action'),
      ]);
      expect(
        await column<number>(`SELECT version FROM ${names.qualifiedMigrations} ORDER BY version`),
      ).toEqual(POSTGRES_MIGRATIONS.map((step) => step.version));
    });

    it('pages actor, actor + action and their time ranges over the events stored before', async () => {
      const cases = [
        { actorId: 'u-1' },
        { actorId: 'u-2', action: 'order.update' },
        { actorId: 'u-3', action: 'order.delete', from: '2026-01-11T00:00:00.000Z' },
      ];
      for (const filter of cases) {
        const expected = newestFirst(
          events.filter(
            (e) =>
              e.actor.id === filter.actorId &&
              (filter.action === undefined || e.action === filter.action) &&
              (filter.from === undefined || e.timestamp >= filter.from),
          ),
        );
        expect(expected.length).toBeGreaterThan(3);
        const first = await store.query(parseAuditQuery({ ...filter, limit: 3 }));
        const rest = await store.query(
          parseAuditQuery({ ...filter, limit: 100, cursor: first.nextCursor }),
        );
        expect([...first.items, ...rest.items].map(withoutSequence)).toStrictEqual(expected);
      }
    });
  },
);
