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
INSERT INTO tenants (id, name) VALUES (1, 'Acme'), (2, 'Globex');

INSERT INTO customers (id, tenant_id, name, email, ssn, created_at) VALUES
    (1, 1, 'Jane Doe',     'jane.doe@acme.example',    '123-45-6789', '2024-01-15 09:30:00'),
    (2, 1, 'John Roe',     'john.roe@acme.example',    '987-65-4321', '2024-02-01 14:00:00'),
    (3, 2, 'Ada Lovelace', 'ada@globex.example',       '555-12-3456', '2024-03-10 11:15:00'),
    (4, 2, 'Alan Turing',  'alan@globex.example',      NULL,          '2024-03-11 16:45:00');

INSERT INTO orders (id, tenant_id, customer_id, amount, status, placed_at) VALUES
    (1, 1, 1, '120.50', 'shipped',  '2024-04-01 10:00:00'),
    (2, 1, 1,  '15.00', 'placed',   '2024-04-03 12:30:00'),
    (3, 1, 2, '999.99', 'refunded', '2024-04-05 08:00:00'),
    (4, 2, 3,  '42.00', 'shipped',  '2024-04-06 17:20:00'),
    (5, 2, 4,   '7.25', 'placed',   '2024-04-07 09:05:00');
