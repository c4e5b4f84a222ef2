import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AuditModule, AuditService, SqliteAuditStore, type AuditEvent } from '../../../src';
import { AuditTypeOrmModule, sqliteAuditStoreFor } from '../../../src/typeorm';
import { LineCollector, PLATFORMS, startApp, tempDir, type RunningApp } from '../../utils/apps';
import { expectWriteChain, UserHeaderGuard, writeConcurrently } from './orm-test-kit';
import { ENTITIES, OrdersController, slowGate } from './typeorm/orders.fixture';
import { eventually } from '../../utils/alarm-inbox';

/** One event row of the app's own file, read through a connection of the test. */
interface StoredRow {
  action: string;
  payload: string;
}

function storedEvents(file: string, orderId: string): AuditEvent[] {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db
      .prepare(
        `SELECT e.action, p.payload FROM audit_events e JOIN audit_payloads p ON p.event = e.rowid
         WHERE e.resource_type = 'order' AND e.resource_id = ? ORDER BY e.rowid`,
      )
      .all(orderId) as StoredRow[];
    return rows.map((row) => JSON.parse(row.payload) as AuditEvent);
  } finally {
    db.close();
  }
}

/** The app's TypeORM connection: better-sqlite3 on `file`. */
function sqliteOrm(file: string): ReturnType<typeof TypeOrmModule.forRoot> {
  return TypeOrmModule.forRoot({
    type: 'better-sqlite3',
    database: file,
    entities: ENTITIES,
    synchronize: true,
  });
}

/** Events in the relay backlog of the app's file (lines not confirmed written). */
function relayBacklog(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT count(*) FROM audit_stream_relay').pluck().get() as number;
  } finally {
    db.close();
  }
}

function noteOf(file: string, orderId: string): string | undefined {
  const db = new Database(file, { readonly: true });
  try {
    const row = db.prepare('SELECT note FROM purchase_order WHERE id = ?').get(orderId) as
      { note: string } | undefined;
    return row?.note;
  } finally {
    db.close();
  }
}

describe.each(PLATFORMS)(
  'TypeORM atomic mode on SQLite: the store shares the app connection (%s)',
  (platform) => {
    let app: RunningApp;
    let audit: AuditService;
    let file: string;
    let cleanup: () => void;
    const lines = new LineCollector();

    beforeAll(async () => {
      const tmp = tempDir();
      cleanup = tmp.cleanup;
      file = join(tmp.dir, 'app.db');
      app = await startApp(platform, {
        imports: [
          sqliteOrm(file),
          TypeOrmModule.forFeature(ENTITIES),
          AuditModule.forRootAsync({
            inject: [DataSource],
            useFactory: (dataSource: DataSource) => ({
              store: sqliteAuditStoreFor(dataSource),
              stream: lines,
              serviceName: 'orders-api',
            }),
          }),
          AuditTypeOrmModule.forRoot({ atomic: true }),
        ],
        controllers: [OrdersController],
        providers: [{ provide: APP_GUARD, useClass: UserHeaderGuard }],
      });
      audit = app.app.get(AuditService);
    });

    afterAll(async () => {
      await app?.close();
      cleanup?.();
    });

    it('stores the change event in the same file and transaction, and neither when it fails', async () => {
      const created = await request(app.url).post('/orders').send({ note: 'atomic' }).expect(201);
      const id = String(created.body.id);
      await request(app.url).patch(`/orders/${id}`).send({ note: 'changed' }).expect(200);
      await request(app.url).patch(`/orders/${id}/failing`).send({ note: 'lost' }).expect(500);
      const events = storedEvents(file, id);
      const changes = events.filter((e) => e.changes?.diff?.length);
      expect(changes.map((e) => e.action)).toEqual(['order.create', 'order.update']);
      expect(changes[1]?.changes).toMatchObject({
        before: { note: 'atomic' },
        after: { note: 'changed' },
      });
      expect(JSON.stringify(events)).not.toContain('"lost"');
      expect(noteOf(file, id)).toBe('changed');
      // The request's own events (the attempts) are in the same file too, failure included.
      const outcomes = (await audit.history('order', id)).map((e) => [e.action, e.outcome]);
      expect(outcomes).toContainEqual(['order.update', 'failure']);
    });

    it('has the change event in the file the moment the change commits', async () => {
      const created = await request(app.url).post('/orders').send({ note: 'before' }).expect(201);
      const id = String(created.body.id);
      slowGate.reset();
      const held = request(app.url).patch(`/orders/${id}/slow`).send({ note: 'after' });
      const answered = held.then((res) => res.status);
      let updates: AuditEvent[];
      try {
        await eventually(() => slowGate.committed === 1, 'the slow change to commit');
        // The handler still runs: only a write in the change's own transaction is there yet.
        updates = storedEvents(file, id).filter((e) => e.action === 'order.update');
      } finally {
        slowGate.open();
      }
      expect(await answered).toBe(200);
      expect(updates.map((e) => e.changes?.after)).toEqual([
        expect.objectContaining({ note: 'after' }),
      ]);
    });

    it('writes the ECS line of a committed change, and none of a rolled-back one', async () => {
      const created = await request(app.url).post('/orders').send({ note: 'lined' }).expect(201);
      const id = String(created.body.id);
      await request(app.url).patch(`/orders/${id}/failing`).send({ note: 'rolled' }).expect(500);
      const ofOrder = lines.lines.filter((line) => line.includes(`"id":"${id}"`));
      expect(ofOrder.join('\n')).toContain('"action":"order.create"');
      expect(ofOrder.join('\n')).not.toContain('"rolled"');
      // Its line written, the event leaves the relay backlog (nothing for a sweep to repeat).
      await eventually(() => relayBacklog(file) === 0, 'the line to be confirmed');
    });

    it('gives each of 20 concurrent writers of one row the state its own write replaced', async () => {
      const { id } = await writeConcurrently(app.url);
      const updates = storedEvents(file, id).filter(
        (e) => e.action === 'order.update' && e.changes?.diff?.length,
      );
      expect(updates).toHaveLength(20);
      const last = expectWriteChain(updates, 'note', 'start', (actor) => `by ${actor}`);
      expect(noteOf(file, id)).toBe(last);
    });
  },
);

describe('TypeORM atomic mode on SQLite: refused configurations', () => {
  let cleanup: () => void;
  let dir: string;

  beforeEach(() => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    dir = tmp.dir;
  });

  afterEach(() => cleanup());

  it('refuses at boot a store on its own connection to the same file', async () => {
    const file = join(dir, 'app.db');
    await expect(
      startApp('express', {
        imports: [
          sqliteOrm(file),
          TypeOrmModule.forFeature(ENTITIES),
          AuditModule.forRoot({ store: new SqliteAuditStore({ path: file }), stream: false }),
          AuditTypeOrmModule.forRoot({ atomic: true }),
        ],
        controllers: [OrdersController],
      }),
    ).rejects.toThrow(/atomic: true on SQLite needs the audit store on the .* own connection/);
  });

  it('refuses a relayAfterMs that is not a positive integer', async () => {
    await expect(
      startApp('express', {
        imports: [
          sqliteOrm(join(dir, 'app.db')),
          TypeOrmModule.forFeature(ENTITIES),
          AuditModule.forRootAsync({
            inject: [DataSource],
            useFactory: (dataSource: DataSource) => ({
              store: sqliteAuditStoreFor(dataSource),
              stream: false,
            }),
          }),
          AuditTypeOrmModule.forRoot({ atomic: true, relayAfterMs: 0.5 }),
        ],
        controllers: [OrdersController],
      }),
    ).rejects.toThrow(
      'nestjs-audit/typeorm: relayAfterMs must be a positive integer number of milliseconds, got 0.5; omit it for the default of 10000.',
    );
  });

  it('refuses sqliteAuditStoreFor() on a data source that is not better-sqlite3', () => {
    const dataSource = new DataSource({ type: 'postgres', url: 'postgres://127.0.0.1/none' });
    expect(() => sqliteAuditStoreFor(dataSource)).toThrow(/needs a "better-sqlite3" DataSource/);
  });
});
