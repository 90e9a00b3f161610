-- The quickstart schema for PostgreSQL, in its own schema so it cannot clash with yours.
DROP SCHEMA IF EXISTS sluice_example CASCADE;
CREATE SCHEMA sluice_example;
SET search_path = sluice_example;

CREATE TABLE tenants (id int8 PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE customers (
    id int8 PRIMARY KEY,
    tenant_id int8 NOT NULL REFERENCES tenants(id),
    name text NOT NULL,
    email text NOT NULL UNIQUE,
    ssn text,
    created_at timestamptz NOT NULL
);
CREATE TABLE orders (
    id int8 PRIMARY KEY,
    tenant_id int8 NOT NULL REFERENCES tenants(id),
    customer_id int8 NOT NULL REFERENCES customers(id),
    amount numeric(12,2) NOT NULL,
    status text NOT NULL CHECK (status IN ('placed', 'shipped', 'refunded')),
    placed_at timestamptz NOT NULL
);

-- The data is the quickstart's: load examples/quickstart/seed.sql after this file.
