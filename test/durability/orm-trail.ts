import Database from 'better-sqlite3';
import { existsSync, readFileSync } from 'node:fs';
import { Client } from 'pg';
import { PG_URL } from './records';

/**
 * The orders table of the Prisma and MikroORM servers (`orm-apps/`), as TypeORM synchronises the
 * sample's `Order` entity: the specs create it, since those ORMs are not asked to.
 */
export function shopOrderTableSql(schema: string): string {
  return `CREATE TABLE IF NOT EXISTS "${schema}".shop_order (
    id serial PRIMARY KEY,
    item varchar NOT NULL,
    quantity integer NOT NULL,
    status varchar NOT NULL DEFAULT 'open'
  )`;
}

/** Creates `schema` (and, with `withTable`, its `shop_order` table) in the test database. */
export async function createShopSchema(schema: string, withTable: boolean): Promise<void> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    if (withTable) await client.query(shopOrderTableSql(schema));
  } finally {
    await client.end();
  }
}

/**
 * Ids of the orders committed in the shop's database (PostgreSQL), and of the orders the trail
 * (a SQLite file) names.
 */
export async function committedAndRecorded(
  schema: string,
  auditFile: string,
): Promise<{ orders: string[]; recorded: Set<string> }> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  const auditDb = new Database(auditFile, { readonly: true, fileMustExist: true });
  try {
    const rows = await client.query<{ id: string }>(
      `SELECT id::text AS id FROM "${schema}".shop_order`,
    );
    const recorded = auditDb
      .prepare(
        "SELECT resource_id AS id FROM audit_events WHERE action = 'order.create' AND resource_id IS NOT NULL",
      )
      .all() as { id: string }[];
    return { orders: rows.rows.map((r) => r.id), recorded: new Set(recorded.map((r) => r.id)) };
  } finally {
    await client.end();
    auditDb.close();
  }
}

interface EventRow {
  resource_id: string;
  request_id: string | null;
}

/** Orders and the events of an atomic-mode database, as the kill -9 suites compare them. */
export interface OrdersAndEvents {
  orders: string[];
  changeEvents: string[];
  requestIds: Set<string>;
  /** Ids of the change events (written in the orders' own transactions). */
  changeEventIds: string[];
  /** Events still in the store's relay backlog (their ECS lines not confirmed). */
  unstreamed: number;
}

const ORDER_EVENTS = `SELECT resource_id, request_id FROM audit_events
  WHERE action = 'order.create' AND resource_id IS NOT NULL`;

/** A change event has no response: the request's own event records that. */
const CHANGE_EVENT_IDS = {
  postgres: `SELECT id FROM audit_events WHERE action = 'order.create' AND payload->'response' IS NULL`,
  sqlite: `SELECT e.id FROM audit_events e JOIN audit_payloads p ON p.event = e.rowid
    WHERE e.action = 'order.create' AND json_extract(p.payload, '$.response') IS NULL`,
};

function ordersAndEvents(
  orderIds: readonly string[],
  events: readonly EventRow[],
  lines: Pick<OrdersAndEvents, 'changeEventIds' | 'unstreamed'>,
): OrdersAndEvents {
  const numeric = (a: string, b: string): number => Number(a) - Number(b);
  return {
    orders: [...orderIds].sort(numeric),
    // An order is named by its change event and, once answered, by its request's event too.
    changeEvents: [...new Set(events.map((r) => r.resource_id))].sort(numeric),
    requestIds: new Set(events.map((r) => r.request_id ?? '')),
    ...lines,
  };
}

/** The `event.id` of every whole ECS line in a file (a line torn by kill -9 names nothing). */
export function streamedIds(file: string): Set<string> {
  const ids = new Set<string>();
  if (!existsSync(file)) return ids;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    try {
      const id = (JSON.parse(line) as { event?: { id?: unknown } }).event?.id;
      if (typeof id === 'string') ids.add(id);
    } catch {
      // torn or empty
    }
  }
  return ids;
}

/** Order rows, and the orders the events name, in the PostgreSQL schema. */
export async function postgresOrdersAndEvents(schema: string): Promise<OrdersAndEvents> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`SET search_path TO "${schema}"`);
    const orders = await client.query<{ id: string }>('SELECT id::text AS id FROM shop_order');
    const events = await client.query<EventRow>(ORDER_EVENTS);
    const changeEventIds = await client.query<{ id: string }>(CHANGE_EVENT_IDS.postgres);
    const backlog = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM audit_events_relay',
    );
    return ordersAndEvents(
      orders.rows.map((r) => r.id),
      events.rows,
      {
        changeEventIds: changeEventIds.rows.map((r) => r.id),
        unstreamed: backlog.rows[0]?.n ?? -1,
      },
    );
  } finally {
    await client.end();
  }
}

/** Order rows, and the orders the events name, in the shop's SQLite file. */
export function sqliteOrdersAndEvents(file: string): OrdersAndEvents {
  const db = new Database(file, { readonly: true });
  try {
    const orders = db.prepare('SELECT CAST(id AS TEXT) FROM shop_order').pluck().all() as string[];
    return ordersAndEvents(orders, db.prepare(ORDER_EVENTS).all() as EventRow[], {
      changeEventIds: db.prepare(CHANGE_EVENT_IDS.sqlite).pluck().all() as string[],
      unstreamed: db.prepare('SELECT count(*) FROM audit_stream_relay').pluck().get() as number,
    });
  } finally {
    db.close();
  }
}
