import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { AuditStateError } from '../../src/common/audit-state.error';
import { verifyChain, type ChainBreakKind } from '../../src/integrity/verify';
import { PostgresAuditStore } from '../../src/stores/postgres/postgres-audit.store';
import { postgresNames } from '../../src/stores/postgres/postgres-names';
import { makeEvents } from '../fixtures/events';
import { POSTGRES_SCHEMA_VERSION } from '../../src/stores/postgres/postgres.schema';

jest.setTimeout(60_000);

const CONNECTION = process.env.AUDIT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const admin = new Pool({ connectionString: CONNECTION, max: 3 });
const schemas: string[] = [];
const opened: PostgresAuditStore[] = [];

function uniqueSchema(): string {
  const name = `audit_chain_${process.pid}_${randomBytes(3).toString('hex')}`;
  schemas.push(name);
  return name;
}

async function open(schema: string, partitioning: 'none' | 'monthly' = 'none') {
  const store = new PostgresAuditStore({ connectionString: CONNECTION, schema, partitioning });
  opened.push(store);
  await store.init();
  return store;
}

function events(n: number, from = 0) {
  return makeEvents(n, (i) => ({
    timestamp: new Date(T0 + (from + i) * 1000).toISOString(),
    actor: { type: 'user', id: `u-${(from + i) % 5}`, authenticated: true },
    target: { type: 'order', id: String((from + i) % 9) },
  }));
}

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

afterAll(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

describe.each(['none', 'monthly'] as const)(
  'PostgresAuditStore hash chain (partitioning: %s)',
  (partitioning) => {
    it('chains every append after its commit, gapless, and refuses UPDATE, DELETE and TRUNCATE', async () => {
      const schema = uniqueSchema();
      const names = postgresNames(schema, 'audit_events');
      const store = await open(schema, partitioning);
      for (let i = 0; i < 60; i += 15) await store.append(events(15, i));
      await store.seal();
      expect(await verifyChain(store)).toMatchObject({ intact: true, verifiedTo: 60, events: 60 });
      const { rows } = await admin.query(
        `SELECT array_agg(seq ORDER BY seq)::int[] AS seqs FROM ${names.qualified('audit_events_chain')}`,
      );
      expect(rows[0].seqs).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      for (const sql of [
        `UPDATE ${names.qualifiedTable} SET outcome = 'failure'`,
        `DELETE FROM ${names.qualifiedTable}`,
        `TRUNCATE ${names.qualifiedTable}`,
        `UPDATE ${names.qualified('audit_events_chain')} SET hash = NULL`,
        `DELETE FROM ${names.qualified('audit_events_chain')}`,
      ]) {
        await expect(admin.query(sql)).rejects.toThrow(/append-only/);
      }
    });
  },
);

describe('PostgresAuditStore hash chain under tampering', () => {
  let names: ReturnType<typeof postgresNames>;

  /**
   * A trail of 50 events, tampered with by `attack` as someone with the owner's rights would
   * (triggers disabled first), then verified through a read-only store.
   */
  async function afterAttack(attack: (sql: Client) => Promise<void>) {
    const schema = uniqueSchema();
    names = postgresNames(schema, 'audit_events');
    const writer = await open(schema);
    for (let i = 0; i < 50; i += 10) await writer.append(events(10, i));
    await writer.close();
    const client = new Client({ connectionString: CONNECTION });
    await client.connect();
    try {
      await client.query(`ALTER TABLE ${names.qualifiedTable} DISABLE TRIGGER USER`);
      await client.query(
        `ALTER TABLE ${names.qualified('audit_events_chain')} DISABLE TRIGGER USER`,
      );
      await attack(client);
    } finally {
      await client.end();
    }
    const reader = new PostgresAuditStore({ connectionString: CONNECTION, schema, readOnly: true });
    opened.push(reader);
    await reader.init();
    return verifyChain(reader);
  }

  const at = (seq: number) =>
    `(SELECT event_id FROM ${names.qualified('audit_events_chain')} WHERE seq = ${seq})`;

  it('finds the untouched chain intact', async () => {
    expect(await afterAttack(() => Promise.resolve())).toMatchObject({ intact: true, events: 50 });
  });

  it.each<[string, (sql: Client) => Promise<unknown>, ChainBreakKind, number | undefined]>([
    [
      'the actor edited in one payload',
      (sql) =>
        sql.query(
          `UPDATE ${names.qualifiedTable} SET payload = replace(payload::text, '"u-1"', '"u-4"')::json WHERE id = ${at(22)}`,
        ),
      'modified',
      22,
    ],
    [
      'the outcome column edited',
      (sql) =>
        sql.query(`UPDATE ${names.qualifiedTable} SET outcome = 'failure' WHERE id = ${at(22)}`),
      'modified',
      22,
    ],
    [
      'the outcome edited alike in the column and the payload',
      (sql) =>
        sql.query(
          `UPDATE ${names.qualifiedTable} SET outcome = 'failure', payload = replace(payload::text, '"outcome":"success"', '"outcome":"failure"')::json WHERE id = ${at(22)}`,
        ),
      'modified',
      22,
    ],
    [
      'one event deleted',
      (sql) => sql.query(`DELETE FROM ${names.qualifiedTable} WHERE id = ${at(22)}`),
      'deleted',
      22,
    ],
    [
      'one event and its link deleted',
      async (sql) => {
        const chain = names.qualified('audit_events_chain');
        await sql.query(`DELETE FROM ${names.qualifiedTable} WHERE id = ${at(22)}`);
        await sql.query(`DELETE FROM ${chain} WHERE seq = 22`);
      },
      'deleted',
      22,
    ],
    [
      'two events that exchanged places',
      async (sql) => {
        // The events of #22 and #23 change places; each keeps the other's link.
        const chain = names.qualified('audit_events_chain');
        const { rows } = await sql.query(
          `SELECT seq, event_id, ts FROM ${chain} WHERE seq IN (22, 23) ORDER BY seq`,
        );
        const [first, second] = rows as { event_id: string; ts: Date }[];
        const move = `UPDATE ${chain} SET event_id = $1, ts = $2 WHERE seq = $3`;
        await sql.query(move, ['moving', first!.ts, 22]);
        await sql.query(move, [first!.event_id, first!.ts, 23]);
        await sql.query(move, [second!.event_id, second!.ts, 22]);
      },
      'reordered',
      22,
    ],
  ])('detects %s', async (_name, attack, kind, seq) => {
    const result = await afterAttack(async (sql) => {
      await attack(sql);
    });
    expect(result.intact).toBe(false);
    expect(result.break).toMatchObject({ kind, seq });
    expect(result.verifiedTo).toBe(seq === undefined ? 50 : seq - 1);
  });

  it('names an event inserted outside the chain', async () => {
    const [forged] = events(1, 900);
    const result = await afterAttack(async (sql) => {
      await sql.query(
        `INSERT INTO ${names.qualifiedTable} (id, ts, action, outcome, schema_version, payload)
          VALUES ($1, now(), 'user.delete', 'success', 1, $2::json)`,
        [forged!.id, JSON.stringify({ ...forged, action: 'user.delete' })],
      );
    });
    expect(result).toMatchObject({
      intact: false,
      verifiedTo: 50,
      break: { kind: 'inserted', eventId: forged!.id },
    });
  });
});

describe('PostgresAuditStore hash chain with several writers', () => {
  it('keeps one gapless chain when two instances append at the same time', async () => {
    const schema = uniqueSchema();
    const [a, b] = [await open(schema), await open(schema)];
    await Promise.all([
      (async () => {
        for (let i = 0; i < 200; i += 5) await a.append(events(5, i));
      })(),
      (async () => {
        for (let i = 0; i < 200; i += 5) await b.append(events(5, 1000 + i));
      })(),
    ]);
    await Promise.all([a.seal(), b.seal()]);
    expect(await verifyChain(a)).toMatchObject({ intact: true, verifiedTo: 400, events: 400 });
  });

  it("keeps one chain when one instance seals in its worker and another on the application's pool", async () => {
    const schema = uniqueSchema();
    const appPool = new Pool({ connectionString: CONNECTION, max: 2 });
    try {
      const shared = new PostgresAuditStore({ pool: appPool, schema });
      opened.push(shared);
      const [owned] = [await open(schema)];
      await shared.init();
      await Promise.all([
        (async () => {
          for (let i = 0; i < 150; i += 5) await owned.append(events(5, i));
        })(),
        (async () => {
          for (let i = 0; i < 150; i += 5) await shared.append(events(5, 1000 + i));
        })(),
      ]);
      await Promise.all([owned.seal(), shared.seal()]);
      expect(await verifyChain(shared)).toMatchObject({ intact: true, verifiedTo: 300 });
      await shared.close();
    } finally {
      await appPool.end();
    }
  });

  it('reports a seal that fails in its worker, and leaves the events queued for the next one', async () => {
    const schema = uniqueSchema();
    const store = await open(schema);
    await store.append(events(4));
    await store.seal();
    const head = `"${schema}"."audit_events_chain_head"`;
    const [last] = (await admin.query(`SELECT seq, hash FROM ${head}`)).rows as unknown[];
    await admin.query(`DELETE FROM ${head}`);
    await store.append(events(3, 10));
    await expect(store.seal()).rejects.toThrow(/could not chain .*chain head .* has no row/s);
    // Queued, not lost: the chain so far is intact and the three wait for the next seal.
    expect(await verifyChain(store)).toMatchObject({ intact: true, verifiedTo: 4 });
    const queued = await admin.query(
      `SELECT count(*)::int AS n FROM "${schema}"."audit_events_unsealed"`,
    );
    expect(queued.rows).toEqual([{ n: 3 }]);
    const { seq, hash } = last as { seq: string; hash: Buffer };
    await admin.query(`INSERT INTO ${head} (seq, hash) VALUES ($1, $2)`, [seq, hash]);
    await store.seal();
    expect(await verifyChain(store)).toMatchObject({ intact: true, verifiedTo: 7 });
  });

  it('chains what an application transaction committed, and nothing of one rolled back', async () => {
    const schema = uniqueSchema();
    const store = await open(schema);
    await store.append(events(3));
    const app = new Client({ connectionString: CONNECTION });
    await app.connect();
    try {
      const run = async (statements: { text: string; values: unknown[] }[], commit: boolean) => {
        await app.query('BEGIN');
        for (const { text, values } of statements) await app.query(text, values);
        await app.query(commit ? 'COMMIT' : 'ROLLBACK');
      };
      const committed = events(4, 10);
      await run(await store.appendStatements(committed), true);
      await run(await store.appendStatements(events(2, 20)), false);
      // What the application does once its lines are written: the seal follows.
      await store.markStreamed(committed.map((event) => event.id));
      await store.append(events(3, 30));
      await store.seal();
      expect(await verifyChain(store)).toMatchObject({ intact: true, verifiedTo: 10, events: 10 });
    } finally {
      await app.end();
    }
  });

  it('opens read-only without sealing, migrating or writing', async () => {
    const schema = uniqueSchema();
    const writer = await open(schema);
    await writer.append(events(5));
    await writer.close();
    const reader = new PostgresAuditStore({ connectionString: CONNECTION, schema, readOnly: true });
    opened.push(reader);
    await reader.init();
    expect(await verifyChain(reader)).toMatchObject({ intact: true, events: 5 });
    await expect(reader.append(events(1, 50))).rejects.toThrow(/readOnly: true/);
    await expect(reader.append(events(1, 50))).rejects.toBeInstanceOf(AuditStateError);
    await expect(reader.seal()).rejects.toThrow(/readOnly: true/);
  });

  it('opened read-only, refuses a table it would misread: missing, or not migrated yet', async () => {
    const schema = uniqueSchema();
    const readerOf = () => {
      const reader = new PostgresAuditStore({
        connectionString: CONNECTION,
        schema,
        readOnly: true,
      });
      opened.push(reader);
      return reader;
    };
    await expect(readerOf().init()).rejects.toThrow(
      /"audit_events" has no migrations table .* a store opened readOnly migrates nothing/,
    );
    await (await open(schema)).close();
    // As a table last migrated by the release before the chain records itself.
    await admin.query(`DELETE FROM "${schema}"."audit_events_migrations" WHERE version >= 5`);
    await expect(readerOf().init()).rejects.toThrow(
      new RegExp(
        `has schema version 4, but this nestjs-audit reads version ${POSTGRES_SCHEMA_VERSION}, .*Start the application once`,
      ),
    );
    // …and left it as it was.
    const versions = await admin.query(
      `SELECT max(version) AS v FROM "${schema}"."audit_events_migrations"`,
    );
    expect(versions.rows).toEqual([{ v: 4 }]);
  });
});

/** The GRANT recipe of the README's "Proving the trail is intact", for `schema` and `role`. */
function readmeGrants(schema: string, role: string): string[] {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Proving the trail is intact'));
  const sql = /```sql\n([\s\S]*?)```/.exec(section)?.[1];
  if (sql === undefined) throw new Error('the README lost its GRANT recipe');
  return sql
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('--'))
    .map((line) =>
      line
        .replaceAll('audit.', `"${schema}".`)
        .replace('SCHEMA audit ', `SCHEMA "${schema}" `)
        .replace(/ TO app;$/, ` TO ${role};`),
    );
}

describe("PostgresAuditStore hash chain with the README's least-privilege role", () => {
  const role = `nestjs_audit_app_${process.pid}`;
  const reader = `nestjs_audit_reader_${process.pid}`;
  const url = (user: string) => CONNECTION.replace(/\/\/[^@/]*@/, `//${user}@`);

  afterAll(async () => {
    for (const name of [role, reader]) {
      await admin.query(`DROP OWNED BY ${name}`).catch(() => undefined);
      await admin.query(`DROP ROLE IF EXISTS ${name}`);
    }
  });

  it('appends, seals and verifies with INSERT and SELECT on the trail, and cannot change it', async () => {
    const schema = uniqueSchema();
    const names = postgresNames(schema, 'audit_events');
    // The owner creates and migrates the tables once.
    await (await open(schema)).close();
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    await admin.query(`CREATE ROLE ${reader} LOGIN`);
    for (const grant of readmeGrants(schema, role)) await admin.query(grant);
    await admin.query(`GRANT USAGE ON SCHEMA "${schema}" TO ${reader}`);
    await admin.query(`GRANT SELECT ON ALL TABLES IN SCHEMA "${schema}" TO ${reader}`);

    const app = new PostgresAuditStore({ connectionString: url(role), schema });
    opened.push(app);
    await app.init();
    await app.append(events(20));
    await app.seal();
    expect(await verifyChain(app)).toMatchObject({ intact: true, events: 20 });

    const sql = new Client({ connectionString: url(role) });
    await sql.connect();
    try {
      for (const statement of [
        `UPDATE ${names.qualifiedTable} SET outcome = 'failure'`,
        `DELETE FROM ${names.qualifiedTable}`,
        `DELETE FROM ${names.qualified('audit_events_chain')}`,
        `ALTER TABLE ${names.qualifiedTable} DISABLE TRIGGER USER`,
      ]) {
        await expect(sql.query(statement)).rejects.toThrow(/permission denied|must be owner/);
      }
    } finally {
      await sql.end();
    }

    const readOnly = new PostgresAuditStore({
      connectionString: url(reader),
      schema,
      readOnly: true,
    });
    opened.push(readOnly);
    await readOnly.init();
    expect(await verifyChain(readOnly)).toMatchObject({ intact: true, events: 20 });
  });
});

describe('PostgresAuditStore hash chain against checkpoints', () => {
  it('shows the last 10 events cut off, which the chain alone cannot', async () => {
    const schema = uniqueSchema();
    const names = postgresNames(schema, 'audit_events');
    const store = await open(schema);
    for (let i = 0; i < 40; i += 10) await store.append(events(10, i));
    await store.seal();
    const head = await store.chainHead();
    const checkpoint = {
      seq: head!.seq,
      hash: Buffer.from(head!.hash).toString('hex'),
      at: new Date().toISOString(),
    };
    await store.close();
    const client = new Client({ connectionString: CONNECTION });
    await client.connect();
    try {
      const chain = names.qualified('audit_events_chain');
      await client.query(`ALTER TABLE ${names.qualifiedTable} DISABLE TRIGGER USER`);
      await client.query(`ALTER TABLE ${chain} DISABLE TRIGGER USER`);
      await client.query(
        `DELETE FROM ${names.qualifiedTable} WHERE id IN (SELECT event_id FROM ${chain} WHERE seq > 30)`,
      );
      await client.query(`DELETE FROM ${chain} WHERE seq > 30`);
    } finally {
      await client.end();
    }
    const reader = new PostgresAuditStore({ connectionString: CONNECTION, schema, readOnly: true });
    opened.push(reader);
    await reader.init();
    expect(await verifyChain(reader)).toMatchObject({ intact: true, verifiedTo: 30 });
    expect(await verifyChain(reader, { checkpoints: [checkpoint] })).toMatchObject({
      intact: false,
      break: { kind: 'cut-tail', seq: 31 },
    });
  });
});
