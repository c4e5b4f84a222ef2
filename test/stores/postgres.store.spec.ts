import { randomBytes } from 'node:crypto';
import { Pool, types } from 'pg';
import { AuditConfigurationError } from '../../src/common/audit-configuration.error';
import type { AuditEvent } from '../../src/event/audit-event';
import { parseAuditQuery, type AuditQuery } from '../../src/query/audit-query';
import type { PostgresPool } from '../../src/stores/postgres/postgres-driver';
import {
  PostgresAuditStore,
  type PostgresAuditStoreConnectionOptions,
  type PostgresAuditStoreOptions,
} from '../../src/stores/postgres/postgres-audit.store';
import { postgresNames } from '../../src/stores/postgres/postgres-names';
import { postgresStatements } from '../../src/stores/postgres/postgres-query';
import {
  POSTGRES_MIGRATIONS,
  POSTGRES_SCHEMA_VERSION,
} from '../../src/stores/postgres/postgres.schema';
import { makeEvent, makeEvents, withoutSequence } from '../fixtures/events';
import { describeStoreContract } from './store-contract';

jest.setTimeout(60_000);

const CONNECTION = process.env.AUDIT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** One migrations row per schema step. */
const ALL_VERSIONS = POSTGRES_MIGRATIONS.map((step) => step.version);

/** Every schema this file creates: one per store under test, so parallel runs never meet. */
const schemas = new Set<string>();
let schemaCount = 0;

function uniqueSchema(): string {
  const name = `audit_test_${process.pid}_${randomBytes(3).toString('hex')}_${++schemaCount}`;
  schemas.add(name);
  return name;
}

const admin = new Pool({ connectionString: CONNECTION, max: 2 });

async function dropSchema(schema: string): Promise<void> {
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  schemas.delete(schema);
}

afterAll(async () => {
  for (const schema of [...schemas]) await dropSchema(schema);
  await admin.end();
});

async function openStore(
  options: PostgresAuditStoreConnectionOptions = {},
): Promise<{ store: PostgresAuditStore; schema: string }> {
  const schema = options.schema ?? uniqueSchema();
  const store = new PostgresAuditStore({ connectionString: CONNECTION, ...options, schema });
  await store.init();
  return { store, schema };
}

for (const partitioning of ['none', 'monthly'] as const) {
  describeStoreContract(`postgres (partitioning: '${partitioning}')`, async () => {
    const { store, schema } = await openStore({ partitioning });
    return {
      store,
      teardown: async () => {
        await store.close();
        await dropSchema(schema);
      },
    };
  });
}

// An application's pool may read integers as BigInt (int4 and int8 here): the store's own
// statements still read int4 as numbers.
describeStoreContract('postgres on a pool that reads int4 and int8 as BigInt', async () => {
  const schema = uniqueSchema();
  const bigints = new Pool({
    connectionString: CONNECTION,
    max: 4,
    types: {
      getTypeParser: (oid: number, format?: string) =>
        oid === 20 || oid === 23
          ? (text: string) => BigInt(text)
          : types.getTypeParser(oid, format as 'text'),
    },
  });
  const store = new PostgresAuditStore({ pool: bigints, schema });
  await store.init();
  return {
    store,
    teardown: async () => {
      await store.close();
      await dropSchema(schema);
      await bigints.end();
    },
  };
});

async function column<T>(sql: string, values: unknown[] = []): Promise<T[]> {
  const result = await admin.query({ text: sql, values, rowMode: 'array' });
  return result.rows.map((row: unknown[]) => row[0] as T);
}

async function partitionsOf(schema: string, table = 'audit_events'): Promise<string[]> {
  return column<string>(
    `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = to_regclass($1) ORDER BY c.relname`,
    [`"${schema}"."${table}"`],
  );
}

const all = (store: PostgresAuditStore, input: AuditQuery = {}) =>
  store.query(parseAuditQuery({ limit: 1000, ...input }));

describe('PostgresAuditStore', () => {
  const opened: PostgresAuditStore[] = [];
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });
  async function open(options: PostgresAuditStoreConnectionOptions = {}) {
    const result = await openStore(options);
    opened.push(result.store);
    return result;
  }

  it('names its engine', () => {
    expect(new PostgresAuditStore().engine).toBe('postgres');
  });

  it('accepts a pg Pool as its pool type', () => {
    // Compile-time check: the structural type must stay satisfiable by pg's own Pool.
    const pool: PostgresPool = new Pool({ connectionString: CONNECTION });
    expect(new PostgresAuditStore({ pool }).engine).toBe('postgres');
    return pool.end();
  });

  describe('schema', () => {
    it('creates the typed columns, the unique id, the query indexes and the version row', async () => {
      const { schema } = await open({ table: 'trail' });
      const columns = await admin.query<{ name: string; type: string; nullable: boolean }>(
        `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            NOT a.attnotnull AS nullable
          FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0
          ORDER BY a.attnum`,
        [`"${schema}"."trail"`],
      );
      expect(columns.rows).toEqual([
        { name: 'id', type: 'text', nullable: false },
        { name: 'ts', type: 'timestamp with time zone', nullable: false },
        { name: 'action', type: 'text', nullable: false },
        { name: 'outcome', type: 'text', nullable: false },
        { name: 'actor_id', type: 'text', nullable: true },
        { name: 'resource_type', type: 'text', nullable: true },
        { name: 'resource_id', type: 'text', nullable: true },
        { name: 'request_id', type: 'text', nullable: true },
        { name: 'tenant', type: 'text', nullable: true },
        { name: 'schema_version', type: 'integer', nullable: false },
        { name: 'payload', type: 'json', nullable: false },
      ]);
      const indexes = await column<string>(
        `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'trail'
          ORDER BY indexname`,
        [schema],
      );
      const on = `ON ${schema}.trail USING btree`;
      expect(indexes).toEqual([
        `CREATE INDEX trail_action_ts ${on} (action, ts)`,
        `CREATE INDEX trail_actor_ts ${on} (actor_id, ts, action) WHERE (actor_id IS NOT NULL)`,
        `CREATE INDEX trail_outcome_ts ${on} (outcome, ts) WHERE (outcome <> 'success'::text)`,
        `CREATE UNIQUE INDEX trail_pkey ${on} (id)`,
        `CREATE INDEX trail_request ${on} (request_id) WHERE (request_id IS NOT NULL)`,
        `CREATE INDEX trail_resource_ts ${on} (resource_type, resource_id, ts) WHERE (resource_type IS NOT NULL)`,
        `CREATE INDEX trail_tenant_ts ${on} (tenant, ts) WHERE (tenant IS NOT NULL)`,
        `CREATE INDEX trail_ts ${on} (ts, id)`,
      ]);
      // Ids order bytewise, like SQLite, whatever the database's default collation.
      expect(
        await column<string>(
          `SELECT collname FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation
            WHERE a.attrelid = to_regclass($1) AND a.attname = 'id'`,
          [`"${schema}"."trail"`],
        ),
      ).toEqual(['C']);
      expect(
        await column<number>(`SELECT version FROM "${schema}".trail_migrations ORDER BY version`),
      ).toEqual(ALL_VERSIONS);
    });

    it('quotes names, so mixed case and reserved words work as written', async () => {
      const schema = `Mixed_${uniqueSchema()}`;
      schemas.add(schema);
      const { store } = await open({ schema, table: 'Select', partitioning: 'monthly' });
      const event = makeEvent({ timestamp: '2026-05-05T05:05:05.005Z' });
      await store.append([event]);
      expect((await all(store)).items).toStrictEqual([event]);
      expect(await partitionsOf(schema, 'Select')).toContain('Select_y2026m05');
    });

    it('stores the event time to the millisecond, across the whole timestamptz range', async () => {
      const { store, schema } = await open();
      const events = [
        makeEvent({ timestamp: '2026-03-01T12:34:56.789Z' }),
        makeEvent({ timestamp: '1970-01-01T00:00:00.001Z' }),
        makeEvent({ timestamp: '+012026-03-01T00:00:00.005Z' }),
        makeEvent({ timestamp: '-000100-06-30T23:59:59.999Z' }),
      ];
      await store.append(events);
      const stored = await admin.query<{ id: string; ms: string }>(
        `SELECT id, (extract(epoch FROM ts) * 1000)::bigint::text AS ms FROM "${schema}".audit_events`,
      );
      const ms = new Map(stored.rows.map((row) => [row.id, Number(row.ms)]));
      for (const event of events) expect(ms.get(event.id)).toBe(Date.parse(event.timestamp));
      const page = await all(store);
      expect(page.items.map((e) => e.id)).toEqual(
        [events[2], events[0], events[1], events[3]].map((e) => e?.id),
      );
      expect((await all(store, { to: '0001-01-01T00:00:00Z' })).items).toStrictEqual([events[3]]);
    });

    it('migrates once: a second store on the same table keeps the data', async () => {
      const { store, schema } = await open();
      const event = makeEvent();
      await store.append([event]);
      await store.close();
      const { store: again } = await open({ schema });
      // Chained when the first store closed.
      expect(await again.get(event.id)).toStrictEqual({ ...event, sequence: 1 });
      expect(
        await column<number>(`SELECT count(*)::int FROM "${schema}".audit_events_migrations`),
      ).toEqual([POSTGRES_MIGRATIONS.length]);
    });

    it('migrates exactly once when 5 instances start together on a new schema', async () => {
      for (const partitioning of ['none', 'monthly'] as const) {
        const schema = uniqueSchema();
        const stores = Array.from(
          { length: 5 },
          () =>
            new PostgresAuditStore({
              connectionString: CONNECTION,
              schema,
              partitioning,
              poolSize: 2,
            }),
        );
        opened.push(...stores);
        await Promise.all(stores.map((store) => store.init()));
        expect(
          await column<number>(`SELECT version FROM "${schema}".audit_events_migrations`),
        ).toEqual(ALL_VERSIONS);
        const events = makeEvents(5);
        await Promise.all(stores.map((store, i) => store.append([events[i] as AuditEvent])));
        for (const store of stores) expect((await all(store)).items).toHaveLength(5);
      }
    });

    it('refuses a table migrated by a newer release, saying to upgrade', async () => {
      const { store, schema } = await open();
      await store.close();
      await admin.query(
        `INSERT INTO "${schema}".audit_events_migrations (version, description) VALUES ($1, 'from the future')`,
        [POSTGRES_SCHEMA_VERSION + 1],
      );
      const newer = new PostgresAuditStore({ connectionString: CONNECTION, schema });
      opened.push(newer);
      const init = newer.init();
      await expect(init).rejects.toThrow(
        `The audit table "${schema}"."audit_events" has schema version ${POSTGRES_SCHEMA_VERSION + 1}, but this nestjs-audit supports up to version ${POSTGRES_SCHEMA_VERSION}`,
      );
      await expect(init).rejects.toThrow(
        /Upgrade nestjs-audit \(npm install nestjs-audit@latest\)/,
      );
    });

    it('refuses a table whose layout differs from the partitioning option', async () => {
      const { store, schema } = await open({ partitioning: 'none' });
      await store.close();
      const monthly = new PostgresAuditStore({
        connectionString: CONNECTION,
        schema,
        partitioning: 'monthly',
      });
      opened.push(monthly);
      await expect(monthly.init()).rejects.toThrow(
        /is not partitioned, but the store is configured with partitioning: 'monthly'. PostgreSQL cannot partition an existing table in place/,
      );

      const { store: partitioned, schema: other } = await open({ partitioning: 'monthly' });
      await partitioned.close();
      const flat = new PostgresAuditStore({ connectionString: CONNECTION, schema: other });
      opened.push(flat);
      await expect(flat.init()).rejects.toThrow(
        /is partitioned by month.*Set partitioning: 'monthly'/,
      );
    });

    it('names the failed step when a table of that name already exists', async () => {
      const schema = uniqueSchema();
      await admin.query(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".audit_events (x int)`);
      const store = new PostgresAuditStore({ connectionString: CONNECTION, schema });
      opened.push(store);
      await expect(store.init()).rejects.toThrow(
        /Migrating the audit table .* to version 1 \(create the events table and its query indexes\) failed: relation "audit_events" already exists\. Nothing was applied/,
      );
      expect(
        await column<string>(`SELECT to_regclass($1)::text`, [
          `"${schema}".audit_events_migrations`,
        ]),
      ).toEqual([null]);
    });
  });

  describe.each(['none', 'monthly'] as const)(
    "statements for the application's transaction (partitioning: %s)",
    (partitioning) => {
      async function runInTransaction(
        statements: readonly { text: string; values: unknown[] }[],
        end: 'COMMIT' | 'ROLLBACK',
      ): Promise<void> {
        const client = await admin.connect();
        try {
          await client.query('BEGIN');
          for (const statement of statements) await client.query(statement.text, statement.values);
          await client.query(end);
        } finally {
          client.release();
        }
      }

      it('append with the transaction, and stay in the relay backlog until confirmed', async () => {
        const { store } = await open({ partitioning });
        const [first, second, rolledBack] = makeEvents(3);
        await runInTransaction(await store.appendStatements([rolledBack!]), 'ROLLBACK');
        await runInTransaction(await store.appendStatements([first!, second!]), 'COMMIT');
        await store.append([makeEvent()]);
        expect(await store.get(rolledBack!.id)).toBeUndefined();
        expect(await store.get(first!.id)).toEqual(first);
        // Only what an application's transaction appended, and only once old enough.
        expect(await store.unstreamed(60_000, 10)).toEqual([]);
        const backlog = await store.unstreamed(0, 10);
        expect(backlog.map((event) => event.id).sort()).toEqual([first!.id, second!.id].sort());
        expect(await store.unstreamed(0, 1)).toHaveLength(1);
        await store.markStreamed([first!.id]);
        expect(await store.unstreamed(0, 10)).toEqual([second]);
        await store.markStreamed([second!.id, 'never-appended']);
        expect(await store.unstreamed(0, 10)).toEqual([]);
      });
    },
  );

  describe('monthly partitions', () => {
    const stamp = (iso: string) => makeEvent({ timestamp: iso });

    it('creates this month and the next at start-up', async () => {
      const { schema } = await open({ partitioning: 'monthly' });
      const now = new Date();
      const name = (date: Date) =>
        `audit_events_y${date.getUTCFullYear()}m${String(date.getUTCMonth() + 1).padStart(2, '0')}`;
      expect(await partitionsOf(schema)).toEqual([
        name(now),
        name(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1))),
      ]);
    });

    it('creates a partition for every month a batch needs, and a month can be dropped', async () => {
      const { store, schema } = await open({ partitioning: 'monthly' });
      const backfill = stamp('2019-07-15T08:00:00.000Z');
      const events = [
        stamp('2025-12-31T23:59:59.999Z'),
        stamp('2026-01-01T00:00:00.000Z'),
        stamp('2026-01-31T12:00:00.000Z'),
        backfill,
      ];
      await store.append(events);
      const partitions = await partitionsOf(schema);
      expect(partitions).toEqual(
        expect.arrayContaining([
          'audit_events_y2019m07',
          'audit_events_y2025m12',
          'audit_events_y2026m01',
        ]),
      );
      expect(
        await column<string>(`SELECT id FROM "${schema}".audit_events_y2026m01 ORDER BY ts`),
      ).toEqual([events[1]?.id, events[2]?.id]);

      // Retention: the old month goes at once, the others stay.
      await admin.query(`DROP TABLE "${schema}".audit_events_y2019m07`);
      expect((await all(store)).items.map((e) => e.id)).toEqual(
        [events[2], events[1], events[0]].map((e) => e?.id),
      );
      expect(await store.get(backfill.id)).toBeUndefined();

      // A late event of the dropped month (a replay) brings the partition back.
      const late = stamp('2019-07-20T00:00:00.000Z');
      await store.append([late]);
      expect(await partitionsOf(schema)).toContain('audit_events_y2019m07');
      expect(await store.get(late.id)).toStrictEqual(late);
    });

    it('reports a detached partition that still holds the month name', async () => {
      const { store, schema } = await open({ partitioning: 'monthly' });
      await store.append([stamp('2024-02-10T00:00:00.000Z')]);
      await admin.query(
        `ALTER TABLE "${schema}".audit_events DETACH PARTITION "${schema}".audit_events_y2024m02`,
      );
      await expect(store.append([stamp('2024-02-11T00:00:00.000Z')])).rejects.toThrow(
        `PostgresAuditStore could not append 1 event (table "${schema}"."audit_events"): Cannot store audit events in "${schema}"."audit_events": "${schema}"."audit_events_y2024m02" exist but are not partitions of it`,
      );
    });

    it('creates partitions once when two instances need the same new months together', async () => {
      const { store: first, schema } = await open({ partitioning: 'monthly' });
      const { store: second } = await open({ partitioning: 'monthly', schema });
      const months = ['2023-01', '2023-02', '2023-03', '2023-04'];
      const batches = Array.from({ length: 10 }, (_, b) =>
        makeEvents(20, (i) => ({ timestamp: `${months[(b + i) % 4]}-1${i % 9}T10:00:00.000Z` })),
      );
      await Promise.all(batches.map((batch, b) => (b % 2 ? first : second).append(batch)));
      expect(await partitionsOf(schema)).toEqual(
        expect.arrayContaining(months.map((m) => `audit_events_y${m.replace('-', 'm')}`)),
      );
      expect(await column<number>(`SELECT count(*)::int FROM "${schema}".audit_events`)).toEqual([
        200,
      ]);
    });

    it('rejects an event outside the years that can have a partition', async () => {
      const { store } = await open({ partitioning: 'monthly' });
      await expect(store.append([stamp('+012026-03-01T00:00:00.000Z')])).rejects.toThrow(
        /in a monthly-partitioned table: only years 1 to 9999 have partitions/,
      );
    });
  });

  describe('concurrent writers', () => {
    it.each(['none', 'monthly'] as const)(
      'keeps every event once with 10 concurrent appends from two instances (partitioning: %s)',
      async (partitioning) => {
        const { store: first, schema } = await open({ partitioning });
        const { store: second } = await open({ partitioning, schema });
        const batches = Array.from({ length: 10 }, (_, b) =>
          makeEvents(100, (i) => ({
            timestamp: new Date(Date.UTC(2026, b % 3, 1 + (i % 28), b)).toISOString(),
            actor: { type: 'user', id: `writer-${b}`, authenticated: true },
          })),
        );
        // Both instances also retry two batches of the other one at the same time.
        const calls = [
          ...batches.map((batch, b) => (b % 2 ? first : second).append(batch)),
          first.append(batches[0] as AuditEvent[]),
          second.append(batches[1] as AuditEvent[]),
        ];
        await Promise.all(calls);
        const ids = await column<string>(`SELECT id FROM "${schema}".audit_events`);
        expect(ids).toHaveLength(1000);
        expect(new Set(ids)).toEqual(new Set(batches.flat().map((e) => e.id)));
      },
    );
  });

  describe('concurrent retries', () => {
    it('neither deadlocks nor duplicates when two instances append the same events in opposite orders', async () => {
      const { store: first, schema } = await open();
      const { store: second } = await open({ schema });
      for (let round = 0; round < 5; round++) {
        const events = makeEvents(300);
        await Promise.all([
          first.append(events),
          second.append([...events].reverse()),
          first.append([...events].reverse()),
          second.append(events),
        ]);
      }
      expect(await column<number>(`SELECT count(*)::int FROM "${schema}".audit_events`)).toEqual([
        1500,
      ]);
    });
  });

  describe('query plans', () => {
    let store: PostgresAuditStore;
    let schema: string;
    let monthlySchema: string;

    // Half the events belong to one actor and a third to one resource, so that the planner
    // reads those in index order under LIMIT; the other values select a few rows each, which
    // it may fetch through the same index and sort.
    const rows = (n: number) =>
      makeEvents(n, (i) => ({
        timestamp: new Date(Date.UTC(2026, i % 4, 1 + (i % 27), i % 24, i % 60)).toISOString(),
        action: `thing.${i % 20}`,
        actor: { type: 'user', id: i % 2 ? 'heavy' : `u-${i % 200}`, authenticated: true },
        target: i % 3 ? { type: 'user', id: `${i % 300}` } : { type: 'order', id: 'hot' },
        request: { id: `req-${i % 3000}` },
        tenant: `t-${i % 25}`,
      }));

    beforeAll(async () => {
      ({ store, schema } = await openStore());
      const monthly = await openStore({ partitioning: 'monthly' });
      monthlySchema = monthly.schema;
      const events = rows(6000);
      for (let i = 0; i < events.length; i += 1000) {
        await store.append(events.slice(i, i + 1000));
        await monthly.store.append(events.slice(i, i + 1000));
      }
      await monthly.store.close();
      await admin.query(`ANALYZE "${schema}".audit_events`);
      await admin.query(`ANALYZE "${monthlySchema}".audit_events`);
    });

    afterAll(async () => {
      await store.close();
    });

    async function explain(text: string, values: unknown[]): Promise<string> {
      const plan = await admin.query<{ 'QUERY PLAN': string }>({ text: `EXPLAIN ${text}`, values });
      return plan.rows.map((row) => row['QUERY PLAN']).join('\n');
    }

    function pagePlan(target: string, input: AuditQuery): Promise<string> {
      const { text, values } = postgresStatements(postgresNames(target, 'audit_events')).page(
        parseAuditQuery(input),
      );
      return explain(text, values);
    }

    const cursor = {
      cursor: Buffer.from(JSON.stringify([Date.UTC(2026, 2, 1), 'z'])).toString('base64url'),
    };
    /** A sort of every matching row; an incremental sort of equal timestamps is fine. */
    const SORT_NODE = /^\s*(->\s+)?Sort {2}\(/m;
    /** The filter indexes end with ts: ties in ts are put in id order after them. */
    const inPageOrder = (plan: string) =>
      !/Incremental Sort/.test(plan) || /Presorted Key: (\w+\.)?ts$/m.test(plan);
    /** Matches a plan that reads `index`, as an ordered scan or through a bitmap. */
    const usesIndex = (index: string) =>
      new RegExp(
        `(Index (Only )?Scan( Backward)? using ${index} on|Bitmap Index Scan on ${index}\\b)`,
      );

    it.each<[string, AuditQuery, string, 'ordered' | 'any']>([
      ['busy actor', { actorId: 'heavy' }, 'audit_events_actor_ts', 'ordered'],
      [
        'busy actor, next page',
        { actorId: 'heavy', ...cursor },
        // Half the rows are the actor's: reading (ts, id) and skipping the others is as good.
        'audit_events_(actor_ts|ts)',
        'ordered',
      ],
      ['actor', { actorId: 'u-2' }, 'audit_events_actor_ts', 'any'],
      [
        'actor and period',
        { actorId: 'u-2', from: '2026-02-01', to: '2026-03-01' },
        'audit_events_actor_ts',
        'any',
      ],
      [
        'busy resource',
        { resourceType: 'order', resourceId: 'hot' },
        'audit_events_resource_ts',
        'ordered',
      ],
      [
        'busy resource, next page',
        { resourceType: 'order', resourceId: 'hot', ...cursor },
        'audit_events_resource_ts',
        'ordered',
      ],
      ['resource', { resourceType: 'user', resourceId: '7' }, 'audit_events_resource_ts', 'any'],
      ['action', { action: 'thing.7' }, 'audit_events_action_ts', 'ordered'],
      ['tenant', { tenant: 't-3' }, 'audit_events_tenant_ts', 'ordered'],
      ['request id', { requestId: 'req-77' }, 'audit_events_request', 'any'],
      ['rare outcome', { outcome: 'failure' }, 'audit_events_outcome_ts', 'any'],
      ['common outcome', { outcome: 'success' }, 'audit_events_ts', 'ordered'],
      ['newest events', {}, 'audit_events_ts', 'ordered'],
      ['next page', cursor, 'audit_events_ts', 'ordered'],
      ['period', { from: '2026-02-01', to: '2026-03-01' }, 'audit_events_ts', 'ordered'],
    ])('serves the %s query from its index', async (_label, input, index, order) => {
      const plan = await pagePlan(schema, input);
      expect(plan).toMatch(usesIndex(index));
      expect(plan).not.toContain('Seq Scan');
      if (order === 'ordered') {
        expect(plan).not.toMatch(SORT_NODE);
        expect(inPageOrder(plan)).toBe(true);
      }
    });

    it('serves history from the resource index, and get from the key', async () => {
      const statements = postgresStatements(postgresNames(schema, 'audit_events'));
      // History has no LIMIT: for a busy resource the planner may read the index as a bitmap
      // and sort, which is cheaper than visiting the rows in index order.
      const history = statements.history('order', 'hot');
      const historyPlan = await explain(history.text, history.values);
      expect(historyPlan).toMatch(usesIndex('audit_events_resource_ts'));
      expect(historyPlan).not.toContain('Seq Scan');
      const get = statements.get('x');
      expect(await explain(get.text, get.values)).toMatch(
        /Index (Only )?Scan using audit_events_pkey on/,
      );
    });

    it('numbers only the events of the page, through the chain index, once the page is taken', async () => {
      for (const target of [schema, monthlySchema]) {
        const plan = await pagePlan(target, { actorId: 'heavy' });
        // The lookup is above the Limit of the filtered query, so it runs once per returned row.
        expect(plan).toMatch(
          /^Subquery Scan on p[\s\S]*Limit[\s\S]*SubPlan 1\n.*Index Scan using audit_events_chain_event on audit_events_chain c/,
        );
        expect(plan).not.toMatch(SORT_NODE);
      }
    });

    // The partitions created at start-up for this month and the next are empty and never
    // analysed: the planner scans those directly, at no cost.
    const SEQ_SCAN_OF_DATA = /Seq Scan on audit_events_y2026m0[1-4]/;

    it.each<[string, AuditQuery]>([
      ['busy actor', { actorId: 'heavy' }],
      ['busy resource', { resourceType: 'order', resourceId: 'hot' }],
      ['newest events', {}],
      ['next page', cursor],
    ])("serves the %s query from the partitions' indexes in page order", async (_label, input) => {
      const plan = await pagePlan(monthlySchema, input);
      expect(plan).toMatch(/Index (Only )?Scan( Backward)? using audit_events_y2026m0\d_/);
      expect(plan).not.toMatch(SORT_NODE);
      expect(inPageOrder(plan)).toBe(true);
      expect(plan).not.toMatch(SEQ_SCAN_OF_DATA);
    });

    it('reads only the partitions a period or a cursor can reach', async () => {
      const period = await pagePlan(monthlySchema, { from: '2026-02-03', to: '2026-02-10' });
      expect(period).toContain('audit_events_y2026m02');
      expect(period).not.toMatch(/audit_events_y2026m(0[134]|1\d)/);
      const page = await pagePlan(monthlySchema, cursor);
      expect(page).toContain('audit_events_y2026m02');
      expect(page).not.toMatch(/audit_events_y2026m(0[4-9]|1\d)/);
    });
  });

  describe('lifecycle', () => {
    it('rejects reads and writes before init()', async () => {
      const store = new PostgresAuditStore({ connectionString: CONNECTION });
      await expect(store.append([makeEvent()])).rejects.toThrow(
        'PostgresAuditStore.append() was called before init(): await store.init() first',
      );
      await expect(store.query(parseAuditQuery())).rejects.toThrow(
        /query\(\) was called before init/,
      );
      await expect(store.get('x')).rejects.toThrow(/get\(\) was called before init/);
      await expect(store.history('a', 'b')).rejects.toThrow(/history\(\) was called before init/);
      await store.close();
    });

    it('rejects use after close(), and close() twice is fine', async () => {
      const { store, schema } = await open();
      await store.close();
      await store.close();
      await expect(store.append([makeEvent()])).rejects.toThrow(
        `PostgresAuditStore.append() was called after close() (table "${schema}"."audit_events")`,
      );
      await expect(store.query(parseAuditQuery())).rejects.toThrow(/after close/);
      await expect(store.init()).rejects.toThrow(/init\(\) was called after close\(\)/);
    });

    it('shares one initialisation between concurrent init() calls', async () => {
      const store = new PostgresAuditStore({
        connectionString: CONNECTION,
        schema: uniqueSchema(),
      });
      opened.push(store);
      await Promise.all([store.init(), store.init(), store.init()]);
      await store.init();
      await store.append([makeEvent()]);
      expect((await all(store)).items).toHaveLength(1);
    });

    it('leaves a pool passed in open, and its sessions untouched', async () => {
      const pool = new Pool({ connectionString: CONNECTION, max: 1 });
      try {
        const store = new PostgresAuditStore({
          pool,
          schema: uniqueSchema(),
          statementTimeoutMs: 1234,
        });
        await store.init();
        const event = makeEvent();
        await store.append([event]);
        // The seal runs in the background: numbered or not yet, the event is the same.
        expect(withoutSequence(await store.get(event.id))).toStrictEqual(event);
        await store.close();
        // The only session of the pool served the store: its timeout was set per transaction.
        const setting = await pool.query<{ statement_timeout: string }>('SHOW statement_timeout');
        expect(setting.rows[0]?.statement_timeout).toBe('0');
      } finally {
        await pool.end();
      }
    });

    it('sets its timeouts on the sessions of a pool it creates', async () => {
      const { store } = await open({ statementTimeoutMs: 4321 });
      // Reaches into the pool on purpose: nothing public exposes a session.
      const pool = (store as unknown as { connections: { ownedPool: Pool } }).connections.ownedPool;
      const setting = await pool.query<{ statement_timeout: string }>('SHOW statement_timeout');
      expect(setting.rows[0]?.statement_timeout).toBe('4321ms');
    });
  });

  describe('options validation', () => {
    const fakePool = {
      connect: () => Promise.reject(new Error('unused')),
      end: () => Promise.resolve(),
    };

    it.each<[string, unknown, RegExp]>([
      [
        'options that are not an object',
        'postgres://x',
        /expects an options object such as \{ connectionString/,
      ],
      [
        'an unknown option',
        { host: 'db' },
        /Unknown PostgresAuditStore option "host"\. Known options: connectionString, pool/,
      ],
      [
        'an empty connection string',
        { connectionString: ' ' },
        /option "connectionString": expected a URI/,
      ],
      [
        'a connection string that is not a string',
        { connectionString: 5432 },
        /option "connectionString".*got 5432/,
      ],
      [
        'pool and connectionString together',
        { pool: fakePool, connectionString: 'postgres://x' },
        /"pool" and "connectionString" exclude each other/,
      ],
      [
        'a pool that is not one',
        { pool: { query: () => 1 } },
        /option "pool": expected a pg Pool \(an object with connect\(\) and end\(\)\)/,
      ],
      [
        'poolSize with a pool',
        { pool: fakePool, poolSize: 3 },
        /option "poolSize": it only sizes a pool the store creates/,
      ],
      [
        'a pool size of 0',
        { poolSize: 0 },
        /option "poolSize": expected a whole number from 1 to 1000, got 0/,
      ],
      ['a fractional pool size', { poolSize: 2.5 }, /option "poolSize"/],
      [
        'a schema with a quote',
        { schema: 'a"b' },
        /option "schema": expected a schema name made of letters, digits and underscores/,
      ],
      ['a schema starting with a digit', { schema: '1audit' }, /option "schema"/],
      [
        'a system schema name',
        { schema: 'pg_audit' },
        /option "schema": "pg_audit" starts with "pg_"/,
      ],
      [
        'a schema name too long',
        { schema: 's'.repeat(64) },
        /option "schema": .* is 64 characters long; use at most 63/,
      ],
      ['a table with a dot', { table: 'audit.events' }, /option "table": expected a table name/],
      [
        'a table name too long',
        { table: 'a'.repeat(52) },
        /option "table": .* is 52 characters long; use at most 51/,
      ],
      ['an empty table name', { table: '' }, /option "table"/],
      [
        'an unknown partitioning',
        { partitioning: 'daily' },
        /option "partitioning": "daily" is not supported; use 'none'.*or 'monthly'/,
      ],
      [
        'a statement timeout of 0',
        { statementTimeoutMs: 0 },
        /option "statementTimeoutMs": expected a whole number from 1/,
      ],
      [
        'a statement timeout as a string',
        { statementTimeoutMs: '10s' },
        /option "statementTimeoutMs".*got "10s"/,
      ],
      [
        'a negative connection timeout',
        { connectionTimeoutMs: -5 },
        /option "connectionTimeoutMs": expected a whole number/,
      ],
    ])('rejects %s', (_label, options, message) => {
      const create = () => new PostgresAuditStore(options as PostgresAuditStoreOptions);
      expect(create).toThrow(message);
      expect(create).toThrow(AuditConfigurationError);
    });

    it('accepts no options at all (the PG* environment variables then apply)', () => {
      expect(() => new PostgresAuditStore()).not.toThrow();
      expect(() => new PostgresAuditStore({ table: 'A_b9', schema: 'Audit' })).not.toThrow();
    });
  });
});
