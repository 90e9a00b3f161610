//! Statement analysis cost per statement and dialect: parse, resolve, fingerprint, and the
//! print/re-parse round trip, i.e. everything `analyse` does on the request path.

// A benchmark whose setup fails should stop loudly, not be measured.
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sluice_core::analyse::{Dialect, analyse};

const STATEMENTS: [(&str, &str); 4] = [
    ("point_select", "SELECT id, name, email FROM customers WHERE id = $1"),
    (
        "join_cte",
        "WITH recent AS (SELECT customer_id, sum(amount) AS total FROM orders WHERE placed_at > $1 \
         GROUP BY customer_id) SELECT c.name, r.total FROM customers AS c JOIN recent AS r \
         ON r.customer_id = c.id WHERE c.tenant_id = $2 ORDER BY r.total DESC LIMIT 10",
    ),
    (
        "subqueries",
        "SELECT o.id FROM orders o WHERE o.customer_id IN (SELECT id FROM customers WHERE email LIKE $1) \
         AND EXISTS (SELECT 1 FROM tenants t WHERE t.id = o.tenant_id) UNION SELECT id FROM orders WHERE status = $2",
    ),
    ("update", "UPDATE orders SET status = $1 WHERE id = $2 AND tenant_id = $3"),
];

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("analyse");
    for (name, sql) in STATEMENTS {
        group.bench_with_input(BenchmarkId::new("postgres", name), sql, |b, sql| {
            b.iter(|| analyse(Dialect::Postgres, sql));
        });
        let mysql = sql.replace("$1", "?").replace("$2", "?").replace("$3", "?");
        group.bench_with_input(BenchmarkId::new("mysql", name), &mysql, |b, sql| {
            b.iter(|| analyse(Dialect::MySql, sql));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
