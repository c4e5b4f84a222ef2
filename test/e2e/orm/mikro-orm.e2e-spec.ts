import { MikroORM } from '@mikro-orm/core';
import { Client } from 'pg';
import request from 'supertest';
import { registerMikroOrmAudit } from '../../../src/mikro-orm';
import {
  AuditChangeRecorder,
  AuditModule,
  AuditService,
  PostgresAuditStore,
  type AuditEvent,
} from '../../../src';
import { PLATFORMS, startApp, tempDir, type RunningApp } from '../../utils/apps';
import { Order, schemaSql } from './mikro-orm/entities';
import { CONNECTION, ormOptions, startOrdersApp } from './mikro-orm/orders-app';
import { expectWriteChain } from './orm-test-kit';

const SCHEMA = 'mikro_audit_e2e';
const EVENTS_SCHEMA = 'mikro_audit_e2e_events';

async function sql<T = Record<string, unknown>>(
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new Client({ connectionString: CONNECTION });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Every event of the trail matching the filter, oldest first. */
async function events(
  running: RunningApp,
  filter: Parameters<AuditService['query']>[0] = {},
): Promise<AuditEvent[]> {
  const { items } = await running.app.get(AuditService).query({ limit: 1000, ...filter });
  return [...items].reverse();
}

function before(event: AuditEvent | undefined): Record<string, unknown> | undefined {
  return event?.changes?.before as Record<string, unknown> | undefined;
}

function after(event: AuditEvent | undefined): Record<string, unknown> | undefined {
  return event?.changes?.after as Record<string, unknown> | undefined;
}

beforeAll(async () => {
  await sql(schemaSql(SCHEMA));
  await sql(`DROP SCHEMA IF EXISTS "${EVENTS_SCHEMA}" CASCADE`);
});

afterAll(async () => {
  await sql(
    `DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE; DROP SCHEMA IF EXISTS "${EVENTS_SCHEMA}" CASCADE`,
  );
});

describe.each(PLATFORMS)('MikroORM integration on %s', (platform) => {
  const tmp = tempDir();
  let running: RunningApp;
  let seq = 0;
  const code = (): string => `${platform}-${(seq += 1)}`;

  async function createOrder(
    body: Record<string, unknown> = {},
    user = 'alice',
  ): Promise<{ id: number; requestId: string }> {
    const res = await request(running.url)
      .post('/orders')
      .set('authorization', `User ${user}`)
      .send({ code: code(), customer: 'acme', ...body })
      .expect(201);
    return {
      id: (res.body as { id: number }).id,
      requestId: res.headers['x-request-id'] as string,
    };
  }

  beforeAll(async () => {
    running = await startOrdersApp(
      platform,
      SCHEMA,
      { store: `${tmp.dir}/audit.db` },
      { maxBulkRows: 3 },
    );
  });

  afterAll(async () => {
    await running?.close();
    tmp.cleanup();
  });

  it('records an insert, an update and a delete as the rows were written, relations by id', async () => {
    const { id, requestId } = await createOrder({ items: [{ sku: 'A', qty: 1 }] });
    const created = await events(running, { requestId });
    const orderCreate = created.find((e) => e.target?.type === 'order');
    expect(orderCreate).toMatchObject({
      action: 'order.create',
      outcome: 'success',
      actor: { id: 'alice' },
      target: { type: 'order', id: String(id) },
    });
    expect(after(orderCreate)).toMatchObject({ id, status: 'new', customer: 'acme', note: null });
    expect(before(orderCreate)).toBeUndefined();
    const itemCreate = created.find((e) => e.target?.type === 'order_item');
    expect(itemCreate).toMatchObject({ action: 'order_item.create', actor: { id: 'alice' } });
    expect(after(itemCreate)).toMatchObject({ sku: 'A', qty: 1, order: id });

    const patched = await request(running.url)
      .patch(`/orders/${id}`)
      .set('authorization', 'User bob')
      .send({ status: 'paid' })
      .expect(200);
    const [update] = await events(running, {
      requestId: patched.headers['x-request-id'] as string,
    });
    expect(update).toMatchObject({ action: 'order.update', actor: { id: 'bob' } });
    expect(update?.changes?.fields).toEqual(['status']);
    expect(before(update)).toMatchObject({ status: 'new' });
    expect(after(update)).toMatchObject({ status: 'paid' });

    const removed = await request(running.url)
      .delete(`/orders/${id}`)
      .set('authorization', 'User carol')
      .expect(200);
    const deletes = await events(running, { requestId: removed.headers['x-request-id'] as string });
    const orderDelete = deletes.find((e) => e.target?.type === 'order');
    expect(orderDelete).toMatchObject({ action: 'order.delete', actor: { id: 'carol' } });
    expect(before(orderDelete)).toMatchObject({ id, status: 'paid' });
    expect(after(orderDelete)).toBeUndefined();
    expect(deletes.find((e) => e.target?.type === 'order_item')).toMatchObject({
      action: 'order_item.delete',
    });
  });

  it('records a soft delete and a restore by the deletion mark', async () => {
    const { id } = await createOrder();
    const archived = await request(running.url)
      .post(`/maintenance/orders/${id}/archive`)
      .set('authorization', 'User dave')
      .expect(201);
    const archive = await events(running, {
      requestId: archived.headers['x-request-id'] as string,
    });
    const soft = archive.find((e) => e.target?.type === 'order');
    expect(soft).toMatchObject({ action: 'order.soft_delete', actor: { id: 'dave' } });
    expect(before(soft)?.deletedAt).toBeNull();
    expect(after(soft)?.deletedAt).toEqual(expect.any(String));

    const restored = await request(running.url)
      .post(`/maintenance/orders/${id}/restore`)
      .set('authorization', 'User dave')
      .expect(201);
    const restore = await events(running, {
      requestId: restored.headers['x-request-id'] as string,
    });
    expect(restore.find((e) => e.target?.type === 'order')).toMatchObject({
      action: 'order.restore',
    });
  });

  it('records nothing of a transaction that rolled back after its write', async () => {
    const { id } = await createOrder();
    const res = await request(running.url)
      .post(`/orders/${id}/refused-write`)
      .set('authorization', 'User eve')
      .send({ status: 'stolen' })
      .expect(409);
    const attempt = await events(running, { requestId: res.headers['x-request-id'] as string });
    expect(attempt).toHaveLength(1);
    expect(attempt[0]).toMatchObject({ action: 'order.update', outcome: 'failure' });
    expect(attempt[0]?.changes?.fields ?? []).toEqual([]);
    const rows = await sql<{ status: string }>(
      `SELECT status FROM "${SCHEMA}".orders WHERE id = $1`,
      [id],
    );
    expect(rows[0]?.status).toBe('new');
    const trail = await events(running, { resourceType: 'order', resourceId: String(id) });
    expect(trail.some((e) => JSON.stringify(e.changes ?? {}).includes('stolen'))).toBe(false);
  });

  it('records nothing of a rolled-back savepoint inside a committed transaction', async () => {
    const { id } = await createOrder();
    const res = await request(running.url)
      .post(`/orders/${id}/savepoint`)
      .set('authorization', 'User frank')
      .send({ note: 'outer', sku: 'GHOST' })
      .expect(201);
    const recorded = await events(running, { requestId: res.headers['x-request-id'] as string });
    expect(recorded.map((e) => e.action)).toEqual(['order.update']);
    expect(after(recorded[0])).toMatchObject({ note: 'outer' });
    const items = await sql(`SELECT 1 FROM "${SCHEMA}".order_item WHERE sku = 'GHOST'`);
    expect(items).toHaveLength(0);
  });

  it('chains 20 concurrent writers of one row: each before is the previous after', async () => {
    const { id } = await createOrder({ status: 'start' });
    const writers = Array.from({ length: 20 }, (_, i) => `w${i}`);
    const responses = await Promise.all(
      writers.map((writer) =>
        request(running.url)
          .patch(`/orders/${id}`)
          .set('authorization', `User ${writer}`)
          .send({ status: `by-${writer}` }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(writers.map(() => 200));
    const updates = (
      await events(running, { resourceType: 'order', resourceId: String(id) })
    ).filter((e) => e.action === 'order.update');
    expect(updates).toHaveLength(20);
    // Each actor's event records exactly what that actor wrote.
    for (const event of updates) expect(after(event)?.status).toBe(`by-${event.actor.id}`);
    const state = expectWriteChain(updates, 'status', 'start', (actor) => `by-${actor}`);
    const rows = await sql<{ status: string }>(
      `SELECT status FROM "${SCHEMA}".orders WHERE id = $1`,
      [id],
    );
    expect(rows[0]?.status).toBe(state);
  });

  it('records the children of a changed collection one by one, by id', async () => {
    const { id } = await createOrder({
      items: [
        { sku: 'KEEP', qty: 1 },
        { sku: 'DROP', qty: 1 },
      ],
    });
    const items = await sql<{ id: number; sku: string }>(
      `SELECT id, sku FROM "${SCHEMA}".order_item WHERE order_id = $1 ORDER BY id`,
      [id],
    );
    const keep = items.find((i) => i.sku === 'KEEP')!;
    const drop = items.find((i) => i.sku === 'DROP')!;
    const res = await request(running.url)
      .put(`/orders/${id}/items`)
      .set('authorization', 'User gina')
      .send({
        items: [
          { id: keep.id, sku: 'KEEP', qty: 5 },
          { sku: 'NEW', qty: 2 },
        ],
      })
      .expect(200);
    const added = (res.body as { id: number; sku: string }[]).find((i) => i.sku === 'NEW')!;
    const recorded = await events(running, { requestId: res.headers['x-request-id'] as string });
    const lines = recorded.filter((e) => e.target?.type === 'order_item');
    const byAction = Object.fromEntries(lines.map((e) => [e.action, e]));
    expect(lines).toHaveLength(3);
    expect(byAction['order_item.update']).toMatchObject({ target: { id: String(keep.id) } });
    expect(byAction['order_item.update']?.changes?.fields).toEqual(['qty']);
    expect(byAction['order_item.delete']).toMatchObject({ target: { id: String(drop.id) } });
    expect(before(byAction['order_item.delete'])).toMatchObject({ sku: 'DROP', order: id });
    expect(byAction['order_item.create']).toMatchObject({ target: { id: String(added.id) } });
    expect(after(byAction['order_item.create'])).toMatchObject({ sku: 'NEW', qty: 2, order: id });
    for (const line of lines) expect(line.actor.id).toBe('gina');
  });

  it('records bulk writes row by row, and as one summary past maxBulkRows', async () => {
    const small = `small-${platform}`;
    const large = `large-${platform}`;
    const smallIds = [
      (await createOrder({ customer: small })).id,
      (await createOrder({ customer: small })).id,
    ];
    for (let i = 0; i < 4; i += 1) await createOrder({ customer: large });

    const perRow = await request(running.url)
      .post('/maintenance/bulk-status')
      .set('authorization', 'User hank')
      .send({ customer: small, status: 'closed' })
      .expect(201);
    expect(perRow.body).toEqual({ count: 2 });
    const rowEvents = (
      await events(running, { requestId: perRow.headers['x-request-id'] as string })
    ).filter((e) => e.target?.type === 'order');
    expect(rowEvents.map((e) => e.target?.id).sort()).toEqual(smallIds.map(String).sort());
    for (const event of rowEvents) {
      expect(event).toMatchObject({ action: 'order.update', actor: { id: 'hank' } });
      expect(event.changes?.fields).toEqual(['status']);
      expect(after(event)?.status).toBe('closed');
    }

    const summary = await request(running.url)
      .post('/maintenance/bulk-status')
      .set('authorization', 'User hank')
      .send({ customer: large, status: 'closed' })
      .expect(201);
    expect(summary.body).toEqual({ count: 4 });
    const bulk = (
      await events(running, { requestId: summary.headers['x-request-id'] as string })
    ).filter((e) => e.target?.type === 'order');
    expect(bulk).toHaveLength(1);
    expect(bulk[0]).toMatchObject({
      action: 'order.update',
      filter: { customer: large },
      results: { set: { status: 'closed' }, count: 4 },
    });

    const deleted = await request(running.url)
      .post('/maintenance/bulk-delete')
      .send({ customer: small })
      .expect(201);
    expect(deleted.body).toEqual({ count: 2 });
    const deletes = (
      await events(running, { requestId: deleted.headers['x-request-id'] as string })
    ).filter((e) => e.action === 'order.delete');
    expect(deletes.map((e) => before(e)?.status)).toEqual(['closed', 'closed']);
  });
});

describe('MikroORM integration, atomic mode with PostgresAuditStore on the same database', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startOrdersApp(
      'express',
      SCHEMA,
      { store: new PostgresAuditStore({ connectionString: CONNECTION, schema: EVENTS_SCHEMA }) },
      { atomic: true },
    );
  });

  afterAll(async () => {
    await running?.close();
  });

  async function storedEvents(action: string, code: string): Promise<unknown[]> {
    return sql(
      `SELECT id FROM "${EVENTS_SCHEMA}".audit_events WHERE action = $1 AND payload::jsonb -> 'changes' -> 'after' ->> 'code' = $2`,
      [action, code],
    );
  }

  it('commits the events with the data, and neither when the commit fails after the write', async () => {
    const ok = await request(running.url)
      .post('/orders')
      .set('authorization', 'User ivy')
      .send({ code: 'atomic-1', customer: 'acme' })
      .expect(201);
    const id = (ok.body as { id: number }).id;
    expect(await storedEvents('order.create', 'atomic-1')).toHaveLength(1);
    // In atomic mode the change is an event of its own, written in the transaction; the
    // request's event records the attempt.
    const trail = await events(running, { requestId: ok.headers['x-request-id'] as string });
    const changed = trail.filter((e) => e.changes !== undefined);
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatchObject({ action: 'order.create', actor: { id: 'ivy' } });
    expect(after(changed[0])).toMatchObject({ id, code: 'atomic-1', customer: 'acme' });

    // The duplicate code is refused only by the deferred check at COMMIT, after the INSERT and
    // the event rows were written in the same transaction.
    const refused = await request(running.url)
      .post('/orders')
      .set('authorization', 'User ivy')
      .send({ code: 'atomic-1', customer: 'other' })
      .expect(500);
    const attempt = await events(running, { requestId: refused.headers['x-request-id'] as string });
    expect(attempt.map((e) => [e.outcome, e.changes])).toEqual([['failure', undefined]]);
    const rows = await sql(`SELECT customer FROM "${SCHEMA}".orders WHERE code = 'atomic-1'`);
    expect(rows).toEqual([{ customer: 'acme' }]);
    expect(await storedEvents('order.create', 'atomic-1')).toHaveLength(1);
  });
});

describe('MikroORM integration outside a request, registered on an ORM instance', () => {
  const tmp = tempDir();
  let running: RunningApp;
  let orm: MikroORM | undefined;

  beforeAll(async () => {
    running = await startApp('express', {
      imports: [
        AuditModule.forRoot({
          stream: false,
          store: `${tmp.dir}/audit.db`,
          serviceName: 'orders-job',
        }),
      ],
    });
  });

  afterAll(async () => {
    await orm?.close();
    await running?.close();
    tmp.cleanup();
  });

  it('records the flushes of a job as the service, also without a transaction', async () => {
    orm = await MikroORM.init({ ...ormOptions(SCHEMA), implicitTransactions: false });
    registerMikroOrmAudit(orm, running.app.get(AuditChangeRecorder), { ignore: ['note'] });
    const em = orm.em.fork();
    const order = em.create(Order, { code: 'job-1', customer: 'batch', status: 'new', note: 'a' });
    await em.flush();
    order.status = 'done';
    order.note = 'b';
    await em.flush();
    order.note = 'c'; // an ignored property alone: nothing recorded
    await em.flush();
    const trail = await events(running, { resourceType: 'order', resourceId: String(order.id) });
    expect(trail.map((e) => e.action)).toEqual(['order.create', 'order.update']);
    for (const event of trail) {
      expect(event.actor).toMatchObject({ type: 'service', id: 'orders-job' });
      expect(event.changes?.fields).not.toContain('note');
    }
    expect(trail[1]?.changes?.fields).toEqual(['status']);
  });
});
