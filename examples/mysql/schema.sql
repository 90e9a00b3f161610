-- The quickstart schema for MySQL / MariaDB, in its own database.
DROP DATABASE IF EXISTS sluice_example;
CREATE DATABASE sluice_example CHARACTER SET utf8mb4;
USE sluice_example;

CREATE TABLE tenants (id BIGINT PRIMARY KEY, name VARCHAR(200) NOT NULL UNIQUE);
CREATE TABLE customers (
    id BIGINT PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    name VARCHAR(200) NOT NULL,
    email VARCHAR(320) NOT NULL UNIQUE,
    ssn VARCHAR(11),
    created_at DATETIME NOT NULL
);
CREATE TABLE orders (
    id BIGINT PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    customer_id BIGINT NOT NULL REFERENCES customers(id),
    amount DECIMAL(12,2) NOT NULL,
    status VARCHAR(16) NOT NULL CHECK (status IN ('placed', 'shipped', 'refunded')),
    placed_at DATETIME NOT NULL
);

-- The data is the quickstart's: load examples/quickstart/seed.sql after this file.
