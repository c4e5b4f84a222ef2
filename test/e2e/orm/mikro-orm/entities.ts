import { Collection, EntitySchema } from '@mikro-orm/core';

/** An order: the audited resource (`order`). */
export class Order {
  id!: number;
  code!: string;
  status!: string;
  customer!: string;
  note?: string | null;
  deletedAt?: Date | null;
  items = new Collection<OrderItem>(this);
}

/** A line of an order: a child row (`order_item`) recorded with its order's id. */
export class OrderItem {
  id!: number;
  sku!: string;
  qty!: number;
  order!: Order;
}

export const OrderSchema = new EntitySchema<Order>({
  class: Order,
  tableName: 'orders',
  properties: {
    id: { type: 'number', primary: true, autoincrement: true },
    code: { type: 'string' },
    status: { type: 'string' },
    customer: { type: 'string' },
    note: { type: 'string', nullable: true },
    deletedAt: { type: 'Date', nullable: true },
    items: { kind: '1:m', entity: () => OrderItem, mappedBy: 'order', orphanRemoval: true },
  },
});

export const OrderItemSchema = new EntitySchema<OrderItem>({
  class: OrderItem,
  tableName: 'order_item',
  properties: {
    id: { type: 'number', primary: true, autoincrement: true },
    sku: { type: 'string' },
    qty: { type: 'number' },
    order: { kind: 'm:1', entity: () => Order },
  },
});

/**
 * The tables, in a schema of their own. `code` is unique with a DEFERRED check: a duplicate is
 * refused only at COMMIT, after every statement of the transaction ran (the atomic-mode test's
 * "fails after the write").
 */
export function schemaSql(schema: string): string {
  return `
    DROP SCHEMA IF EXISTS "${schema}" CASCADE;
    CREATE SCHEMA "${schema}";
    CREATE TABLE "${schema}".orders (
      id serial PRIMARY KEY,
      code text NOT NULL,
      status text NOT NULL,
      customer text NOT NULL,
      note text,
      deleted_at timestamptz,
      CONSTRAINT orders_code_unique UNIQUE (code) DEFERRABLE INITIALLY DEFERRED
    );
    CREATE TABLE "${schema}".order_item (
      id serial PRIMARY KEY,
      sku text NOT NULL,
      qty integer NOT NULL,
      order_id integer NOT NULL REFERENCES "${schema}".orders (id) ON DELETE CASCADE
    );
  `;
}
