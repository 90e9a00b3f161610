-- Quickstart schema: tenants, their customers (with personal data) and orders.
CREATE TABLE tenants (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE
);

CREATE TABLE customers (
    id         INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    name       TEXT NOT NULL,
    email      TEXT NOT NULL UNIQUE,
    ssn        TEXT,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE orders (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    amount      NUMERIC NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('placed', 'shipped', 'refunded')),
    placed_at   TIMESTAMP NOT NULL
);
