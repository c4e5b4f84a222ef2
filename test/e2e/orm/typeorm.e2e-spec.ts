import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_GUARD } from '@nestjs/core';
import { randomBytes } from 'node:crypto';
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
import { AuditTypeOrmModule, type AuditTypeOrmOptions } from '../../../src/typeorm';
import { PLATFORMS, startApp, tempDir, type Platform, type RunningApp } from '../../utils/apps';
import { expectWriteChain, UserHeaderGuard, writeConcurrently } from './orm-test-kit';
import { ENTITIES, Order, OrderItem, OrdersController, slowGate } from './typeorm/orders.fixture';
import { eventually } from '../../utils/alarm-inbox';
import { FlakyStore } from '../../utils/flaky-store';
import { DataSource } from 'typeorm';

const CONNECTION = process.env.AUDIT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new Pool({ connectionString: CONNECTION, max: 2 });
const schemas: string[] = [];

function newSchema(): string {
  const name = `audit_typeorm_${process.pid}_${randomBytes(3).toString('hex')}`;
  schemas.push(name);
  return name;
}

afterAll(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

interface OrmApp extends RunningApp {
  audit: AuditService;
  /** Events of one request, in the order the store returns them. */
  byRequest(requestId: string): Promise<AuditEvent[]>;
}

async function startOrmApp(
  platform: Platform,
  database: 'postgres' | 'sqlite',
  store: AuditStore,
  location: string,
  options: AuditTypeOrmOptions = {},
): Promise<OrmApp> {
  if (database === 'postgres') await admin.query(`CREATE SCHEMA IF NOT EXISTS "${location}"`);
  const orm =
    database === 'postgres'
      ? TypeOrmModule.forRoot({
          type: 'postgres',
          url: CONNECTION,
          schema: location,
          entities: ENTITIES,
          synchronize: true,
          extra: { max: 25 },
        })
      : TypeOrmModule.forRoot({
          type: 'better-sqlite3',
          database: location,
          entities: ENTITIES,
          synchronize: true,
        });
  const running = await startApp(platform, {
    imports: [
      orm,
      TypeOrmModule.forFeature(ENTITIES),
      AuditModule.forRoot({ store, stream: false, serviceName: 'orders-api' }),
      AuditTypeOrmModule.forRoot(options),
    ],
    controllers: [OrdersController],
    providers: [{ provide: APP_GUARD, useClass: UserHeaderGuard }],
  });
  const audit = running.app.get(AuditService);
  return {
    ...running,
    audit,
    async byRequest(requestId) {
      const { items } = await audit.query({ requestId, limit: 100 });
      return items;
    },
  };
}

function changesOf(event: AuditEvent | undefined): { before?: unknown; after?: unknown } {
  return event?.changes ?? {};
}

/** 20 users PATCH one order at once, each with their own note. */
async function concurrentWriters(app: OrmApp): Promise<void> {
  const { id, writers } = await writeConcurrently(app.url);
  const updates = (await app.audit.history('order', id)).filter((e) => e.action === 'order.update');
  expect(updates).toHaveLength(20);
  expectWriteChain(updates, 'note', 'start', (actor) => `by ${actor}`);
  expect(new Set(updates.map((e) => e.actor.id))).toEqual(new Set(writers));
}

describe.each(PLATFORMS)('TypeORM on PostgreSQL, audit store on a SQLite file (%s)', (platform) => {
  let app: OrmApp;
  let cleanup: () => void;

  beforeAll(async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    const store = new SqliteAuditStore({ path: join(tmp.dir, 'audit.db') });
    app = await startOrmApp(platform, 'postgres', store, newSchema());
  });

  afterAll(async () => {
    await app?.close();
    cleanup?.();
  });

  it('records a creation and its children, each with the request id', async () => {
    const res = await request(app.url)
      .post('/orders')
      .set('authorization', 'User ada')
      .send({
        note: 'first',
        items: [
          { sku: 'A', quantity: 1 },
          { sku: 'B', quantity: 2 },
        ],
      })
      .expect(201);
    const events = await app.byRequest(res.headers['x-request-id'] as string);
    const order = events.find((e) => e.action === 'order.create');
    expect(order?.target).toEqual({ type: 'order', id: String(res.body.id) });
    expect(order?.actor.id).toBe('ada');
    expect(changesOf(order).after).toMatchObject({
      id: res.body.id,
      note: 'first',
      status: 'open',
    });
    const items = events.filter((e) => e.action === 'order_item.create');
    expect(items.map((e) => changesOf(e).after)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ sku: 'A', quantity: 1, order: res.body.id }),
        expect.objectContaining({ sku: 'B', quantity: 2, order: res.body.id }),
      ]),
    );
    expect(items.every((e) => e.actor.id === 'ada')).toBe(true);
    expect(events).toHaveLength(3);
  });

  it('records the columns an update changed, read inside its transaction', async () => {
    const created = await request(app.url).post('/orders').send({ note: 'draft' }).expect(201);
    const res = await request(app.url)
      .patch(`/orders/${created.body.id}`)
      .set('authorization', 'User bob')
      .send({ note: 'final', status: 'open' })
      .expect(200);
    const [event, ...others] = await app.byRequest(res.headers['x-request-id'] as string);
    expect(others).toEqual([]);
    expect(event?.action).toBe('order.update');
    expect(changesOf(event)).toMatchObject({ before: { note: 'draft' }, after: { note: 'final' } });
    expect(event?.changes?.fields).toEqual(['note']);
  });

  it('records a child row changed in an order request as its own event', async () => {
    const created = await request(app.url)
      .post('/orders')
      .send({ note: 'with items', items: [{ sku: 'C', quantity: 2 }] })
      .expect(201);
    const itemId = (created.body.items as { id: number }[])[0]?.id;
    const res = await request(app.url)
      .patch(`/orders/${created.body.id}/items/${itemId}`)
      .set('authorization', 'User cy')
      .send({ quantity: 3 })
      .expect(200);
    const events = await app.byRequest(res.headers['x-request-id'] as string);
    const item = events.find((e) => e.action === 'order_item.update');
    expect(item?.target).toEqual({ type: 'order_item', id: String(itemId) });
    expect(changesOf(item)).toEqual(
      expect.objectContaining({ before: { quantity: 2 }, after: { quantity: 3 } }),
    );
    const order = events.find((e) => e.action === 'order.update');
    expect(order?.outcome).toBe('success');
    expect(order?.changes?.diff ?? []).toEqual([]);
  });

  it('records nothing changed for a transaction that rolled back', async () => {
    const created = await request(app.url).post('/orders').send({ note: 'kept' }).expect(201);
    const res = await request(app.url)
      .patch(`/orders/${created.body.id}/failing`)
      .send({ note: 'never committed' })
      .expect(500);
    const events = await app.byRequest(res.headers['x-request-id'] as string);
    expect(events.map((e) => [e.action, e.outcome])).toEqual([['order.update', 'failure']]);
    expect(JSON.stringify(events[0]?.changes ?? {})).not.toContain('never committed');
  });

  it('records deletion, soft deletion and restoration with their states', async () => {
    const created = await request(app.url).post('/orders').send({ note: 'to go' }).expect(201);
    const id = created.body.id as number;
    const soft = await request(app.url).delete(`/orders/${id}/soft`).expect(200);
    const [softEvent] = await app.byRequest(soft.headers['x-request-id'] as string);
    expect(softEvent?.action).toBe('order.soft_delete');
    expect(changesOf(softEvent).before).toEqual({ deletedAt: null });
    expect(typeof (changesOf(softEvent).after as { deletedAt?: unknown }).deletedAt).toBe('string');
    const restored = await request(app.url).post(`/orders/${id}/restore`).expect(201);
    const [restoreEvent] = await app.byRequest(restored.headers['x-request-id'] as string);
    expect(changesOf(restoreEvent).after).toEqual({ deletedAt: null });
    const removed = await request(app.url).delete(`/orders/${id}`).expect(200);
    const [removeEvent] = await app.byRequest(removed.headers['x-request-id'] as string);
    expect(removeEvent?.action).toBe('order.delete');
    expect(changesOf(removeEvent).before).toMatchObject({ id, note: 'to go', status: 'open' });
    expect(changesOf(removeEvent).after).toBeUndefined();
  });

  it('gives each of 20 concurrent writers of one row the state its own write replaced', () =>
    concurrentWriters(app));
});

describe('TypeORM atomic mode: the event row commits in the write transaction', () => {
  let app: OrmApp;
  let schema: string;

  beforeAll(async () => {
    schema = newSchema();
    await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    const store = new PostgresAuditStore({ connectionString: CONNECTION, schema });
    app = await startOrmApp('express', 'postgres', store, schema, { atomic: true });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('stores the change event with the data, and neither when the transaction fails', async () => {
    const created = await request(app.url).post('/orders').send({ note: 'atomic' }).expect(201);
    const id = String(created.body.id);
    await request(app.url).patch(`/orders/${id}`).send({ note: 'changed' }).expect(200);
    await request(app.url).patch(`/orders/${id}/failing`).send({ note: 'lost' }).expect(500);
    const rows = await admin.query<{ action: string; payload: AuditEvent }>(
      `SELECT action, payload FROM "${schema}".audit_events WHERE resource_type = 'order' AND resource_id = $1 ORDER BY ts, id`,
      [id],
    );
    const changes = rows.rows.filter((r) => r.payload.changes?.diff?.length);
    expect(changes.map((r) => r.action)).toEqual(['order.create', 'order.update']);
    expect(JSON.stringify(rows.rows)).not.toContain('"lost"');
    const note = await admin.query<{ note: string }>(
      `SELECT note FROM "${schema}".purchase_order WHERE id = $1`,
      [id],
    );
    expect(note.rows[0]?.note).toBe('changed');
  });

  it('refuses at boot when the audit store is not in the same database', async () => {
    const tmp = tempDir();
    const store = new SqliteAuditStore({ path: join(tmp.dir, 'audit.db') });
    await expect(
      startOrmApp('express', 'postgres', store, newSchema(), { atomic: true }),
    ).rejects.toThrow(/atomic: true needs the audit store in the same database/);
    tmp.cleanup();
  });
});

describe('TypeORM: the audit store is down', () => {
  it('never fails a write that committed: the ORM call resolves', async () => {
    const store = new FlakyStore();
    const app = await startOrmApp('express', 'postgres', store, newSchema());
    try {
      const created = await request(app.url)
        .post('/orders')
        .send({ note: 'kept', items: [{ sku: 'Z', quantity: 1 }] })
        .expect(201);
      const itemId = (created.body.items as { id: number }[])[0]?.id;
      store.down = true;
      // The item's own event cannot be stored: save() still resolves (the row is committed), and
      // the request, whose event cannot be stored either, is answered 503 by the 'fail' policy.
      const res = await request(app.url)
        .patch(`/orders/${created.body.id}/items/${itemId}`)
        .send({ quantity: 5 })
        .expect(503);
      expect(res.body).toMatchObject({ code: 'AUDIT_UNAVAILABLE' });
      const orders = app.app.get(DataSource);
      const saved = await orders.getRepository(OrderItem).findOneByOrFail({ id: itemId });
      expect(saved.quantity).toBe(5);
      // A job's write outside any request resolves too.
      await expect(
        orders.getRepository(Order).update(created.body.id as number, { note: 'by a job' }),
      ).resolves.toBeDefined();
      store.down = false;
      expect((await app.audit.history('order_item', String(itemId))).map((e) => e.action)).toEqual([
        'order_item.create',
      ]);
    } finally {
      store.down = false;
      await app.close();
    }
  });
});

describe.each(PLATFORMS)('TypeORM: shutdown with aborted clients (%s)', (platform) => {
  it('records every committed change whose client went away before app.close()', async () => {
    const tmp = tempDir();
    const path = join(tmp.dir, 'audit.db');
    slowGate.reset();
    const app = await startOrmApp(
      platform,
      'postgres',
      new SqliteAuditStore({ path }),
      newSchema(),
    );
    try {
      const created = await request(app.url).post('/orders').send({ note: 'v0' }).expect(201);
      const id = String(created.body.id);
      const clients = Array.from({ length: 20 }, (_, i) => {
        const pending = request(app.url)
          .patch(`/orders/${id}/slow`)
          .send({ note: `v${i + 1}` });
        // Started now; each is aborted once every change is committed (as a load balancer does).
        const response = pending.then(
          () => 'answered',
          () => 'aborted',
        );
        return { pending, response };
      });
      await eventually(() => slowGate.committed === 20, 'the 20 slow changes to commit', 100_000);
      for (const client of clients) client.pending.abort();
      await Promise.all(clients.map((c) => c.response));
      const closing = app.close();
      // The handlers resume once shutdown is under way (the delay only makes the test stricter:
      // a shutdown that did not wait for them would have closed the store by then).
      setTimeout(() => slowGate.open(), 300);
      await closing;
      const reader = new SqliteAuditStore({ path });
      await reader.init();
      const updates = (await reader.history('order', id)).filter(
        (e) => e.action === 'order.update',
      );
      await reader.close();
      expect(updates).toHaveLength(20);
      // 'unknown' when the server saw the abort before answering, else 'success' (the answer
      // went into a socket the client had closed): never a failure, never missing.
      expect(updates.filter((e) => e.outcome !== 'unknown' && e.outcome !== 'success')).toEqual([]);
      expect(new Set(updates.map((e) => (changesOf(e).after as { note: string }).note)).size).toBe(
        20,
      );
    } finally {
      slowGate.open();
      await app.close();
      tmp.cleanup();
    }
  });
});

describe('TypeORM on a SQLite file', () => {
  let app: OrmApp;
  let cleanup: () => void;

  beforeAll(async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    const store = new SqliteAuditStore({ path: join(tmp.dir, 'audit.db') });
    app = await startOrmApp('fastify', 'sqlite', store, join(tmp.dir, 'app.db'));
  });

  afterAll(async () => {
    await app?.close();
    cleanup?.();
  });

  it('gives each of 20 concurrent writers of one row the state its own write replaced', () =>
    concurrentWriters(app));

  it('attributes each of 20 concurrent creations to its own request', async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        request(app.url)
          .post('/orders')
          .set('authorization', `User u${i}`)
          .send({ note: `n${i}`, items: [{ sku: `s${i}`, quantity: i + 1 }] })
          .expect(201),
      ),
    );
    for (const [i, res] of responses.entries()) {
      const events = await app.byRequest(res.headers['x-request-id'] as string);
      expect(events.map((e) => [e.action, e.actor.id]).sort()).toEqual([
        ['order.create', `u${i}`],
        ['order_item.create', `u${i}`],
      ]);
      const order = events.find((e) => e.action === 'order.create');
      expect(changesOf(order).after).toMatchObject({ id: res.body.id, note: `n${i}` });
    }
  });

  it('records creation, update and deletion with exact states', async () => {
    const created = await request(app.url).post('/orders').send({ note: 'lite' }).expect(201);
    const id = created.body.id as number;
    const updated = await request(app.url)
      .patch(`/orders/${id}`)
      .send({ note: 'lighter' })
      .expect(200);
    const [update] = await app.byRequest(updated.headers['x-request-id'] as string);
    expect(changesOf(update)).toMatchObject({
      before: { note: 'lite' },
      after: { note: 'lighter' },
    });
    const failed = await request(app.url)
      .patch(`/orders/${id}/failing`)
      .send({ note: 'rolled back' })
      .expect(500);
    expect(
      JSON.stringify(await app.byRequest(failed.headers['x-request-id'] as string)),
    ).not.toContain('rolled back');
    const removed = await request(app.url).delete(`/orders/${id}`).expect(200);
    const [removal] = await app.byRequest(removed.headers['x-request-id'] as string);
    expect(changesOf(removal).before).toMatchObject({ id, note: 'lighter' });
  });
});
