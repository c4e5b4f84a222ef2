import { randomBytes } from 'node:crypto';
import { Pool, type PoolClient } from 'pg';
import type { AlarmClaim } from '../../src/stores/alarm-outbox-model';
import type { PostgresPool } from '../../src/stores/postgres/postgres-driver';
import {
  PostgresAuditStore,
  type PostgresAuditStoreConnectionOptions,
} from '../../src/stores/postgres/postgres-audit.store';
import { postgresNames } from '../../src/stores/postgres/postgres-names';
import { POSTGRES_MIGRATIONS } from '../../src/stores/postgres/postgres.schema';
import { makeEvent, makeEvents } from '../fixtures/events';
import { claimAt, makeAlarm, makeDigestAlarms, settlementOf } from './alarm-fixtures';
import { createLegacyLayout, insertLegacyEvents } from './postgres-legacy-layout';

jest.setTimeout(60_000);

const CONNECTION = process.env.AUDIT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const T0 = Date.parse('2026-03-01T10:00:00.000Z');

const schemas = new Set<string>();
let schemaCount = 0;

function uniqueSchema(): string {
  const name = `audit_alarm_${process.pid}_${randomBytes(3).toString('hex')}_${++schemaCount}`;
  schemas.add(name);
  return name;
}

const admin = new Pool({ connectionString: CONNECTION, max: 2 });
const opened: PostgresAuditStore[] = [];

async function open(
  options: PostgresAuditStoreConnectionOptions = {},
): Promise<{ store: PostgresAuditStore; schema: string }> {
  const schema = options.schema ?? uniqueSchema();
  const store = new PostgresAuditStore({ connectionString: CONNECTION, ...options, schema });
  opened.push(store);
  await store.init();
  return { store, schema };
}

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

afterAll(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

async function column<T>(sql: string, values: unknown[] = []): Promise<T[]> {
  const result = await admin.query({ text: sql, values, rowMode: 'array' });
  return result.rows.map((row: unknown[]) => row[0] as T);
}

describe('PostgresAuditStore alarm outbox', () => {
  it('refuses outbox work before init() and after close(), naming the operation', async () => {
    const store = new PostgresAuditStore({ connectionString: CONNECTION, schema: uniqueSchema() });
    opened.push(store);
    const outbox = store.alarmOutbox;
    await expect(outbox.claim(claimAt(T0))).rejects.toThrow(
      'PostgresAuditStore.alarmOutbox.claim() was called before init(): await store.init() first',
    );
    await expect(outbox.settle([])).rejects.toThrow(
      /alarmOutbox\.settle\(\) was called before init/,
    );
    await store.init();
    expect(store.alarmOutbox).toBe(outbox);
    await expect(outbox.stats()).resolves.toEqual({ pending: 0, delivered: 0, dead: 0 });
    await store.close();
    await expect(outbox.list()).rejects.toThrow(
      /^PostgresAuditStore\.alarmOutbox\.list\(\) was called after close\(\)/,
    );
  });

  describe('schema', () => {
    it.each(['none', 'monthly'] as const)(
      'creates unpartitioned outbox tables next to the events (partitioning: %s)',
      async (partitioning) => {
        const { schema } = await open({ partitioning, table: 'trail' });
        const kinds = await admin.query<{ relname: string; relkind: string }>(
          `SELECT relname, relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND relname IN ('trail_alarms', 'trail_alarm_tries', 'trail_alarm_keys')
            ORDER BY relname`,
          [schema],
        );
        expect(kinds.rows).toEqual([
          { relname: 'trail_alarm_keys', relkind: 'r' },
          { relname: 'trail_alarm_tries', relkind: 'r' },
          { relname: 'trail_alarms', relkind: 'r' },
        ]);
        const indexes = await column<string>(
          `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename LIKE 'trail_alarm%'
            ORDER BY indexname`,
          [schema],
        );
        expect(indexes).toEqual([
          'trail_alarms_claim',
          'trail_alarms_due',
          'trail_alarms_grp',
          'trail_alarms_key',
          'trail_alarms_pkey',
          'trail_alarms_st',
          'trail_alarms_wait',
          'trail_keys_pkey',
          'trail_tries_chan',
          'trail_tries_key',
          'trail_tries_pkey',
        ]);
      },
    );

    it('keeps every derived name whole for the longest table name allowed', async () => {
      const table = 't'.repeat(51);
      const { store, schema } = await open({ table });
      await store.append([makeEvent()], [makeAlarm(T0)]);
      const names = await column<string>(
        `SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND relname LIKE '%alarm%' OR (n.nspname = $1 AND relname LIKE '%tries%')`,
        [schema],
      );
      for (const name of names) expect(name.startsWith(table)).toBe(true);
      expect(names.length).toBeGreaterThanOrEqual(3);
    });

    it.each(['none', 'monthly'] as const)(
      'migrates a table created by schema version 1, keeping its events (partitioning: %s)',
      async (partitioning) => {
        const schema = uniqueSchema();
        const names = postgresNames(schema, 'audit_events');
        // The database as the release of schema version 1 left it.
        await createLegacyLayout(admin, names, partitioning, 1);
        const old = makeEvent({ timestamp: '2026-01-15T00:00:00.000Z' });
        if (partitioning === 'monthly') {
          await admin.query(
            `CREATE TABLE "${schema}".audit_events_y2026m01 PARTITION OF ${names.qualifiedTable}
              FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')`,
          );
        }
        await insertLegacyEvents(admin, names, [old]);

        const { store } = await open({ schema, partitioning });
        expect(
          await column<number>(`SELECT version FROM ${names.qualifiedMigrations} ORDER BY version`),
        ).toEqual(POSTGRES_MIGRATIONS.map((step) => step.version));
        expect(await store.get(old.id)).toStrictEqual(old);
        const alarm = makeAlarm(T0, { eventId: old.id });
        await store.append([makeEvent()], [alarm]);
        const [claim] = await store.alarmOutbox.claim(claimAt(T0));
        expect(claim?.alarm.dedupKey).toBe(alarm.dedupKey);
      },
    );
  });

  describe('atomicity inside PostgreSQL', () => {
    async function failOn(schema: string, table: string, column: string, value: string) {
      await admin.query(`
        CREATE FUNCTION "${schema}".refuse() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN RAISE EXCEPTION 'refused by test trigger'; END $$;
        CREATE TRIGGER refuse BEFORE INSERT ON "${schema}"."${table}"
          FOR EACH ROW WHEN (NEW.${column} = '${value}') EXECUTE FUNCTION "${schema}".refuse();`);
    }

    it('rolls the events back when an alarm insert fails', async () => {
      const { store, schema } = await open();
      await failOn(schema, 'audit_events_alarms', 'rule', 'explode');
      const events = makeEvents(3);
      await expect(
        store.append(events, [makeAlarm(T0), makeAlarm(T0, { rule: 'explode' })]),
      ).rejects.toThrow(
        /could not append 3 events and 2 alarms .*refused by test trigger\. Retrying the batch is safe: appends are idempotent by event id and alarm dedup key\./,
      );
      expect(await column<number>(`SELECT count(*)::int FROM "${schema}".audit_events`)).toEqual([
        0,
      ]);
      expect(await store.alarmOutbox.list()).toEqual([]);
    });

    it('rolls the alarms back when an event insert fails, also across several statements', async () => {
      const { store, schema } = await open({ partitioning: 'monthly' });
      await failOn(schema, 'audit_events', 'action', 'explode');
      for (const size of [1, 1500]) {
        const events = makeEvents(size, (i) => ({
          timestamp: new Date(T0 + i).toISOString(),
          ...(i === size - 1 ? { action: 'explode' } : {}),
        }));
        const alarms = Array.from({ length: 1200 }, (_, i) => makeAlarm(T0 + i));
        await expect(store.append(events, alarms)).rejects.toThrow(/refused by test trigger/);
        expect(await store.alarmOutbox.list()).toEqual([]);
        expect(await column<number>(`SELECT count(*)::int FROM "${schema}".audit_events`)).toEqual([
          0,
        ]);
      }
      // Without the failing event, the same sizes go through whole.
      const events = makeEvents(1500, (i) => ({ timestamp: new Date(T0 + i).toISOString() }));
      const alarms = Array.from({ length: 1200 }, (_, i) => makeAlarm(T0 + i));
      await store.append(events, alarms);
      expect(await column<number>(`SELECT count(*)::int FROM "${schema}".audit_events`)).toEqual([
        1500,
      ]);
      expect(
        await column<number>(`SELECT count(*)::int FROM "${schema}".audit_events_alarms`),
      ).toEqual([1200]);
    });
  });

  it('appends events with alarms in as many round trips as events alone', async () => {
    const real = new Pool({ connectionString: CONNECTION, max: 2 });
    const sent: string[] = [];
    const wrapped = new WeakSet<PoolClient>();
    // Counts every statement sent through the pool's connections (each wrapped once: the pool
    // hands the same client out again).
    const counting: PostgresPool = {
      connect: async () => {
        const client: PoolClient = await real.connect();
        if (!wrapped.has(client)) {
          wrapped.add(client);
          const query = client.query.bind(client) as (config: { text: string }) => unknown;
          Object.assign(client, {
            query: (config: { text: string }) => {
              // The chain's seal runs in the background after each append, in its own
              // transaction: only the append's own statements are counted.
              if (
                !/^(BEGIN|COMMIT|ROLLBACK)|_chain_head|_unsealed" ORDER BY|^WITH sealed AS/.test(
                  config.text,
                )
              ) {
                sent.push(config.text);
              }
              return query(config);
            },
          });
        }
        return client;
      },
      end: () => real.end(),
    };
    const store = new PostgresAuditStore({ pool: counting, schema: uniqueSchema() });
    opened.push(store);
    try {
      await store.init();
      sent.length = 0;
      await store.append(makeEvents(20));
      await store.seal();
      const eventsOnly = sent.length;
      expect(eventsOnly).toBe(1);
      sent.length = 0;
      await store.append(
        makeEvents(20),
        Array.from({ length: 30 }, (_, i) => makeAlarm(T0 + i)),
      );
      await store.seal();
      expect(sent.length).toBe(eventsOnly);
      expect(await store.alarmOutbox.list({ limit: 1000 })).toHaveLength(30);
    } finally {
      await store.close();
      await real.end();
    }
  });

  it('claims nothing and takes no lock while nothing is due', async () => {
    const { store, schema } = await open();
    await store.append([], [makeAlarm(T0 + 60_000)]);
    expect(await store.alarmOutbox.claim(claimAt(T0))).toEqual([]);
    // Nothing was written by the idle claim: no digest period rows, no lease.
    expect(
      await column<number>(`SELECT count(*)::int FROM "${schema}".audit_events_alarm_keys`),
    ).toEqual([0]);
    expect((await store.alarmOutbox.list())[0]?.leaseUntil).toBeUndefined();
  });

  it('takes no lock for a claim whose only due entries are of excluded channels', async () => {
    const { store, schema } = await open();
    await store.append(
      [],
      [makeAlarm(T0, { channel: 'slack' }), makeAlarm(T0 + 1, { channel: 'slack' })],
    );
    const locker = await admin.connect();
    try {
      await locker.query('BEGIN');
      // Plain reads pass this lock; a claim transaction (FOR UPDATE, UPDATE) would wait for it.
      await locker.query(`LOCK TABLE "${schema}".audit_events_alarms IN EXCLUSIVE MODE`);
      const claim = store.alarmOutbox.claim(claimAt(T0 + 10, { excludeChannels: ['slack'] }));
      let timer: NodeJS.Timeout | undefined;
      const blocked = new Promise<'blocked'>((resolve) => {
        timer = setTimeout(() => resolve('blocked'), 2000);
      });
      const outcome = await Promise.race([claim, blocked]);
      clearTimeout(timer);
      await locker.query('ROLLBACK');
      await claim.catch(() => undefined);
      expect(outcome).toEqual([]);
    } finally {
      locker.release();
    }
    expect(await store.alarmOutbox.claim(claimAt(T0 + 10))).toHaveLength(2);
  });

  describe('two instances on one schema', () => {
    it('hands each of 2,000 entries to exactly one of 2 x 10 concurrent claimers', async () => {
      const { store: first, schema } = await open({ poolSize: 10 });
      const { store: second } = await open({ schema, poolSize: 10 });
      const alarms = Array.from({ length: 2000 }, (_, i) => makeAlarm(T0 + (i % 50)));
      for (let i = 0; i < alarms.length; i += 500) {
        await first.append([], alarms.slice(i, i + 500));
      }
      const claimed: AlarmClaim[] = [];
      const claimer = async (store: PostgresAuditStore, owner: string) => {
        for (;;) {
          const claims = await store.alarmOutbox.claim(claimAt(T0 + 100, { limit: 25, owner }));
          if (claims.length === 0) return;
          claimed.push(...claims);
          await store.alarmOutbox.settle(
            claims.map((claim) => settlementOf(claim, T0 + 200, 'delivered')),
          );
        }
      };
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => claimer(i % 2 ? first : second, `claimer-${i}`)),
      );
      const keys = claimed.map((claim) => claim.alarm.dedupKey);
      expect(keys).toHaveLength(2000);
      expect(new Set(keys).size).toBe(2000);
      expect(await first.alarmOutbox.stats()).toEqual({ pending: 0, delivered: 2000, dead: 0 });
      expect(
        await column<number>(`SELECT count(*)::int FROM "${schema}".audit_events_alarm_tries`),
      ).toEqual([2000]);
      // Both instances took part.
      const owners = new Set(claimed.map((claim) => claim.lease.split('#')[0]));
      expect(owners.size).toBeGreaterThan(2);
    });

    it('forms one digest per throttle period across instances, counting each entry once', async () => {
      const { store: first, schema } = await open();
      const { store: second } = await open({ schema });
      const THROTTLE = 5_000;
      const entries = makeDigestAlarms(1000, 'shared-key', THROTTLE, (i) => T0 + i * 30);
      const formed: number[] = [];
      let counted = 0;
      let appended = 0;
      for (let now = T0; now <= T0 + 30_000 + 2 * THROTTLE; now += 100) {
        const due = entries.slice(appended).filter((e) => Date.parse(e.createdAt) <= now);
        if (due.length > 0) {
          await (appended % 2 ? first : second).append([], due);
          appended += due.length;
        }
        // Both instances claim at the same moment, several times each.
        const claims = (
          await Promise.all(
            [first, second, first, second].map((store, i) =>
              store.alarmOutbox.claim(claimAt(now, { owner: `i${i}` })),
            ),
          )
        ).flat();
        for (const claim of claims) {
          formed.push(now);
          counted += claim.count;
          await first.alarmOutbox.settle([settlementOf(claim, now, 'delivered')]);
        }
      }
      expect(counted).toBe(1000);
      for (let i = 1; i < formed.length; i++) {
        expect((formed[i] as number) - (formed[i - 1] as number)).toBeGreaterThanOrEqual(THROTTLE);
      }
      expect(
        await column<number>(
          `SELECT count(*)::int FROM "${schema}".audit_events_alarms WHERE status = 'delivered'`,
        ),
      ).toEqual([1000]);
    });
  });

  it('claims due messages through the partial index of due entries', async () => {
    const { store, schema } = await open();
    const alarms = Array.from({ length: 3000 }, (_, i) => makeAlarm(T0 + i));
    for (let i = 0; i < alarms.length; i += 1000) await store.append([], alarms.slice(i, i + 1000));
    for (const claim of await store.alarmOutbox.claim(claimAt(T0 + 5000, { limit: 1000 }))) {
      await store.alarmOutbox.settle([settlementOf(claim, T0 + 5000, 'delivered')]);
    }
    await store.append([], [makeAlarm(T0 + 4000)]);
    await admin.query(`ANALYZE "${schema}".audit_events_alarms`);
    for (const excluded of [[], ['slack', 'chat']]) {
      const plan = await admin.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT seq FROM "${schema}".audit_events_alarms
          WHERE next_attempt_at <= $1::timestamptz
            AND (lease_until IS NULL OR lease_until <= $1::timestamptz)
            AND (digest_key IS NULL OR group_head = seq)
            AND channel <> ALL($2::text[])
          ORDER BY next_attempt_at, seq LIMIT 10 FOR UPDATE SKIP LOCKED`,
        [new Date(T0 + 10_000).toISOString(), excluded],
      );
      const text = plan.rows.map((row) => row['QUERY PLAN']).join('\n');
      expect(text).toContain('audit_events_alarms_due');
      expect(text).not.toContain('Seq Scan');
    }
  });
});
