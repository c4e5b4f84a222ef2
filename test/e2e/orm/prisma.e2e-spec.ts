import { APP_GUARD } from '@nestjs/core';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import request from 'supertest';
import {
  AuditModule,
  AuditService,
  PostgresAuditStore,
  SqliteAuditStore,
  type AuditEvent,
  type AuditStore,
} from '../../../src';
import { AuditChangeRecorder, auditExtension, type PrismaAuditOptions } from '../../../src/prisma';
import { PLATFORMS, startApp, tempDir, type Platform, type RunningApp } from '../../utils/apps';
import { expectWriteChain, UserHeaderGuard } from './orm-test-kit';
import {
  generatePrismaClient,
  newPrismaClient,
  OrderJobsController,
  OrdersController,
  PRISMA,
  type TestPrismaClient,
} from './prisma/orders.fixture';

const CONNECTION = process.env.AUDIT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TABLES = readFileSync(join(__dirname, 'prisma', 'tables.sql'), 'utf8');
const admin = new Pool({ connectionString: CONNECTION, max: 2 });
const schemas: string[] = [];
let generated: ReturnType<typeof generatePrismaClient>;

beforeAll(() => {
  generated = generatePrismaClient();
});

afterAll(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
  generated?.cleanup();
});

/** A fresh PostgreSQL schema holding the tables of schema.prisma. */
async function newSchema(): Promise<string> {
  const name = `audit_prisma_${process.pid}_${randomBytes(3).toString('hex')}`;
  schemas.push(name);
  await admin.query(
    `CREATE SCHEMA "${name}"; SET search_path TO "${name}"; ${TABLES}; RESET search_path`,
  );
  return name;
}

interface PrismaApp extends RunningApp {
  audit: AuditService;
  prisma: TestPrismaClient;
  /** Events of one request, in the order the store returns them. */
  byRequest(requestId: string): Promise<AuditEvent[]>;
}

async function startPrismaApp(
  platform: Platform,
  schema: string,
  store: AuditStore,
  options: PrismaAuditOptions = {},
): Promise<PrismaApp> {
  const running = await startApp(platform, {
    imports: [AuditModule.forRoot({ store, stream: false, serviceName: 'orders-api' })],
    controllers: [OrdersController, OrderJobsController],
    providers: [
      { provide: APP_GUARD, useClass: UserHeaderGuard },
      {
        provide: PRISMA,
        inject: [AuditChangeRecorder],
        useFactory: (recorder: AuditChangeRecorder) =>
          newPrismaClient(generated.PrismaClient, CONNECTION, schema).$extends(
            auditExtension(recorder, options),
          ),
      },
    ],
  });
  const prisma = running.app.get<TestPrismaClient>(PRISMA);
  const audit = running.app.get(AuditService);
  return {
    ...running,
    audit,
    prisma,
    async close() {
      await running.close();
      await prisma.$disconnect();
    },
    async byRequest(requestId) {
      const { items } = await audit.query({ requestId, limit: 100 });
      return items;
    },
  };
}

interface States {
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
}

function changesOf(event: AuditEvent | undefined): States {
  return (event?.changes ?? {}) as States;
}

function newId(): string {
  return `o-${randomBytes(4).toString('hex')}`;
}

const requestIdOf = (res: request.Response): string => res.headers['x-request-id'] as string;

describe.each(PLATFORMS)('Prisma on PostgreSQL, audit store on a SQLite file (%s)', (platform) => {
  let app: PrismaApp;
  let cleanup: () => void;

  beforeAll(async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    const store = new SqliteAuditStore({ path: join(tmp.dir, 'audit.db') });
    app = await startPrismaApp(platform, await newSchema(), store, { softDelete: 'deletedAt' });
  });

  afterAll(async () => {
    await app?.close();
    cleanup?.();
  });

  it('records a creation and its nested children, Decimal, Date, BigInt and bytes as text', async () => {
    const id = newId();
    const res = await request(app.url)
      .post('/orders')
      .set('authorization', 'User ada')
      .send({
        id,
        note: 'first',
        total: '1234567890.25',
        placedAt: '2026-05-06T07:08:09.123Z',
        version: '9007199254740993',
        tags: ['gift', 'express'],
        payload: 'secret bytes',
        items: [
          { sku: 'A', qty: 1 },
          { sku: 'B', qty: 2 },
        ],
      })
      .expect(201);
    const events = await app.byRequest(requestIdOf(res));
    const order = events.find((e) => e.action === 'order.create');
    expect(order?.target).toEqual({ type: 'order', id });
    expect(order?.actor.id).toBe('ada');
    const after = changesOf(order).after;
    expect(after).toMatchObject({
      id,
      note: 'first',
      status: 'open',
      total: '1234567890.25',
      placedAt: '2026-05-06T07:08:09.123Z',
      version: '9007199254740993',
      tags: ['gift', 'express'],
      deletedAt: null,
    });
    expect(after?.payload).toMatchObject({ $audit: 'binary', bytes: 12 });
    expect(JSON.stringify(events)).not.toContain('secret bytes');
    const items = events.filter((e) => e.action === 'order_item.create');
    expect(items.map((e) => changesOf(e).after)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ orderId: id, sku: 'A', qty: 1 }),
        expect.objectContaining({ orderId: id, sku: 'B', qty: 2 }),
      ]),
    );
    expect(items.map((e) => e.target?.id).sort()).toEqual(
      (res.body.items as number[]).map(String).sort(),
    );
    expect(items.every((e) => e.actor.id === 'ada')).toBe(true);
    expect(events).toHaveLength(3);
  });

  it('records an update made outside a transaction, read inside the one it runs in', async () => {
    const id = newId();
    await request(app.url).post('/orders').send({ id, note: 'draft' }).expect(201);
    const res = await request(app.url)
      .patch(`/orders/${id}`)
      .set('authorization', 'User bob')
      .send({ note: 'final' })
      .expect(200);
    const [event, ...others] = await app.byRequest(requestIdOf(res));
    expect(others).toEqual([]);
    expect(event?.action).toBe('order.update');
    expect(changesOf(event)).toMatchObject({ before: { note: 'draft' }, after: { note: 'final' } });
    expect(event?.changes?.fields).toEqual(['note']);
  });

  it('records an update in the app\u2019s interactive transaction', async () => {
    const id = newId();
    await request(app.url).post('/orders').send({ id, note: 'v0', version: '41' }).expect(201);
    const res = await request(app.url).patch(`/orders/${id}/tx`).send({ note: 'v1' }).expect(200);
    const [event] = await app.byRequest(requestIdOf(res));
    expect(changesOf(event)).toMatchObject({
      before: { note: 'v0', version: '41' },
      after: { note: 'v1', version: '42' },
    });
  });

  it('records no change for a transaction that rolled back', async () => {
    const id = newId();
    await request(app.url).post('/orders').send({ id, note: 'kept' }).expect(201);
    const res = await request(app.url)
      .patch(`/orders/${id}/failing`)
      .send({ note: 'never committed' })
      .expect(500);
    const events = await app.byRequest(requestIdOf(res));
    expect(events.map((e) => [e.action, e.outcome])).toEqual([['order.update', 'failure']]);
    expect(JSON.stringify(events)).not.toContain('never committed');
    const history = await app.audit.history('order', id);
    expect(JSON.stringify(history)).not.toContain('never committed');
  });

  it('records deletion, soft deletion and restoration with their states', async () => {
    const id = newId();
    await request(app.url).post('/orders').send({ id, note: 'to go' }).expect(201);
    const soft = await request(app.url).delete(`/orders/${id}/soft`).expect(200);
    const [softEvent] = await app.byRequest(requestIdOf(soft));
    expect(softEvent?.action).toBe('order.soft_delete');
    expect(changesOf(softEvent).before).toMatchObject({ id, deletedAt: null });
    expect(typeof changesOf(softEvent).after?.deletedAt).toBe('string');
    expect(softEvent?.changes?.fields).toEqual(['deletedAt']);
    const restored = await request(app.url).post(`/orders/${id}/restore`).expect(201);
    const [restoreEvent] = await app.byRequest(requestIdOf(restored));
    expect(restoreEvent?.action).toBe('order.restore');
    expect(changesOf(restoreEvent).after).toMatchObject({ deletedAt: null });
    expect(restoreEvent?.changes?.fields).toEqual(['deletedAt']);
    const removed = await request(app.url).delete(`/orders/${id}`).expect(200);
    const [removeEvent] = await app.byRequest(requestIdOf(removed));
    expect(removeEvent?.action).toBe('order.delete');
    expect(changesOf(removeEvent).before).toMatchObject({ id, note: 'to go', status: 'open' });
    expect(changesOf(removeEvent).after).toBeUndefined();
  });

  it('records the children a nested write added, changed and removed, by id', async () => {
    const id = newId();
    const created = await request(app.url)
      .post('/orders')
      .send({
        id,
        items: [
          { sku: 'keep', qty: 1 },
          { sku: 'change', qty: 2 },
          { sku: 'drop', qty: 3 },
        ],
      })
      .expect(201);
    const [keep, change, drop] = created.body.items as number[];
    const res = await request(app.url)
      .put(`/orders/${id}/items`)
      .set('authorization', 'User cy')
      .send({ add: [{ sku: 'new', qty: 4 }], change: [{ id: change, qty: 20 }], remove: [drop] })
      .expect(200);
    const events = await app.byRequest(requestIdOf(res));
    const summary = events
      .filter((e) => e.target?.type === 'order_item')
      .map((e) => [e.action, e.target?.id]);
    expect(summary).toEqual(
      expect.arrayContaining([
        ['order_item.update', String(change)],
        ['order_item.delete', String(drop)],
        ['order_item.create', expect.any(String)],
      ]),
    );
    expect(summary).toHaveLength(3);
    expect(summary.some(([, target]) => target === String(keep))).toBe(false);
    const changed = events.find((e) => e.action === 'order_item.update');
    expect(changesOf(changed)).toMatchObject({ before: { qty: 2 }, after: { qty: 20 } });
    const dropped = events.find((e) => e.action === 'order_item.delete');
    expect(changesOf(dropped).before).toMatchObject({ id: drop, sku: 'drop', orderId: id });
    expect(events.every((e) => e.actor.id === 'cy')).toBe(true);
  });

  it('records createMany, updateMany and deleteMany row by row', async () => {
    const status = `batch-${randomBytes(3).toString('hex')}`;
    const ids = [newId(), newId(), newId()];
    const imported = await request(app.url)
      .post('/jobs/import')
      .set('authorization', 'User dee')
      .send({ ids, status })
      .expect(201);
    expect(imported.body).toEqual({ count: 3 });
    const creates = await app.byRequest(requestIdOf(imported));
    const created = creates.filter((e) => e.action === 'order.create');
    expect(created.map((e) => e.target?.id).sort()).toEqual([...ids].sort());
    expect(created.every((e) => e.actor.id === 'dee')).toBe(true);

    const updated = await request(app.url)
      .post('/jobs/status')
      .send({ from: status, to: `${status}-done` })
      .expect(201);
    expect(updated.body).toEqual({ count: 3 });
    const updates = (await app.byRequest(requestIdOf(updated))).filter(
      (e) => e.action === 'order.update',
    );
    expect(updates.map((e) => e.target?.id).sort()).toEqual([...ids].sort());
    for (const event of updates) {
      expect(changesOf(event)).toMatchObject({
        before: { status },
        after: { status: `${status}-done` },
      });
    }

    const deleted = await request(app.url)
      .post('/jobs/delete')
      .send({ status: `${status}-done` })
      .expect(201);
    expect(deleted.body).toEqual({ count: 3 });
    const deletes = (await app.byRequest(requestIdOf(deleted))).filter(
      (e) => e.action === 'order.delete',
    );
    expect(deletes.map((e) => e.target?.id).sort()).toEqual([...ids].sort());
    expect(deletes.every((e) => changesOf(e).before?.total === '1')).toBe(true);
  });

  it('records an upsert as a creation, then as an update', async () => {
    const id = newId();
    const first = await request(app.url).post('/jobs/upsert').send({ id, note: 'one' }).expect(201);
    const [create] = (await app.byRequest(requestIdOf(first))).filter(
      (e) => e.target?.type === 'order',
    );
    expect(create?.action).toBe('order.create');
    const second = await request(app.url)
      .post('/jobs/upsert')
      .send({ id, note: 'two' })
      .expect(201);
    const [update] = (await app.byRequest(requestIdOf(second))).filter(
      (e) => e.target?.type === 'order',
    );
    expect(update?.action).toBe('order.update');
    expect(changesOf(update)).toMatchObject({ before: { note: 'one' }, after: { note: 'two' } });
  });

  it('records writes outside any request with the service as the actor, by kind', async () => {
    const id = newId();
    await request(app.url).post('/orders').send({ id, note: 'job' }).expect(201);
    await app.prisma.order.update!({ where: { id }, data: { status: 'archived' } });
    await app.prisma.order.update!({ where: { id }, data: { deletedAt: new Date() } });
    await app.prisma.order.update!({ where: { id }, data: { deletedAt: null } });
    const events = (await app.audit.history('order', id)).filter((e) => e.actor.type === 'service');
    expect(events.map((e) => e.action).sort()).toEqual(
      ['order.restore', 'order.soft_delete', 'order.update'].sort(),
    );
    expect(events.every((e) => e.actor.id === 'orders-api')).toBe(true);
    const job = events.find((e) => e.action === 'order.update');
    expect(changesOf(job)).toMatchObject({
      before: { status: 'open' },
      after: { status: 'archived' },
    });
  });

  it('keeps a nested transaction’s changes only if it succeeded; records a batch by criteria', async () => {
    const id = newId();
    await request(app.url).post('/orders').send({ id, note: 'outer' }).expect(201);
    await app.prisma.$transaction(async (tx) => {
      await tx.order.update!({ where: { id }, data: { status: 'kept' } });
      await expect(
        tx.$transaction(async (inner) => {
          await inner.order.update!({ where: { id }, data: { note: 'savepoint rolled back' } });
          throw new Error('inner failure');
        }),
      ).rejects.toThrow('inner failure');
      await tx.$transaction(async (inner) => {
        await inner.order.update!({ where: { id }, data: { tags: ['nested'] } });
      });
    });
    const [update] = (await app.audit.history('order', id)).filter(
      (e) => e.action === 'order.update',
    );
    expect(changesOf(update)).toMatchObject({
      before: { status: 'open', tags: [] },
      after: { status: 'kept', tags: ['nested'], note: 'outer' },
    });
    expect(JSON.stringify(update)).not.toContain('savepoint rolled back');

    await app.prisma.$transaction([
      app.prisma.order.updateMany!({ where: { id }, data: { status: 'batched' } }),
    ]);
    const { items } = await app.audit.query({ limit: 100 });
    const batch = items.find((e) => (e.filter as { id?: string } | undefined)?.id === id);
    expect(batch?.action).toBe('order.update');
    expect(batch?.filter).toEqual({ id });
    expect(batch?.results).toEqual({ set: { status: 'batched' }, count: 1 });
  });

  it('gives each of 20 concurrent writers of one row the state its own write replaced', async () => {
    const id = newId();
    await request(app.url).post('/orders').send({ id, note: 'start', version: '0' }).expect(201);
    const writers = Array.from({ length: 20 }, (_, i) => `user${i}`);
    await Promise.all(
      writers.map((user, i) =>
        request(app.url)
          // Half in the extension's own transaction, half in the app's.
          .patch(i % 2 === 0 ? `/orders/${id}` : `/orders/${id}/tx`)
          .set('authorization', `User ${user}`)
          .send({ note: `by ${user}` })
          .expect(200),
      ),
    );
    const updates = (await app.audit.history('order', id)).filter(
      (e) => e.action === 'order.update',
    );
    expect(updates).toHaveLength(20);
    const note = expectWriteChain(updates, 'note', 'start', (actor) => `by ${actor}`);
    expect(new Set(updates.map((e) => e.actor.id))).toEqual(new Set(writers));
    const row = await app.prisma.order.findUnique!({ where: { id } });
    expect(row.note).toBe(note);
    // Every writer through /tx incremented the version once, each from the value before it.
    expect(row.version).toBe(10n);
  });
});

describe('Prisma atomic mode: the event row commits in the write transaction', () => {
  let app: PrismaApp;
  let schema: string;

  beforeAll(async () => {
    schema = await newSchema();
    const store = new PostgresAuditStore({ connectionString: CONNECTION, schema });
    app = await startPrismaApp('express', schema, store, { atomic: true });
  });

  afterAll(async () => {
    await app?.close();
  });

  async function eventRows(id: string): Promise<{ action: string; payload: AuditEvent }[]> {
    const rows = await admin.query<{ action: string; payload: AuditEvent }>(
      `SELECT action, payload FROM "${schema}".audit_events WHERE resource_type = 'order' AND resource_id = $1 ORDER BY ts, id`,
      [id],
    );
    return rows.rows;
  }

  it('stores the change event with the data, and neither when the transaction fails', async () => {
    const id = newId();
    await request(app.url).post('/orders').send({ id, note: 'atomic' }).expect(201);
    await request(app.url).patch(`/orders/${id}`).send({ note: 'changed' }).expect(200);
    await request(app.url).patch(`/orders/${id}/failing`).send({ note: 'lost' }).expect(500);
    await request(app.url)
      .patch(`/orders/${id}/failing-sql`)
      .send({ note: 'lost too' })
      .expect(500);
    const rows = await eventRows(id);
    const changes = rows.filter((r) => r.payload.changes?.diff?.length);
    expect(changes.map((r) => r.action)).toEqual(['order.create', 'order.update']);
    expect(JSON.stringify(rows)).not.toContain('"lost');
    const note = await admin.query<{ note: string }>(
      `SELECT note FROM "${schema}".orders WHERE id = $1`,
      [id],
    );
    expect(note.rows[0]?.note).toBe('changed');
  });

  it('refuses to start when the audit store is not in the same database', async () => {
    const tmp = tempDir();
    const store = new SqliteAuditStore({ path: join(tmp.dir, 'audit.db') });
    await expect(
      startPrismaApp('express', await newSchema(), store, { atomic: true }),
    ).rejects.toThrow(/atomic: true needs PostgresAuditStore/);
    tmp.cleanup();
  });
});
