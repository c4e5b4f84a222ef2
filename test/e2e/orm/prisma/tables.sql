-- The tables of schema.prisma; the test runs this in a PostgreSQL schema of its own (search_path).
CREATE TABLE orders (
  id          text PRIMARY KEY,
  status      text NOT NULL,
  note        text,
  total       numeric(12, 2) NOT NULL,
  placed_at   timestamptz(3) NOT NULL,
  version     bigint NOT NULL DEFAULT 0,
  tags        text[] NOT NULL DEFAULT '{}',
  payload     bytea,
  deleted_at  timestamptz(3)
);

CREATE TABLE order_items (
  id        serial PRIMARY KEY,
  order_id  text NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  sku       text NOT NULL,
  qty       integer NOT NULL
);
