-- The demo's source schema: a small shop with two tenants.
CREATE EXTENSION IF NOT EXISTS citext;
CREATE SCHEMA shop;
CREATE TYPE shop.order_status AS ENUM ('pending', 'paid', 'shipped', 'cancelled');

CREATE TABLE shop.customers (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id integer NOT NULL,
  email citext NOT NULL UNIQUE,
  full_name text NOT NULL,
  phone text,
  active boolean NOT NULL DEFAULT true,
  signed_up_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE shop.products (
  id serial PRIMARY KEY,
  tenant_id integer NOT NULL,
  name text NOT NULL,
  price numeric(10, 2) NOT NULL CHECK (price >= 0),
  tags text[] NOT NULL DEFAULT '{}'
);

CREATE TABLE shop.orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id integer NOT NULL,
  customer_id bigint NOT NULL REFERENCES shop.customers (id),
  status shop.order_status NOT NULL DEFAULT 'pending',
  placed_at timestamptz NOT NULL,
  total numeric(12, 2) NOT NULL DEFAULT 0
);
CREATE INDEX orders_customer ON shop.orders (customer_id);
CREATE INDEX orders_placed ON shop.orders (placed_at);

CREATE TABLE shop."Order Items" (
  order_id bigint NOT NULL REFERENCES shop.orders (id) ON DELETE CASCADE,
  product_id integer NOT NULL REFERENCES shop.products (id),
  tenant_id integer NOT NULL,
  quantity integer NOT NULL CHECK (quantity > 0),
  line_total numeric(12, 2) GENERATED ALWAYS AS (quantity * 9.99) STORED,
  PRIMARY KEY (order_id, product_id)
);

INSERT INTO shop.customers (tenant_id, email, full_name, phone, active, signed_up_at)
SELECT 1 + i % 2, format('customer%s@example.com', i), format('Customer %s', i),
       CASE WHEN i % 3 = 0 THEN NULL ELSE format('+44 20 7946 %s', lpad(i::text, 4, '0')) END,
       i % 7 <> 0, timestamptz '2024-01-01' + i * interval '7 hours'
  FROM generate_series(1, 200) i;

INSERT INTO shop.products (tenant_id, name, price, tags)
SELECT 1 + i % 2, format('Product %s', i), (i * 3.5)::numeric(10, 2), ARRAY['demo', format('group-%s', i % 4)]
  FROM generate_series(1, 40) i;

INSERT INTO shop.orders (tenant_id, customer_id, status, placed_at, total)
SELECT c.tenant_id, c.id, (ARRAY['pending', 'paid', 'shipped', 'cancelled'])[1 + i % 4]::shop.order_status,
       timestamptz '2024-06-01' + i * interval '5 hours', 0
  FROM generate_series(1, 1000) i
  JOIN shop.customers c ON c.id = 1 + i % 200;

INSERT INTO shop."Order Items" (order_id, product_id, tenant_id, quantity)
SELECT o.id, p.id, o.tenant_id, 1 + (o.id + p.id) % 5
  FROM shop.orders o
  JOIN shop.products p ON p.tenant_id = o.tenant_id AND (o.id + p.id) % 9 = 0;

UPDATE shop.orders o SET total = s.sum
  FROM (SELECT order_id, sum(line_total) AS sum FROM shop."Order Items" GROUP BY order_id) s
 WHERE s.order_id = o.id;
ANALYZE;
