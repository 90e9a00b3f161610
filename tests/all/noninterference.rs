//! Non-interference of row filters and masks, reads and writes alike: the acceptance test of
//! issue 8 ("writes masked by construction").
//!
//! A caller must not be able to tell apart two databases that differ only in what it may not
//! see. Each engine gets two databases, A and B, with the same schema (`people`, `orders`, and
//! an unprotected `journal`):
//!
//! * tenant 1's rows are the same in A and B except for the clear values behind the masked
//!   columns (`people.email`, `people.ssn`, `people.salary`). Those differ in every row, but
//!   only in the part the mask hides, so both sides mask to the same text ([`T1_PEOPLE`];
//!   `noninterference_fixture_masks_agree` checks this against the masks' definitions).
//! * the other tenants' rows differ arbitrarily: counts, ids (never one tenant 1 uses), values,
//!   among them values that make errors (`(` is not a regular expression, `''` is not an escape
//!   character, zero and near-overflow numbers).
//!
//! One Sluice serves both, as datasources `a` and `b`, with the `tenant-isolation` and
//! `pii-mask` plugins. A seeded generator writes reads and writes over the fixture: joins,
//! subqueries, whole-row forms, aggregates, window functions, CASE, LIKE and comparisons on
//! masked columns, UPDATE / DELETE with RETURNING or ORDER BY ... LIMIT, INSERT ... VALUES and
//! INSERT ... SELECT, quoted, long and schema-qualified names. Each statement runs as tenant 1
//! on A and on B, and the responses must be identical: status, error code and the database's
//! own error code (not the message text), columns, rows (in order when the statement's ORDER BY
//! fixes it, otherwise as multisets), row count and rows affected. Writes run on both sides, so
//! tenant 1's visible state stays the same on both; after every write that ran, that state
//! (every table, read through Sluice) is compared too, so a write that stores a hidden value
//! where tenant 1 can read it is reported at the write. Refusals are fine when both sides
//! refuse alike, but at least 30% of the statements must succeed, so the test cannot pass by
//! refusing everything. At the end the other tenants' rows must be as the fixture made them.
//!
//! Legitimate non-determinism is kept out of the generator, so that any difference is a leak:
//! LIMIT and ordered windows always come with an ORDER BY that ends in unique keys,
//! concatenating aggregates are ordered, scalar subqueries aggregate, nothing reads the clock,
//! no write changes a key, and new rows take ids no other tenant has (a key collision with
//! another tenant's row is a documented limit). Deletes are followed by putting tenant 1's
//! fixture rows back, so the data set does not drain.
//!
//! A difference is recorded with the statement's index, its text and both responses; both
//! databases are then reset to the fixture, so that later statements are judged on their own.
//! The test fails at the end with the seed and the differences grouped by class (statement verb
//! and the two outcomes), a count and the first examples of each. `SLUICE_NI_SEED` and
//! `SLUICE_NI_COUNT` override the seed and the number of statements; `SLUICE_NI_TRACE=1` prints
//! every statement and its outcome.

use std::path::Path;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{KEY, MyDatabase, PgSchema, Sluice, TempDir, base_toml, plugin_toml, policy_toml};

/// Statements per engine unless `SLUICE_NI_COUNT` says otherwise.
const DEFAULT_COUNT: usize = 2000;
/// The seed unless `SLUICE_NI_SEED` says otherwise (mixed with the engine, so each engine gets
/// its own stream).
const DEFAULT_SEED: u64 = 0x5EED_0008;
/// Differences after which the run stops: past this many, something systemic is wrong.
const MAX_DIFFERENCES: usize = 200;
/// Examples of each class of difference the failure message shows.
const EXAMPLES_PER_CLASS: usize = 2;
/// Where the generated text names the schema: each side's own (PostgreSQL schema, MariaDB
/// database, SQLite `main`) is substituted before it is sent.
const S: &str = "{schema}";

// ---------------------------------------------------------------------------------------------
// A small deterministic PRNG (splitmix64): the same seed gives the same statements everywhere.

struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

// ---------------------------------------------------------------------------------------------
// The fixture.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Engine {
    Postgres,
    MariaDb,
    Sqlite,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    A,
    B,
}

/// Tenant 1's people: id, name, dept, and for email, ssn and salary the clear value in A and in
/// B. The two differ only where the mask hides: `email` keeps the first character and the domain
/// (an address without exactly one `@` is starred whole, so only its length must agree),
/// `partial(0,4)` keeps the length and the last four characters (four characters or fewer are
/// starred whole), `bucket(1000)` keeps the multiple of 1000 below. A's hidden parts are low,
/// B's high, so a comparison that reaches a clear value tends to answer differently.
type T1Person = (
    i64,
    Option<&'static str>,
    Option<&'static str>,
    Option<(&'static str, &'static str)>,
    Option<(&'static str, &'static str)>,
    Option<(i64, i64)>,
);

#[rustfmt::skip]
const T1_PEOPLE: &[T1Person] = &[
    (1,  Some("Ann"), Some("eng"),   Some(("ann.lo@t1.example", "azz.hidden.top@t1.example")),    Some(("101-01-4321", "898-98-4321")), Some((52_013, 52_987))),
    (2,  Some("Bob"), Some("eng"),   Some(("bob@t1.example", "bzzzzzzzzz@t1.example")),           Some(("102-11-1111", "899-99-1111")), Some((52_400, 52_600))),
    (3,  Some("Cat"), Some("ops"),   Some(("cat@corp.example", "c.other@corp.example")),          Some(("1234", "9876")),               Some((47_000, 47_999))),
    (4,  Some("Dan"), Some("ops"),   Some(("dan1@corp.example", "d@corp.example")),               Some(("105-05-1111", "894-94-1111")), None),
    (5,  Some("Eve"), None,          None,                                                        Some(("106-06-5555", "893-93-5555")), Some((61_001, 61_998))),
    (6,  None,        Some("sales"), Some(("eve@mail.example", "e.zz@mail.example")),             None,                                 Some((30_001, 30_999))),
    (7,  Some("Fay"), Some("sales"), Some(("fay@t1.example", "f-z@t1.example")),                  Some(("12-345", "98-345")),           Some((-2_999, -2_001))),
    (8,  Some("Gus"), Some("eng"),   Some(("g@u@s.example", "g@z@q.example")),                    Some(("107-77-0000", "892-22-0000")), Some((99_001, 99_999))),
    (9,  Some("Hal"), None,          Some(("nomail-hal", "other-name")),                          Some(("abcd", "wxyz")),               Some((0, 999))),
    (10, Some("Ida"), Some("ops"),   Some(("ida@t1.example", "ixxxxxx@t1.example")),              Some(("108-88-4321", "891-11-4321")), Some((75_000, 75_999))),
    (11, Some("Ann"), Some("eng"),   Some(("ann2@t1.example", "azzzz@t1.example")),               Some(("109-99-2468", "890-01-2468")), Some((52_499, 52_501))),
    (12, Some("Jo"),  Some("sales"), Some(("j@mail.example", "jjjjjjjjjjjjjjjjjj@mail.example")), None,                                 None),
];

/// Tenant 1's orders, the same on both sides: id, person_id, amount, note. Orders 15 and 16
/// point at other tenants' people (1001 exists only in A, 2003 only in B), 17 at nobody. Every
/// note is a valid regular expression and a non-empty string, so only another tenant's note can
/// make `'x' ~ note` or `ESCAPE substr(note, 1, 1)` fail.
const T1_ORDERS: &[(i64, Option<i64>, i64, Option<&str>)] = &[
    (1, Some(1), 120, Some("rush")),
    (2, Some(1), 80, Some("gift")),
    (3, Some(2), 0, Some("bulk")),
    (4, Some(3), 310, Some("late")),
    (5, Some(3), 45, Some("a.b")),
    (6, Some(4), 999, None),
    (7, Some(5), 15, Some("rush")),
    (8, Some(6), 60, Some("gift")),
    (9, Some(7), 75, Some("rush")),
    (10, Some(8), 500, Some("bulk")),
    (11, Some(9), 5, Some("late")),
    (12, Some(10), 250, Some("gift")),
    (13, Some(11), 130, Some("rush")),
    (14, Some(12), 40, Some("a.b")),
    (15, Some(1001), 70, Some("gift")),
    (16, Some(2003), 90, Some("rush")),
    (17, Some(999), 10, Some("late")),
    (18, None, 33, Some("bulk")),
    (19, Some(2), 0, Some("gift")),
    (20, Some(10), 410, Some("rush")),
];

const NAMES: &[&str] = &["Ann", "Bob", "Zed", "Kim", "Lou", "Cat"];
const DEPTS: &[&str] = &["eng", "ops", "sales", "hr"];
const NOTES: &[&str] = &["rush", "gift", "bulk", "late", "a.b"];
/// Other tenants' notes: among them values that make the error channels fire.
const OTHER_NOTES: &[Option<&str>] =
    &[Some("("), Some("["), Some(""), Some("%"), Some("ZZ("), Some("rush"), Some("o'k"), Some("x"), None];

#[derive(Clone, Debug)]
struct Person {
    id: i64,
    tenant: String,
    name: Option<String>,
    dept: Option<String>,
    email: Option<String>,
    ssn: Option<String>,
    salary: Option<i64>,
}

#[derive(Clone, Debug)]
struct Order {
    id: i64,
    tenant: Option<String>,
    person_id: Option<i64>,
    amount: i64,
    note: Option<String>,
}

/// One side's rows.
struct Fixture {
    people: Vec<Person>,
    orders: Vec<Order>,
}

fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_string)
}

fn tenant_one_people(side: Side) -> Vec<Person> {
    let pick = |pair: (&'static str, &'static str)| if side == Side::A { pair.0 } else { pair.1 };
    T1_PEOPLE
        .iter()
        .map(|&(id, name, dept, email, ssn, salary)| Person {
            id,
            tenant: "1".into(),
            name: owned(name),
            dept: owned(dept),
            email: email.map(|e| pick(e).to_string()),
            ssn: ssn.map(|s| pick(s).to_string()),
            salary: salary.map(|(a, b)| if side == Side::A { a } else { b }),
        })
        .collect()
}

fn tenant_one_orders() -> Vec<Order> {
    T1_ORDERS
        .iter()
        .map(|&(id, person_id, amount, note)| Order {
            id,
            tenant: Some("1".into()),
            person_id,
            amount,
            note: owned(note),
        })
        .collect()
}

impl Fixture {
    /// Tenant 1's rows for `side`, then other tenants' rows: A's ids from 1000, B's from 2000,
    /// in different numbers and with different values.
    fn new(engine: Engine, side: Side) -> Fixture {
        let (mut rng, first) = match side {
            Side::A => (Rng(0xA11C_E000), 1000),
            Side::B => (Rng(0xB0B0_B000), 2000),
        };
        // Near the column type's limit: `salary + 500` or a sum overflows if a hidden row is read.
        let big = if engine == Engine::Sqlite { 9_000_000_000_000_000_000 } else { 2_147_483_000 };
        let mut people = tenant_one_people(side);
        for k in 0..rng.range(8, 16) {
            let ssn_len = rng.range(0, 14) as usize;
            people.push(Person {
                id: first + k,
                tenant: rng.pick(&["2", "3", "7"]).into(),
                name: owned(rng.pick(&[Some("Ann"), Some("Other"), Some("Zed"), None])),
                dept: owned(rng.pick(&[Some("eng"), Some("ops"), Some("legal"), None])),
                email: match rng.below(4) {
                    0 => None,
                    1 => Some(format!("z{}x@other{}.example", "q".repeat(rng.below(9)), rng.below(3))),
                    2 => Some(format!("a{}@t1.example", rng.below(1000))),
                    _ => Some("not-an-address".into()),
                },
                // `Z` and the row first: unique, and no value tenant 1 can write (fresh, guessed
                // or masked) collides with it in the unique index (the documented key limit).
                ssn: (!rng.chance(15)).then(|| {
                    let tail: String = (0..ssn_len).map(|_| rng.pick(&['1', '8', '-', '*', 'z'])).collect();
                    format!("Z{k}{tail}")
                }),
                salary: match rng.below(5) {
                    0 => None,
                    1 => Some(big),
                    2 => Some(-big),
                    _ => Some(rng.range(-100_000, 200_000)),
                },
            });
        }
        let mut orders = tenant_one_orders();
        for k in 0..rng.range(10, 24) {
            orders.push(Order {
                id: first + k,
                tenant: owned(rng.pick(&[Some("2"), Some("3"), None])),
                person_id: match rng.below(4) {
                    0 => None,
                    1 => Some(first + rng.range(0, 8)),
                    _ => Some(rng.range(1, 12)),
                },
                amount: {
                    let any = rng.range(-1000, 1000);
                    rng.pick(&[0, -5, big, 7, 120, any])
                },
                note: owned(rng.pick(OTHER_NOTES)),
            });
        }
        Fixture { people, orders }
    }
}

/// An SQL string literal (quotes doubled; the fixture and generator use no backslashes).
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn text_or_null(v: &Option<String>) -> String {
    v.as_deref().map_or("NULL".into(), lit)
}

fn number_or_null(v: Option<i64>) -> String {
    v.map_or("NULL".into(), |n| n.to_string())
}

fn people_values(rows: &[&Person]) -> String {
    rows.iter()
        .map(|p| {
            format!(
                "({}, {}, {}, {}, {}, {}, {})",
                p.id,
                lit(&p.tenant),
                text_or_null(&p.name),
                text_or_null(&p.dept),
                text_or_null(&p.email),
                text_or_null(&p.ssn),
                number_or_null(p.salary)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn orders_values(rows: &[&Order]) -> String {
    rows.iter()
        .map(|o| {
            format!(
                "({}, {}, {}, {}, {})",
                o.id,
                text_or_null(&o.tenant),
                number_or_null(o.person_id),
                o.amount,
                text_or_null(&o.note)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

const PEOPLE_COLUMNS: &str = "(id, tenant_id, name, dept, email, ssn, salary)";
const ORDERS_COLUMNS: &str = "(id, tenant_id, person_id, amount, note)";

/// `CREATE TABLE` statements for `engine`.
fn schema_sql(engine: Engine) -> Vec<String> {
    let (text, int) = match engine {
        Engine::Postgres => ("text", "int"),
        Engine::MariaDb => ("VARCHAR(255)", "INT"),
        Engine::Sqlite => ("TEXT", "INTEGER"),
    };
    vec![
        format!(
            "CREATE TABLE people (id {int} PRIMARY KEY, tenant_id {text} NOT NULL, name {text}, dept {text}, \
             email {text}, ssn {text}, salary {int})"
        ),
        format!(
            "CREATE TABLE orders (id {int} PRIMARY KEY, tenant_id {text}, person_id {int}, amount {int}, note {text})"
        ),
        format!("CREATE TABLE journal (id {int} PRIMARY KEY, body {text})"),
        // A unique index on a masked column: a choice for the planner that the fence must
        // survive, and a constraint a write of a masked column must not turn into an oracle on
        // the clear values.
        "CREATE UNIQUE INDEX people_ssn ON people (ssn)".into(),
    ]
}

/// The `INSERT` statements that load `fixture`.
fn load_sql(fixture: &Fixture) -> Vec<String> {
    let people: Vec<&Person> = fixture.people.iter().collect();
    let orders: Vec<&Order> = fixture.orders.iter().collect();
    vec![
        format!("INSERT INTO people {PEOPLE_COLUMNS} VALUES {}", people_values(&people)),
        format!("INSERT INTO orders {ORDERS_COLUMNS} VALUES {}", orders_values(&orders)),
    ]
}

/// Statements that put back tenant 1's fixture rows a delete removed, leaving the others alone.
fn restore_sql(engine: Engine, fixture: &Fixture) -> Vec<String> {
    let people: Vec<&Person> = fixture.people.iter().filter(|p| p.tenant == "1").collect();
    let orders: Vec<&Order> = fixture.orders.iter().filter(|o| o.tenant.as_deref() == Some("1")).collect();
    let (verb, tail) = match engine {
        Engine::Postgres => ("INSERT INTO", " ON CONFLICT (id) DO NOTHING"),
        Engine::MariaDb => ("INSERT IGNORE INTO", ""),
        Engine::Sqlite => ("INSERT OR IGNORE INTO", ""),
    };
    vec![
        format!("{verb} people {PEOPLE_COLUMNS} VALUES {}{tail}", people_values(&people)),
        format!("{verb} orders {ORDERS_COLUMNS} VALUES {}{tail}", orders_values(&orders)),
    ]
}

// The masks as `pii-mask` is configured here, computed in Rust to check the fixture.

fn mask_email(v: &str) -> String {
    match v.split_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !domain.contains('@') => {
            format!("{}***@{domain}", &local[..1])
        }
        _ => "*".repeat(v.chars().count()),
    }
}

fn mask_last_four(v: &str) -> String {
    let chars: Vec<char> = v.chars().collect();
    if chars.len() > 4 {
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{}{tail}", "*".repeat(chars.len() - 4))
    } else {
        "*".repeat(chars.len())
    }
}

fn mask_bucket(v: i64) -> i64 {
    // The SQL rendering is `c - ((c % 1000 + 1000) % 1000)`: the same floor.
    v - v.rem_euclid(1000)
}

// ---------------------------------------------------------------------------------------------
// The generator.

/// What a statement does, for what the runner must do after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
    /// A write that may remove tenant 1's fixture rows: they are put back afterwards.
    Delete,
}

/// One generated statement; `{schema}` in `sql` stands for the side's schema.
struct Statement {
    sql: String,
    /// Whether the ORDER BY fixes the row order completely (else rows compare as multisets).
    ordered: bool,
    kind: Kind,
}

/// A table reference: the text for FROM (name and alias) and the qualifier for its columns.
struct Rel {
    from: String,
    q: String,
}

struct Gen {
    rng: Rng,
    engine: Engine,
}

impl Gen {
    fn new(seed: u64, engine: Engine) -> Gen {
        Gen { rng: Rng(seed), engine }
    }

    fn quote(&self, ident: &str) -> String {
        match self.engine {
            Engine::MariaDb => format!("`{ident}`"),
            Engine::Postgres | Engine::Sqlite => format!("\"{ident}\""),
        }
    }

    /// The target of an UPDATE or DELETE: as [`Gen::rel`], but SQLite needs `AS` there.
    fn target(&mut self, table: &str, base: &str) -> Rel {
        let mut rel = self.rel(table, base);
        if self.engine == Engine::Sqlite
            && rel.from.ends_with(&format!(" {}", rel.q))
            && !rel.from.contains(" AS ")
        {
            let name = rel.from.trim_end_matches(&rel.q).trim_end().to_string();
            rel.from = format!("{name} AS {}", rel.q);
        }
        rel
    }

    /// `table` under an alias of many spellings: none, plain, `AS`, quoted with a space, or a
    /// long one around PostgreSQL's 63-byte identifier limit; sometimes schema-qualified.
    fn rel(&mut self, table: &str, base: &str) -> Rel {
        let name = if self.rng.chance(12) { format!("{S}.{table}") } else { table.to_string() };
        let (decl, q) = match self.rng.below(12) {
            0 | 1 => (String::new(), table.to_string()),
            2 => (format!(" AS {base}"), base.to_string()),
            3 => {
                let quoted = self.quote(&format!("{} x", base.to_uppercase()));
                (format!(" AS {quoted}"), quoted)
            }
            4 => {
                let len = self.rng.pick(&[60, 63, 64, 70]);
                let mut alias = format!("{base}_a_rather_long_alias_near_the_identifier_limit_");
                while alias.len() < len {
                    alias.push('x');
                }
                (format!(" {alias}"), alias)
            }
            _ => (format!(" {base}"), base.to_string()),
        };
        Rel { from: format!("{name}{decl}"), q }
    }

    fn comparison(&mut self) -> &'static str {
        self.rng.pick(&["=", "<>", "<", "<=", ">", ">="])
    }

    /// A fixture row's clear value of a masked column, from either side: the caller guessing.
    fn guess(&mut self) -> (String, String, i64) {
        let row = self.rng.pick(T1_PEOPLE);
        let b = self.rng.chance(50);
        let side = |pair: Option<(&'static str, &'static str)>| pair.map(|(a, bb)| if b { bb } else { a });
        (
            side(row.3).unwrap_or("nobody@t1.example").to_string(),
            side(row.4).unwrap_or("000-00-0000").to_string(),
            row.5.map_or(1234, |(a, bb)| if b { bb } else { a }),
        )
    }

    fn guess_email(&mut self) -> String {
        self.guess().0
    }

    fn guess_ssn(&mut self) -> String {
        self.guess().1
    }

    /// A salary threshold near a fixture bucket's edges, where clear values differ by side.
    fn salary_threshold(&mut self) -> i64 {
        let salary = self.guess().2;
        mask_bucket(salary) + self.rng.pick(&[0, 1, 250, 499, 500, 501, 999, 1000])
    }

    /// A new value for a masked column: fresh, or a guess of a clear value.
    fn new_ssn(&mut self) -> String {
        if self.rng.chance(40) {
            self.guess_ssn()
        } else {
            format!(
                "{:03}-{:02}-{:04}",
                self.rng.range(100, 999),
                self.rng.range(10, 99),
                self.rng.range(0, 9999)
            )
        }
    }

    fn new_email(&mut self) -> String {
        if self.rng.chance(40) {
            self.guess_email()
        } else {
            format!("{}{}@new.example", self.rng.pick(&["n", "m", "q"]), self.rng.range(1, 99))
        }
    }

    fn new_salary(&mut self) -> i64 {
        if self.rng.chance(40) { self.guess().2 } else { self.rng.range(-5000, 120_000) }
    }

    fn last_four(&self, x: &str) -> String {
        match self.engine {
            Engine::Sqlite => format!("substr({x}, -4)"),
            Engine::Postgres | Engine::MariaDb => format!("right({x}, 4)"),
        }
    }

    fn concat(&self, a: &str, b: &str) -> String {
        match self.engine {
            Engine::Sqlite => format!("({a} || {b})"),
            Engine::Postgres | Engine::MariaDb => format!("concat({a}, {b})"),
        }
    }

    /// `x` concatenated over the group in `key` order (deterministic, unlike the unordered form).
    fn ordered_concat(&self, x: &str, key: &str) -> String {
        match self.engine {
            Engine::Postgres => format!("string_agg({x}, ',' ORDER BY {key})"),
            Engine::MariaDb => format!("GROUP_CONCAT({x} ORDER BY {key} SEPARATOR ',')"),
            Engine::Sqlite => format!("group_concat({x}, ',' ORDER BY {key})"),
        }
    }

    /// An expression over the whole row of `q`, in the engine's whole-row forms.
    fn whole_row(&mut self, q: &str) -> String {
        let forms: Vec<String> = match self.engine {
            Engine::Postgres => vec![
                format!("row_to_json({q})"),
                format!("to_jsonb({q}.*)"),
                format!("concat({q}.*)"),
                format!("({q}.*)::text"),
                format!("ARRAY[{q}.*]"),
                format!("json_build_object('r', {q}.*)"),
                format!("{q}::text"),
                format!("to_json({q})"),
                format!("concat_ws('|', {q}.*)"),
            ],
            Engine::MariaDb => vec![
                format!(
                    "JSON_OBJECT('id', {q}.id, 'name', {q}.name, 'email', {q}.email, 'ssn', {q}.ssn, 'salary', {q}.salary)"
                ),
                format!("CONCAT_WS('|', {q}.id, {q}.name, {q}.dept, {q}.email, {q}.ssn, {q}.salary)"),
                format!("JSON_ARRAY({q}.email, {q}.ssn, {q}.salary)"),
            ],
            Engine::Sqlite => vec![
                format!(
                    "json_object('id', {q}.id, 'email', {q}.email, 'ssn', {q}.ssn, 'salary', {q}.salary)"
                ),
                format!("({q}.name || '|' || {q}.email || '|' || {q}.ssn || '|' || {q}.salary)"),
                format!("json_array({q}.email, {q}.ssn, {q}.salary)"),
                format!("printf('%s/%s/%d', {q}.email, {q}.ssn, {q}.salary)"),
            ],
        };
        forms[self.rng.below(forms.len())].clone()
    }

    /// A predicate over a whole-row form: does the row's text contain a needle?
    fn whole_row_pred(&mut self, q: &str) -> String {
        let row = self.whole_row(q);
        let needle = self.rng.pick(&["1", "8", "lo", "zz", "4321", "*", "9", "hidden", "52", "999", "***"]);
        match self.engine {
            Engine::Postgres => format!("CAST({row} AS text) LIKE '%{needle}%'"),
            Engine::MariaDb | Engine::Sqlite => format!("{row} LIKE '%{needle}%'"),
        }
    }

    /// A value over people `q`: plain columns, masked columns, and functions of them.
    fn people_value(&mut self, q: &str) -> String {
        match self.rng.below(26) {
            0 => format!("{q}.id"),
            1 => format!("{q}.name"),
            2 => format!("{q}.dept"),
            3 => format!("{q}.tenant_id"),
            4 => format!("upper({q}.name)"),
            5 => format!("coalesce({q}.dept, 'none')"),
            6 | 7 => format!("{q}.email"),
            8 | 9 => format!("{q}.ssn"),
            10 | 11 => format!("{q}.salary"),
            12 => format!("length({q}.email)"),
            13 => format!("length({q}.ssn)"),
            14 => format!("substr({q}.ssn, 1, 3)"),
            15 => format!("substr({q}.email, 2, 4)"),
            16 => self.last_four(&format!("{q}.ssn")),
            17 => format!("upper({q}.email)"),
            18 => format!("replace({q}.ssn, '-', '')"),
            19 => format!("({q}.salary + 500)"),
            20 => format!("({q}.salary % 1000)"),
            21 => format!("({q}.salary / 7)"),
            22 => self.concat(&format!("{q}.name"), &format!("{q}.ssn")),
            23 => format!("coalesce({q}.ssn, {q}.email, 'none')"),
            24 => {
                let p = self.people_pred(q, 1);
                format!("CASE WHEN {p} THEN 'y' ELSE 'n' END")
            }
            _ => format!("nullif({q}.ssn, '')"),
        }
    }

    /// An ORDER BY key over people `q`: a value, or a predicate (`ssn LIKE '%1%' DESC`).
    fn people_order_key(&mut self, q: &str) -> String {
        if self.rng.chance(30) {
            let p = self.people_pred(q, 1);
            format!("({p})")
        } else {
            self.people_value(q)
        }
    }

    /// A predicate over people `q`, often over masked columns or the whole row.
    fn people_pred(&mut self, q: &str, depth: u32) -> String {
        if depth < 2 && self.rng.chance(22) {
            let a = self.people_pred(q, depth + 1);
            return match self.rng.below(3) {
                0 => format!("({a} AND {})", self.people_pred(q, depth + 1)),
                1 => format!("({a} OR {})", self.people_pred(q, depth + 1)),
                _ => format!("NOT ({a})"),
            };
        }
        match self.rng.below(27) {
            0 => format!("{q}.id {} {}", self.comparison(), self.rng.range(0, 13)),
            1 => format!(
                "{q}.id IN ({}, {}, {})",
                self.rng.range(1, 12),
                self.rng.range(1, 12),
                self.rng.pick(&[1001, 2003, 100, 105])
            ),
            2 => {
                let lo = self.rng.range(0, 10);
                format!("{q}.id BETWEEN {lo} AND {}", lo + self.rng.range(0, 6))
            }
            3 => format!("{q}.name = '{}'", self.rng.pick(NAMES)),
            4 => format!("{q}.name LIKE '{}%'", self.rng.pick(&["A", "B", "Z", "G", "I"])),
            5 => format!("{q}.name IS {}NULL", self.rng.pick(&["", "NOT "])),
            6 => format!("{q}.dept IN ('eng', 'ops')"),
            7 => format!("{q}.dept IS NULL"),
            8 | 9 => format!(
                "{q}.ssn LIKE '{}'",
                self.rng.pick(&["1%", "8%", "%4321", "%1%", "%9%", "___-%", "*%", "%-%", "%345", "a%", "w%"])
            ),
            10 | 11 => format!(
                "{q}.email LIKE '{}'",
                self.rng.pick(&[
                    "a%",
                    "%lo%",
                    "%zz%",
                    "%@t1.example",
                    "_***@%",
                    "%hidden%",
                    "%.%@%",
                    "%x%",
                    "*%"
                ])
            ),
            12 => format!(
                "{q}.ssn {} '{}'",
                self.comparison(),
                self.rng.pick(&["5", "1", "8", "*", "101-01-4321", "*******4321", "abcd", "w"])
            ),
            13 => format!("{q}.ssn = {}", lit(&self.guess_ssn())),
            14 => format!("{q}.email = {}", lit(&self.guess_email())),
            15 | 16 => format!("{q}.salary {} {}", self.comparison(), self.salary_threshold()),
            17 => {
                let lo = self.salary_threshold();
                format!("{q}.salary BETWEEN {lo} AND {}", lo + 700)
            }
            18 => format!("{q}.salary % 1000 {} {}", self.comparison(), self.rng.pick(&[0, 1, 499, 500])),
            19 => format!("length({q}.email) {} {}", self.comparison(), self.rng.range(8, 24)),
            20 => format!("substr({q}.ssn, 1, 1) = '{}'", self.rng.pick(&["1", "8", "*", "a", "w"])),
            21 => format!(
                "{q}.{} IS {}NULL",
                self.rng.pick(&["email", "ssn", "salary"]),
                self.rng.pick(&["", "NOT "])
            ),
            22 => {
                let prefix = self.rng.pick(&["1", "8", "a", "w"]);
                match self.engine {
                    Engine::Postgres => format!("{q}.ssn ~ '^{prefix}'"),
                    Engine::MariaDb => format!("{q}.ssn REGEXP '^{prefix}'"),
                    Engine::Sqlite => format!("{q}.ssn GLOB '{prefix}*'"),
                }
            }
            23 | 24 => self.whole_row_pred(q),
            25 => {
                let guess = self.guess_email();
                format!("{q}.email IN ({}, {})", lit(&guess), lit(&mask_email(&guess)))
            }
            _ => format!("{q}.salary = {}", mask_bucket(self.guess().2)),
        }
    }

    /// A predicate over orders `q`; sometimes one that fails on another tenant's note.
    fn orders_pred(&mut self, q: &str, depth: u32) -> String {
        if depth < 1 && self.rng.chance(20) {
            let a = self.orders_pred(q, depth + 1);
            let op = self.rng.pick(&["AND", "OR"]);
            return format!("({a} {op} {})", self.orders_pred(q, depth + 1));
        }
        match self.rng.below(15) {
            0 | 1 => format!("{q}.amount {} {}", self.comparison(), self.rng.range(0, 600)),
            2 => format!("{q}.note = '{}'", self.rng.pick(NOTES)),
            3 => format!("{q}.note LIKE '{}%'", self.rng.pick(&["r", "g", "b", "l", "a"])),
            4 => format!("{q}.note IS {}NULL", self.rng.pick(&["", "NOT "])),
            5 => format!("{q}.person_id = {}", self.rng.pick(&[1, 2, 3, 5, 10, 12, 1001, 2003, 999])),
            6 => format!("{q}.person_id IN (1, 2, 1001, 2003)"),
            7 => format!("{q}.person_id IS NULL"),
            8 => format!("{q}.tenant_id = '{}'", self.rng.pick(&["1", "2", "3"])),
            9 => format!("{q}.tenant_id IS NULL"),
            10 => format!("{q}.id {} {}", self.comparison(), self.rng.range(0, 25)),
            11 => {
                let lo = self.rng.range(0, 300);
                format!("{q}.amount BETWEEN {lo} AND {}", lo + self.rng.range(0, 300))
            }
            12 => match self.engine {
                Engine::Postgres => format!("'x' ~ {q}.note"),
                Engine::MariaDb => format!("'x' REGEXP {q}.note"),
                Engine::Sqlite => format!("'x' LIKE 'x' ESCAPE substr({q}.note, 1, 1)"),
            },
            13 => format!("{q}.amount = 0"),
            _ => format!("{q}.amount + 1 > {}", self.rng.range(0, 400)),
        }
    }

    /// A select list over people `q`.
    fn people_projection(&mut self, q: &str, star: bool) -> String {
        match self.rng.below(10) {
            0 if star => "*".into(),
            1 => format!("{q}.*"),
            2 | 3 => {
                let row = self.whole_row(q);
                format!("{q}.id, {row}")
            }
            _ => {
                let n = 1 + self.rng.below(4);
                (0..n)
                    .map(|i| {
                        let v = self.people_value(q);
                        if self.rng.chance(30) { format!("{v} AS c{i}") } else { v }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        }
    }

    fn orders_value(&mut self, q: &str) -> String {
        match self.rng.below(6) {
            0 => format!("{q}.id"),
            1 => format!("{q}.amount"),
            2 => format!("{q}.note"),
            3 => format!("{q}.person_id"),
            4 => format!("{q}.tenant_id"),
            _ => format!("upper({q}.note)"),
        }
    }

    /// Appends, sometimes, `ORDER BY <first>, <keys> [LIMIT n [OFFSET m]]`; the keys are unique,
    /// so the order is total. Returns whether it did.
    fn order_limit(&mut self, sql: &mut String, first: &str, keys: &[&str]) -> bool {
        if !self.rng.chance(45) {
            return false;
        }
        let dir = self.rng.pick(&["", " DESC", " ASC"]);
        sql.push_str(&format!(" ORDER BY {first}{dir}, {}", keys.join(", ")));
        if self.rng.chance(50) {
            sql.push_str(&format!(" LIMIT {}", self.rng.range(1, 6)));
            if self.rng.chance(30) {
                sql.push_str(&format!(" OFFSET {}", self.rng.range(0, 3)));
            }
        }
        true
    }

    fn statement(&mut self) -> Statement {
        match self.rng.below(100) {
            0..=57 => self.read(),
            58 | 59 => self.joined_write(),
            60..=73 => self.update_people(),
            74..=81 => self.update_orders(),
            82..=86 => self.insert_people(),
            87..=90 => self.insert_orders(),
            91..=94 => self.insert_journal(),
            95 | 96 => self.delete_people(),
            97 | 98 => self.delete_orders(),
            _ => {
                let sql = if self.rng.chance(50) {
                    "DELETE FROM journal".to_string()
                } else {
                    format!("DELETE FROM journal WHERE id > {}", self.rng.range(0, 30_000))
                };
                Statement { sql, ordered: false, kind: Kind::Write }
            }
        }
    }

    fn read(&mut self) -> Statement {
        let mut ordered = false;
        let sql = match self.rng.below(15) {
            // One table, any projection, any predicate.
            0 | 1 => {
                let p = self.rel("people", "p");
                let cols = self.people_projection(&p.q, true);
                let mut sql = format!("SELECT {cols} FROM {}", p.from);
                if self.rng.chance(75) {
                    sql.push_str(&format!(" WHERE {}", self.people_pred(&p.q, 0)));
                }
                let key = self.people_order_key(&p.q);
                ordered = self.order_limit(&mut sql, &key, &[&format!("{}.id", p.q)]);
                sql
            }
            // Joins.
            2 | 3 => {
                let o = self.rel("orders", "o");
                let p = self.rel("people", "p");
                let join = self.rng.pick(&["JOIN", "LEFT JOIN", "INNER JOIN", "RIGHT JOIN"]);
                let mut on = format!("{}.id = {}.person_id", p.q, o.q);
                if self.rng.chance(30) {
                    on.push_str(&format!(" AND {}", self.people_pred(&p.q, 1)));
                }
                let mut cols = vec![self.orders_value(&o.q)];
                for _ in 0..self.rng.range(1, 3) {
                    cols.push(self.people_value(&p.q));
                }
                if self.rng.chance(15) {
                    cols.push(self.whole_row(&p.q));
                }
                let mut sql = format!("SELECT {} FROM {} {join} {} ON {on}", cols.join(", "), o.from, p.from);
                if self.rng.chance(70) {
                    let op = self.rng.pick(&["AND", "OR"]);
                    let pp = self.people_pred(&p.q, 1);
                    let po = self.orders_pred(&o.q, 0);
                    sql.push_str(&format!(" WHERE {pp} {op} {po}"));
                }
                let key = self.people_order_key(&p.q);
                let (ko, kp) = (format!("{}.id", o.q), format!("{}.id", p.q));
                ordered = self.order_limit(&mut sql, &key, &[&ko, &kp]);
                sql
            }
            // Scalar subqueries (always aggregates: one row whatever the plan).
            4 => match self.rng.below(3) {
                0 => {
                    let agg = self.rng.pick(&["count", "sum", "min", "max", "avg"]);
                    let po = self.orders_pred("o2", 1);
                    let pp = self.people_pred("p", 0);
                    format!(
                        "SELECT p.id, (SELECT {agg}(o2.amount) FROM orders o2 WHERE o2.person_id = p.id AND {po}) AS x \
                         FROM people p WHERE {pp}"
                    )
                }
                1 => {
                    let agg = self.rng.pick(&["min", "max", "count"]);
                    let col = self.rng.pick(&["ssn", "email", "salary", "name"]);
                    let po = self.orders_pred("o", 0);
                    format!(
                        "SELECT o.id, (SELECT {agg}(p2.{col}) FROM people p2 WHERE p2.id = o.person_id) FROM orders o \
                         WHERE {po}"
                    )
                }
                _ => {
                    let pp = self.people_pred("p2", 0);
                    let po = self.orders_pred("o2", 0);
                    let col = self.rng.pick(&["ssn", "email", "salary"]);
                    format!(
                        "SELECT (SELECT max(p2.{col}) FROM people p2 WHERE {pp}), (SELECT count(*) FROM orders o2 WHERE {po})"
                    )
                }
            },
            // IN, EXISTS, correlated subqueries.
            5 | 6 => {
                let p = self.rel("people", "p");
                let q = p.q.clone();
                let cols = self.people_projection(&q, false);
                let not = self.rng.pick(&["", "NOT "]);
                let cond = match self.rng.below(6) {
                    0 => {
                        let po = self.orders_pred("o", 0);
                        format!(
                            "{q}.id {not}IN (SELECT o.person_id FROM orders o WHERE {po} AND o.person_id IS NOT NULL)"
                        )
                    }
                    1 => {
                        let po = self.orders_pred("o", 0);
                        format!("{not}EXISTS (SELECT 1 FROM orders o WHERE o.person_id = {q}.id AND {po})")
                    }
                    2 => format!(
                        "{q}.salary > (SELECT avg(p2.salary) FROM people p2 WHERE p2.dept = {q}.dept)"
                    ),
                    3 => format!("{q}.ssn {not}IN (SELECT p2.ssn FROM people p2 WHERE p2.id <> {q}.id)"),
                    4 => {
                        let pp = self.people_pred("p2", 1);
                        format!(
                            "{not}EXISTS (SELECT 1 FROM people p2 WHERE p2.email = {q}.email AND p2.id <> {q}.id AND {pp})"
                        )
                    }
                    _ => {
                        let pp = self.people_pred("p2", 0);
                        format!("{q}.id = (SELECT min(p2.id) FROM people p2 WHERE {pp})")
                    }
                };
                let mut sql = format!("SELECT {cols} FROM {} WHERE {cond}", p.from);
                let key = self.people_order_key(&q);
                ordered = self.order_limit(&mut sql, &key, &[&format!("{q}.id")]);
                sql
            }
            7 => {
                let pp = self.people_pred("p", 0);
                let not = self.rng.pick(&["", "NOT "]);
                match self.rng.below(2) {
                    0 => format!(
                        "SELECT o.id, o.amount FROM orders o WHERE o.person_id {not}IN (SELECT p.id FROM people p WHERE {pp})"
                    ),
                    _ => format!(
                        "SELECT o.id FROM orders o WHERE o.amount >= (SELECT max(o2.amount) FROM orders o2 \
                         WHERE o2.person_id = o.person_id) AND {not}EXISTS (SELECT 1 FROM people p WHERE p.id = o.person_id AND {pp})"
                    ),
                }
            }
            // Aggregates, GROUP BY, HAVING.
            8 | 9 => self.aggregate(),
            // Window functions.
            10 => self.window(),
            // CASE, derived tables, CTEs.
            11 => {
                let p = self.rel("people", "p");
                let q = p.q.clone();
                let (a, b) = (self.people_pred(&q, 0), self.people_pred(&q, 1));
                match self.rng.below(4) {
                    0 => format!(
                        "SELECT {q}.id, CASE WHEN {a} THEN 'y' WHEN {b} THEN 'z' ELSE 'n' END FROM {}",
                        p.from
                    ),
                    1 => format!("SELECT sum(CASE WHEN {a} THEN 1 ELSE 0 END), count(*) FROM {}", p.from),
                    2 => {
                        let pat = self.rng.pick(&["1%", "*%", "%4321", "a%", "%zz%", "%lo%"]);
                        format!(
                            "SELECT s.* FROM (SELECT {q}.id, {q}.ssn AS s1, {q}.email AS e1, {q}.salary AS m1 FROM {} \
                             WHERE {a}) s WHERE s.s1 LIKE '{pat}' OR s.e1 LIKE '{pat}'",
                            p.from
                        )
                    }
                    _ => format!(
                        "WITH x AS (SELECT {q}.id, {q}.ssn AS s, {q}.email AS e, {q}.salary AS m FROM {} WHERE {a}) \
                         SELECT x.id, x.s, x.m, o.note FROM x LEFT JOIN orders o ON o.person_id = x.id",
                        p.from
                    ),
                }
            }
            // Set operations.
            12 => {
                let op = self.rng.pick(&["UNION", "UNION ALL", "INTERSECT", "EXCEPT"]);
                let (pp, po) = (self.people_pred("p", 0), self.orders_pred("o", 0));
                let (left, right) = if self.rng.chance(50) {
                    (self.rng.pick(&["p.ssn", "p.email", "p.name"]), "o.note")
                } else {
                    (self.rng.pick(&["p.salary", "p.id"]), "o.amount")
                };
                format!(
                    "SELECT {left} AS v FROM people p WHERE {pp} {op} SELECT {right} FROM orders o WHERE {po}"
                )
            }
            // Whole rows, ordered concatenations, DISTINCT.
            13 => {
                let p = self.rel("people", "p");
                let q = p.q.clone();
                match self.rng.below(4) {
                    0 => {
                        let row = self.whole_row(&q);
                        let pp = self.people_pred(&q, 0);
                        format!("SELECT {row} FROM {} WHERE {pp}", p.from)
                    }
                    1 => {
                        let col = self.rng.pick(&["ssn", "email", "salary", "name"]);
                        let agg = self.ordered_concat(&format!("{q}.{col}"), &format!("{q}.id"));
                        format!("SELECT {q}.dept, {agg} FROM {} GROUP BY {q}.dept", p.from)
                    }
                    2 => {
                        let v = self.people_value(&q);
                        format!("SELECT DISTINCT {v} FROM {}", p.from)
                    }
                    _ => {
                        let row = self.whole_row(&q);
                        format!("SELECT o.note, {row} FROM orders o JOIN {} ON {q}.id = o.person_id", p.from)
                    }
                }
            }
            // The journal, and engine-specific forms.
            _ => match (self.engine, self.rng.below(3)) {
                (Engine::Postgres, 0) => {
                    let po = self.orders_pred("o", 0);
                    format!(
                        "SELECT p.id, l.n, l.m FROM people p CROSS JOIN LATERAL \
                         (SELECT count(*) AS n, max(o.note) AS m FROM orders o WHERE o.person_id = p.id AND {po}) l"
                    )
                }
                (_, 1) => {
                    ordered = true;
                    "SELECT * FROM journal ORDER BY id".into()
                }
                _ => "SELECT j.id, j.body, p.ssn FROM journal j LEFT JOIN people p ON p.name = j.body".into(),
            },
        };
        Statement { sql, ordered, kind: Kind::Read }
    }

    fn aggregate(&mut self) -> String {
        let p = self.rel("people", "p");
        let q = p.q.clone();
        let aggs: Vec<String> = (0..self.rng.range(1, 3))
            .map(|_| match self.rng.below(10) {
                0 => format!("count({q}.ssn)"),
                1 => format!("count(DISTINCT {q}.email)"),
                2 => format!("sum({q}.salary)"),
                3 => format!("min({q}.ssn)"),
                4 => format!("max({q}.email)"),
                5 => format!("avg({q}.salary)"),
                6 => format!("max(length({q}.ssn))"),
                7 => {
                    let pp = self.people_pred(&q, 1);
                    format!("sum(CASE WHEN {pp} THEN 1 ELSE 0 END)")
                }
                8 => self.ordered_concat(&format!("{q}.ssn"), &format!("{q}.id")),
                _ => format!("min({q}.salary)"),
            })
            .collect();
        let aggs = aggs.join(", ");
        let filter =
            if self.rng.chance(50) { format!(" WHERE {}", self.people_pred(&q, 0)) } else { String::new() };
        match self.rng.below(4) {
            0 => format!("SELECT count(*), {aggs} FROM {}{filter}", p.from),
            1 => {
                let o = self.rel("orders", "o");
                format!(
                    "SELECT {q}.dept, count({0}.id), sum({0}.amount), {aggs} FROM {1} LEFT JOIN {2} ON {0}.person_id = {q}.id \
                     {filter} GROUP BY {q}.dept",
                    o.q, p.from, o.from
                )
            }
            _ => {
                let key = match self.rng.below(9) {
                    0 => format!("{q}.dept"),
                    1 => format!("{q}.ssn"),
                    2 => format!("{q}.email"),
                    3 => format!("{q}.salary"),
                    4 => self.last_four(&format!("{q}.ssn")),
                    5 => format!("substr({q}.email, 1, 1)"),
                    6 => format!("length({q}.email)"),
                    7 => format!("{q}.tenant_id"),
                    _ => format!("{q}.name"),
                };
                let having = match self.rng.below(6) {
                    0 => format!(" HAVING count(*) > {}", self.rng.range(0, 2)),
                    1 => format!(" HAVING max({q}.salary) > {}", self.salary_threshold()),
                    2 => format!(" HAVING min({q}.ssn) LIKE '{}'", self.rng.pick(&["*%", "1%", "8%"])),
                    3 => format!(" HAVING sum({q}.salary) > {}", self.rng.range(0, 200_000)),
                    _ => String::new(),
                };
                format!("SELECT {key} AS g, count(*), {aggs} FROM {}{filter} GROUP BY {key}{having}", p.from)
            }
        }
    }

    fn window(&mut self) -> String {
        let p = self.rel("people", "p");
        let q = p.q.clone();
        let partition = match self.rng.below(5) {
            0 => format!("PARTITION BY {q}.dept "),
            1 => format!("PARTITION BY {q}.ssn "),
            2 => format!("PARTITION BY {} ", self.last_four(&format!("{q}.ssn"))),
            3 => format!("PARTITION BY {q}.salary "),
            _ => String::new(),
        };
        let m = self.rng.pick(&["ssn", "email", "salary"]);
        let over = if self.rng.chance(20) {
            // No ORDER BY: only functions whose value does not depend on the row order.
            let f = self.rng.pick(&["count(*)", "max(", "min(", "sum("]);
            let f = if f == "count(*)" {
                f.to_string()
            } else if f == "sum(" {
                format!("sum({q}.salary)")
            } else {
                format!("{f}{q}.{m})")
            };
            format!("{f} OVER ({partition})")
        } else {
            let f = match self.rng.below(10) {
                0 => "row_number()".to_string(),
                1 => "rank()".into(),
                2 => "dense_rank()".into(),
                3 => format!("lag({q}.{m})"),
                4 => format!("lead({q}.{m})"),
                5 => format!("first_value({q}.{m})"),
                6 => format!("last_value({q}.{m})"),
                7 => format!("sum({q}.salary)"),
                8 => "ntile(3)".into(),
                _ => "count(*)".into(),
            };
            let key = self.people_order_key(&q);
            let dir = self.rng.pick(&["", " DESC"]);
            format!("{f} OVER ({partition}ORDER BY {key}{dir}, {q}.id)")
        };
        let filter =
            if self.rng.chance(40) { format!(" WHERE {}", self.people_pred(&q, 0)) } else { String::new() };
        format!("SELECT {q}.id, {over} AS w FROM {}{filter}", p.from)
    }

    /// WHERE for a write to people `q`: usually pinned to a few ids, sometimes by masked
    /// columns, whole rows or subqueries.
    fn people_write_where(&mut self, q: &str) -> String {
        match self.rng.below(10) {
            0..=2 => format!("{q}.id = {}", self.rng.range(1, 13)),
            3 => format!("{q}.id IN ({}, {})", self.rng.range(1, 12), self.rng.range(1, 12)),
            4 | 5 => format!("{q}.id = {} AND {}", self.rng.range(1, 12), self.people_pred(q, 1)),
            6 => self.people_pred(q, 0),
            7 => format!("{q}.id IN (SELECT o.person_id FROM orders o WHERE {})", self.orders_pred("o", 0)),
            8 => format!(
                "EXISTS (SELECT 1 FROM orders o WHERE o.person_id = {q}.id AND {})",
                self.orders_pred("o", 0)
            ),
            _ => format!("{q}.id IN (SELECT p2.id FROM people p2 WHERE {})", self.people_pred("p2", 0)),
        }
    }

    /// One `SET` item of an UPDATE of people `q`.
    fn people_assignment(&mut self, q: &str) -> String {
        match self.rng.below(24) {
            0 | 1 => format!("name = '{}'", self.rng.pick(NAMES)),
            2 => format!("dept = '{}'", self.rng.pick(DEPTS)),
            3 => format!("name = upper({q}.name)"),
            4 => "name = lower(name)".into(),
            5 => "dept = NULL".into(),
            6 => format!("name = {q}.dept"),
            7 => format!("dept = coalesce({q}.dept, 'none')"),
            8 => "tenant_id = '1'".into(),
            9 => format!("ssn = {}", lit(&self.new_ssn())),
            10 => format!("email = {}", lit(&self.new_email())),
            11 => format!("salary = {}", self.new_salary()),
            12 => format!("{} = NULL", self.rng.pick(&["ssn", "email", "salary"])),
            // Reads of masked columns: must be refused or see only masked values.
            13 => format!("name = {q}.ssn"),
            14 => format!("name = substr({q}.email, 1, 5)"),
            15 => format!("dept = {}", self.concat(&format!("{q}.dept"), &format!("{q}.salary"))),
            16 => format!("name = CASE WHEN {} THEN 'one' ELSE 'other' END", self.people_pred(q, 1)),
            17 => format!("salary = {q}.salary + 1"),
            18 => "name = (SELECT max(p2.ssn) FROM people p2)".into(),
            19 => format!(
                "name = CAST((SELECT count(*) FROM orders o2 WHERE o2.person_id = {q}.id) AS {})",
                self.engine.text_type()
            ),
            20 | 21 => {
                let row = self.whole_row(q);
                match self.engine {
                    Engine::Postgres => format!("name = CAST({row} AS text)"),
                    Engine::MariaDb | Engine::Sqlite => format!("name = {row}"),
                }
            }
            22 => "tenant_id = '2'".into(),
            _ => format!("ssn = {}", self.concat(&format!("{q}.ssn"), "''")),
        }
    }

    /// A RETURNING list for a write to people `q`.
    fn people_returning(&mut self, q: &str) -> String {
        match self.rng.below(9) {
            0 => format!("{q}.id"),
            1 => "id, name".into(),
            2 => "name, dept".into(),
            3 => self.rng.pick(&["ssn", "email", "salary"]).into(),
            4 => "*".into(),
            5 => format!("{q}.*"),
            6 | 7 => self.whole_row(q),
            _ => "id, length(ssn)".into(),
        }
    }

    fn update_people(&mut self) -> Statement {
        let t = self.target("people", "p");
        let q = t.q.clone();
        let sets: Vec<String> = (0..self.rng.range(1, 2)).map(|_| self.people_assignment(&q)).collect();
        let mut sql = format!("UPDATE {} SET {}", t.from, sets.join(", "));
        if self.rng.chance(90) {
            sql.push_str(&format!(" WHERE {}", self.people_write_where(&q)));
        }
        match self.engine {
            Engine::MariaDb if self.rng.chance(40) => {
                let key = self.people_order_key(&q);
                let dir = self.rng.pick(&["", " DESC"]);
                sql.push_str(&format!(" ORDER BY {key}{dir}, {q}.id LIMIT {}", self.rng.range(1, 3)));
            }
            Engine::Postgres | Engine::Sqlite if self.rng.chance(45) => {
                sql.push_str(&format!(" RETURNING {}", self.people_returning(&q)));
            }
            _ => {}
        }
        Statement { sql, ordered: false, kind: Kind::Write }
    }

    fn update_orders(&mut self) -> Statement {
        let t = self.target("orders", "o");
        let q = t.q.clone();
        let set = match self.rng.below(13) {
            0 | 1 => format!("note = '{}'", self.rng.pick(NOTES)),
            2 => format!("amount = {q}.amount + 1"),
            3 => format!("amount = {}", self.rng.range(0, 500)),
            4 => format!("person_id = {}", self.rng.range(1, 12)),
            5 => format!("note = upper({q}.note)"),
            6 => "note = (SELECT max(p.ssn) FROM people p)".into(),
            7 => format!("amount = (SELECT count(*) FROM people p WHERE {})", self.people_pred("p", 0)),
            8 => format!("note = (SELECT min(p.email) FROM people p WHERE p.id = {q}.person_id)"),
            9 => format!("amount = (SELECT max(p.salary) FROM people p WHERE p.id = {q}.person_id)"),
            10 => "note = (SELECT max(o2.note) FROM orders o2)".into(),
            11 => "tenant_id = '1'".into(),
            _ => "tenant_id = '3'".into(),
        };
        let filter = match self.rng.below(6) {
            0 | 1 => format!("{q}.id = {}", self.rng.range(1, 21)),
            2 => self.orders_pred(&q, 0),
            3 => format!("{q}.person_id IN (SELECT p.id FROM people p WHERE {})", self.people_pred("p", 0)),
            4 => format!(
                "EXISTS (SELECT 1 FROM people p WHERE p.id = {q}.person_id AND {})",
                self.people_pred("p", 0)
            ),
            _ => format!(
                "{q}.id IN ({}, {}) AND {}",
                self.rng.range(1, 20),
                self.rng.range(1, 20),
                self.orders_pred(&q, 1)
            ),
        };
        let mut sql = format!("UPDATE {} SET {set} WHERE {filter}", t.from);
        match self.engine {
            Engine::MariaDb if self.rng.chance(30) => {
                let key = if self.rng.chance(40) {
                    format!("(SELECT max(p.ssn) FROM people p WHERE p.id = {q}.person_id)")
                } else {
                    format!("{q}.amount")
                };
                sql.push_str(&format!(" ORDER BY {key} DESC, {q}.id LIMIT 1"));
            }
            Engine::Postgres | Engine::Sqlite if self.rng.chance(35) => {
                let ret = match self.rng.below(3) {
                    0 => format!("{q}.id, {q}.note"),
                    1 => "*".into(),
                    _ => format!("(SELECT max(p.ssn) FROM people p WHERE p.id = {q}.person_id)"),
                };
                sql.push_str(&format!(" RETURNING {ret}"));
            }
            _ => {}
        }
        Statement { sql, ordered: false, kind: Kind::Write }
    }

    /// Writes that join another table, or run under a CTE. Joins pair rows one to one (`o.id =
    /// p.id`), so a row never has several candidate new values to pick from at the planner's whim.
    fn joined_write(&mut self) -> Statement {
        let k = self.rng.range(1, 13);
        let pp = self.people_pred("p", 1);
        let po = self.orders_pred("o", 1);
        let (sql, kind) = match (self.engine, self.rng.below(4)) {
            (Engine::Postgres, 0) => {
                let ret = if self.rng.chance(40) {
                    format!(" RETURNING {}", self.people_returning("p"))
                } else {
                    String::new()
                };
                (
                    format!(
                        "UPDATE people p SET name = o.note FROM orders o WHERE o.id = p.id AND {po}{ret}"
                    ),
                    Kind::Write,
                )
            }
            (Engine::Postgres, 1) => (
                format!("UPDATE orders o SET note = p.name FROM people p WHERE p.id = o.id AND {pp}"),
                Kind::Write,
            ),
            (Engine::Postgres, 2) => (
                format!("DELETE FROM orders o USING people p WHERE p.id = o.person_id AND {pp}"),
                Kind::Delete,
            ),
            (Engine::MariaDb, 0) => (
                format!("UPDATE people p JOIN orders o ON o.id = p.id SET p.name = o.note WHERE {po}"),
                Kind::Write,
            ),
            (Engine::MariaDb, 1) => (
                format!("UPDATE orders o JOIN people p ON p.id = o.id SET o.note = p.name WHERE {pp}"),
                Kind::Write,
            ),
            (Engine::MariaDb, 2) => (
                format!("DELETE o FROM orders o JOIN people p ON p.id = o.person_id WHERE {pp}"),
                Kind::Delete,
            ),
            (Engine::Sqlite, 0) => (
                format!("UPDATE people SET name = o.note FROM orders o WHERE o.id = people.id AND {po}"),
                Kind::Write,
            ),
            (Engine::Sqlite, 1) => {
                let pp = self.people_pred("p", 1);
                (
                    format!("UPDATE orders SET note = p.name FROM people p WHERE p.id = orders.id AND {pp}"),
                    Kind::Write,
                )
            }
            (Engine::Sqlite, 2) => (
                format!("DELETE FROM orders WHERE person_id IN (SELECT p.id FROM people p WHERE {pp})"),
                Kind::Delete,
            ),
            _ => {
                let col = self.rng.pick(&["ssn", "email", "name"]);
                let (target, set) = if self.rng.chance(50) {
                    ("orders", format!("note = (SELECT max(s.v) FROM s) WHERE id = {k}"))
                } else {
                    ("people", format!("name = (SELECT max(s.v) FROM s) WHERE id = {k}"))
                };
                (
                    format!(
                        "WITH s AS (SELECT p.{col} AS v FROM people p WHERE {pp}) UPDATE {target} SET {set}"
                    ),
                    Kind::Write,
                )
            }
        };
        Statement { sql, ordered: false, kind }
    }

    fn insert_people(&mut self) -> Statement {
        let table = if self.rng.chance(15) { format!("{S}.people") } else { "people".into() };
        let rows: Vec<String> = (0..self.rng.range(1, 2))
            .map(|_| {
                let tenant = if self.rng.chance(6) { "'2'" } else { "'1'" };
                let name = if self.rng.chance(15) {
                    "(SELECT max(p.name) FROM people p)".into()
                } else {
                    lit(self.rng.pick(NAMES))
                };
                let ssn = if self.rng.chance(15) {
                    format!("(SELECT max(p.ssn) FROM people p WHERE {})", self.people_pred("p", 1))
                } else {
                    lit(&self.new_ssn())
                };
                let salary = if self.rng.chance(15) {
                    format!("(SELECT count(*) FROM people p WHERE {})", self.people_pred("p", 1))
                } else {
                    self.new_salary().to_string()
                };
                format!(
                    "({}, {tenant}, {name}, {}, {}, {ssn}, {salary})",
                    self.rng.range(100, 139),
                    lit(self.rng.pick(DEPTS)),
                    lit(&self.new_email())
                )
            })
            .collect();
        let columns = if self.rng.chance(20) { "" } else { PEOPLE_COLUMNS };
        let mut sql = format!("INSERT INTO {table} {columns} VALUES {}", rows.join(", "));
        if self.rng.chance(35) {
            let q = table.rsplit('.').next().unwrap_or("people").to_string();
            sql.push_str(&format!(" RETURNING {}", self.people_returning(&q)));
        }
        Statement { sql, ordered: false, kind: Kind::Write }
    }

    fn insert_orders(&mut self) -> Statement {
        let person = if self.rng.chance(25) {
            format!("(SELECT min(p.id) FROM people p WHERE {})", self.people_pred("p", 0))
        } else {
            self.rng.range(1, 13).to_string()
        };
        let tenant = if self.rng.chance(6) { "NULL" } else { "'1'" };
        let mut sql = format!(
            "INSERT INTO orders {ORDERS_COLUMNS} VALUES ({}, {tenant}, {person}, {}, {})",
            self.rng.range(100, 179),
            self.rng.range(0, 500),
            lit(self.rng.pick(NOTES))
        );
        if self.rng.chance(30) {
            sql.push_str(" RETURNING id, person_id, amount");
        }
        Statement { sql, ordered: false, kind: Kind::Write }
    }

    fn insert_journal(&mut self) -> Statement {
        let offset = 1000 * self.rng.range(1, 60);
        let sql = match self.rng.below(6) {
            0 | 1 => format!(
                "INSERT INTO journal (id, body) SELECT o.id + {offset}, o.note FROM orders o WHERE {}",
                self.orders_pred("o", 0)
            ),
            2 => format!(
                "INSERT INTO journal (id, body) SELECT p.id + {offset}, p.name FROM people p WHERE {}",
                self.people_pred("p", 0)
            ),
            3 => format!(
                "INSERT INTO journal (id, body) SELECT p.id + {offset}, {} FROM people p",
                self.rng.pick(&["p.ssn", "p.email"])
            ),
            4 => format!(
                "INSERT INTO journal (id, body) VALUES ({}, (SELECT max(p.email) FROM people p WHERE {}))",
                self.rng.range(1, 999),
                self.people_pred("p", 0)
            ),
            _ => format!(
                "INSERT INTO orders {ORDERS_COLUMNS} SELECT o.id + {}, '1', o.person_id, o.amount, o.note FROM orders o \
                 WHERE o.id = {}",
                self.rng.range(100, 150),
                self.rng.range(1, 20)
            ),
        };
        Statement { sql, ordered: false, kind: Kind::Write }
    }

    fn delete_people(&mut self) -> Statement {
        let t = self.target("people", "p");
        let q = t.q.clone();
        let filter = match self.rng.below(4) {
            0 => format!("{q}.id >= 100"),
            1 => self.people_write_where(&q),
            2 => self.whole_row_pred(&q),
            _ => self.people_pred(&q, 0),
        };
        let mut sql = format!("DELETE FROM {} WHERE {filter}", t.from);
        if self.engine == Engine::MariaDb && self.rng.chance(40) {
            let key = self.people_order_key(&q);
            sql.push_str(&format!(" ORDER BY {key}, {q}.id LIMIT 1"));
        }
        if self.rng.chance(40) {
            sql.push_str(&format!(" RETURNING {}", self.people_returning(&q)));
        }
        Statement { sql, ordered: false, kind: Kind::Delete }
    }

    fn delete_orders(&mut self) -> Statement {
        let t = self.target("orders", "o");
        let q = t.q.clone();
        let filter = match self.rng.below(3) {
            0 => {
                let (fixture, scratch) = (self.rng.range(1, 20), self.rng.range(100, 179));
                format!("{q}.id = {}", self.rng.pick(&[fixture, scratch]))
            }
            1 => self.orders_pred(&q, 0),
            _ => format!("{q}.person_id IN (SELECT p.id FROM people p WHERE {})", self.people_pred("p", 0)),
        };
        let mut sql = format!("DELETE FROM {} WHERE {filter}", t.from);
        if self.rng.chance(30) {
            sql.push_str(" RETURNING id, amount");
        }
        Statement { sql, ordered: false, kind: Kind::Delete }
    }
}

// ---------------------------------------------------------------------------------------------
// Running statements on both sides.

/// What must agree between A and B: the status, the error code and the database's own code
/// (never the message text), or the columns, rows (sorted unless `ordered`), row count, command
/// and rows affected. `schema`, the side's own schema name where the two sides' differ, is
/// spelled `{schema}`: MariaDB names a result column after its expression's text, which may
/// contain it.
fn outcome(status: StatusCode, body: &Value, ordered: bool, schema: Option<&str>) -> Value {
    let out = if status == StatusCode::OK {
        let mut rows = body["rows"].as_array().cloned().unwrap_or_default();
        if !ordered {
            rows.sort_by_cached_key(Value::to_string);
        }
        json!({
            "status": 200,
            "columns": body["columns"],
            "rows": rows,
            "row_count": body["row_count"],
            "truncated": body["truncated"],
            "command": body["command"],
            "rows_affected": body["rows_affected"],
        })
    } else {
        let message = body["error"]["message"].as_str().unwrap_or_default();
        // `database error 22003: ...` (ExecError::Upstream): the code part only.
        let database_code = message
            .strip_prefix("database error ")
            .and_then(|rest| rest.split_once(':'))
            .map(|(code, _)| code.to_string());
        json!({"status": status.as_u16(), "code": body["error"]["code"], "database_code": database_code})
    };
    match schema {
        Some(schema) => serde_json::from_str(&out.to_string().replace(schema, S)).unwrap(),
        None => out,
    }
}

/// A response for a failure report: the body without its trace id.
fn shown(status: StatusCode, body: &Value) -> String {
    let mut body = body.clone();
    if let Some(obj) = body.as_object_mut() {
        obj.remove("trace_id");
    }
    if let Some(error) = body.get_mut("error").and_then(Value::as_object_mut) {
        error.remove("trace_id");
    }
    format!("{status} {body}")
}

/// Two databases of one engine, one Sluice with the plugins over both (`a`, `b`) and one
/// without (`raw`, for loading and checking the fixture).
struct Bench {
    engine: Engine,
    sluice: Sluice,
    raw: Sluice,
    schemas: [String; 2],
    fixtures: [Fixture; 2],
    _keep: (Vec<PgSchema>, Vec<MyDatabase>, TempDir),
}

const SIDES: [&str; 2] = ["a", "b"];

/// The plugins, with a generous evaluation deadline: this test is about data, and a debug build
/// on a busy machine can take longer than the default 100 ms, which would deny on one side only.
fn plugins() -> String {
    format!(
        "{}{}{}",
        policy_toml(60_000),
        plugin_toml(
            "tenants",
            "tenant-isolation",
            "config = { attribute = \"tenant_id\", tables = { people = \"tenant_id\", orders = \"tenant_id\" } }\n\
             timeout_ms = 10000",
        ),
        plugin_toml(
            "pii",
            "pii-mask",
            "config = { columns = { \"people.email\" = \"email\", \"people.ssn\" = \"partial(0,4)\", \
             \"people.salary\" = \"bucket(1000)\" } }\ntimeout_ms = 10000",
        ),
    )
}

async fn start(datasources: &[String; 2], extra: &str, dir: &Path) -> Sluice {
    let toml = format!(
        "{}\n[datasources.a]\n{}\n[datasources.b]\n{}\n{extra}",
        base_toml(),
        datasources[0],
        datasources[1]
    );
    Sluice::start(&toml, dir).await
}

impl Bench {
    /// Both sides of `engine`, with `datasource_extra` added to each datasource's section.
    async fn new(engine: Engine, datasource_extra: &str) -> Bench {
        let fixtures = [Fixture::new(engine, Side::A), Fixture::new(engine, Side::B)];
        let setup = |fixture: &Fixture| {
            let mut sql = schema_sql(engine);
            sql.extend(load_sql(fixture));
            sql.join(";\n") + ";\n"
        };
        assert!(!fixtures.iter().any(|f| load_sql(f).concat().contains(';')), "MyDatabase splits at ';'");
        let dir = TempDir::new();
        let mut pg = Vec::new();
        let mut my = Vec::new();
        let (datasources, raw_datasources, schemas) = match engine {
            Engine::Postgres => {
                for fixture in &fixtures {
                    pg.push(PgSchema::new(&setup(fixture)).await);
                }
                let ds = [pg[0].datasource(datasource_extra), pg[1].datasource(datasource_extra)];
                let raw = [pg[0].datasource(""), pg[1].datasource("")];
                (ds, raw, [pg[0].name.clone(), pg[1].name.clone()])
            }
            Engine::MariaDb => {
                for fixture in &fixtures {
                    my.push(MyDatabase::new(&setup(fixture)).await);
                }
                let ds = [my[0].datasource(datasource_extra), my[1].datasource(datasource_extra)];
                let raw = [my[0].datasource(""), my[1].datasource("")];
                (ds, raw, [my[0].name.clone(), my[1].name.clone()])
            }
            Engine::Sqlite => {
                for (side, fixture) in SIDES.iter().zip(&fixtures) {
                    std::fs::write(dir.path().join(format!("{side}.sql")), setup(fixture)).unwrap();
                }
                let ds = SIDES.map(|s| {
                    format!("kind = \"sqlite\"\npath = \"{s}.db\"\nbootstrap = [\"{s}.sql\"]\n{datasource_extra}\n")
                });
                let raw = SIDES.map(|s| format!("kind = \"sqlite\"\npath = \"{s}.db\"\n"));
                (ds, raw, ["main".to_string(), "main".to_string()])
            }
        };
        // The first instance creates SQLite's files from the bootstrap scripts; the second opens them.
        let sluice = start(&datasources, &plugins(), dir.path()).await;
        let raw = start(&raw_datasources, "", dir.path()).await;
        Bench { engine, sluice, raw, schemas, fixtures, _keep: (pg, my, dir) }
    }

    /// Side `i`'s schema name where it differs from the other side's.
    fn schema(&self, i: usize) -> Option<&str> {
        (self.schemas[0] != self.schemas[1]).then(|| self.schemas[i].as_str())
    }

    /// Runs `sql` (with `{schema}` filled in) as tenant 1 on side `i` through `sluice`.
    async fn post(&self, sluice: &Sluice, i: usize, sql: &str) -> (StatusCode, Value) {
        let body = json!({"datasource": SIDES[i], "sql": sql.replace(S, &self.schemas[i])});
        sluice.post(Some(KEY), body.to_string()).await
    }

    /// Runs `sql` on both sides at once.
    async fn both(&self, sql: &str) -> [(StatusCode, Value); 2] {
        let (a, b) = tokio::join!(self.post(&self.sluice, 0, sql), self.post(&self.sluice, 1, sql));
        [a, b]
    }

    /// Runs `sql` without plugins on side `i`; it must succeed.
    async fn raw(&self, i: usize, sql: &str) -> Value {
        let (status, body) = self.post(&self.raw, i, sql).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{} side {} (no plugins): {sql}: {body}",
            self.engine.name(),
            SIDES[i]
        );
        body
    }

    /// Compares what tenant 1 sees of every table on both sides (one statement, so that the
    /// check after each write costs one request per side); describes the difference.
    async fn compare_state(&self) -> Option<String> {
        let text = self.engine.text_type();
        let sql = format!(
            "SELECT 'people' AS t, id, tenant_id, name, dept, email, ssn, CAST(salary AS {text}) FROM people \
             UNION ALL SELECT 'orders', id, tenant_id, CAST(person_id AS {text}), CAST(amount AS {text}), note, NULL, NULL \
             FROM orders UNION ALL SELECT 'journal', id, body, NULL, NULL, NULL, NULL, NULL FROM journal"
        );
        let [(sa, a), (sb, b)] = self.both(&sql).await;
        // A refused check would compare nothing.
        assert_eq!(sa, StatusCode::OK, "{}: the state check failed: {a}", self.engine.name());
        (outcome(sa, &a, false, self.schema(0)) != outcome(sb, &b, false, self.schema(1))).then(|| {
            format!(
                "what tenant 1 sees differs afterwards:\n      A: {}\n      B: {}",
                shown(sa, &a),
                shown(sb, &b)
            )
        })
    }

    /// Puts back tenant 1's fixture rows a delete removed (other tenants' rows are left as
    /// they are, so that damage to them stays visible to [`Bench::foreign_rows_intact`]).
    async fn restore(&self) {
        for (i, fixture) in self.fixtures.iter().enumerate() {
            for sql in restore_sql(self.engine, fixture) {
                self.raw(i, &sql).await;
            }
        }
    }

    /// Empties both databases and loads the fixture again.
    async fn reset(&self) {
        for (i, fixture) in self.fixtures.iter().enumerate() {
            for table in ["journal", "orders", "people"] {
                self.raw(i, &format!("DELETE FROM {table}")).await;
            }
            for sql in load_sql(fixture) {
                self.raw(i, &sql).await;
            }
        }
    }

    /// Whether the rows of tenants other than 1 are as the fixture made them, on both sides.
    async fn foreign_rows_intact(&self) -> Result<(), String> {
        for (i, fixture) in self.fixtures.iter().enumerate() {
            let people = self
                .raw(i, "SELECT id, tenant_id, name, dept, email, ssn, salary FROM people WHERE tenant_id <> '1' ORDER BY id")
                .await;
            let orders = self
                .raw(
                    i,
                    "SELECT id, tenant_id, person_id, amount, note FROM orders \
                     WHERE tenant_id IS NULL OR tenant_id <> '1' ORDER BY id",
                )
                .await;
            let want_people: Vec<Value> = fixture
                .people
                .iter()
                .filter(|p| p.tenant != "1")
                .map(|p| json!([p.id, p.tenant, p.name, p.dept, p.email, p.ssn, p.salary]))
                .collect();
            let want_orders: Vec<Value> = fixture
                .orders
                .iter()
                .filter(|o| o.tenant.as_deref() != Some("1"))
                .map(|o| json!([o.id, o.tenant, o.person_id, o.amount, o.note]))
                .collect();
            for (table, now, were) in
                [("people", &people["rows"], want_people), ("orders", &orders["rows"], want_orders)]
            {
                let were = Value::Array(were);
                if cells(now) != cells(&were) {
                    return Err(format!(
                        "side {}: other tenants' {table} rows changed:\n      now  {now}\n      were {were}",
                        SIDES[i]
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Rows as text cells: numbers arrive as JSON numbers or strings depending on the type.
fn cells(rows: &Value) -> Vec<Vec<String>> {
    let cell = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    rows.as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| r.as_array().map(|r| r.iter().map(cell).collect()).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default()
}

impl Engine {
    fn name(self) -> &'static str {
        match self {
            Engine::Postgres => "PostgreSQL",
            Engine::MariaDb => "MariaDB",
            Engine::Sqlite => "SQLite",
        }
    }

    /// The type a cast to text names.
    fn text_type(self) -> &'static str {
        match self {
            Engine::Postgres | Engine::Sqlite => "TEXT",
            Engine::MariaDb => "CHAR",
        }
    }

    fn index(self) -> u64 {
        match self {
            Engine::Postgres => 1,
            Engine::MariaDb => 2,
            Engine::Sqlite => 3,
        }
    }
}

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let text = text.trim();
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={text} is not a number")))
}

/// One difference between A and B.
struct Difference {
    index: usize,
    sql: String,
    /// What kind of statement and outcome, to group the report (`UPDATE: A 200 / B 502 ...`).
    class: String,
    what: String,
}

/// How many statements ran, and how many of them succeeded (writes among them).
#[derive(Default)]
struct Tally {
    ran: usize,
    succeeded: usize,
    writes: usize,
}

/// The first keyword of `sql`, for grouping.
fn verb(sql: &str) -> String {
    sql.split_whitespace().next().unwrap_or_default().to_uppercase()
}

/// An outcome in a few words, for grouping: `200`, or status, code and database code.
fn gist(outcome: &Value) -> String {
    if outcome["status"] == 200 {
        return "200".into();
    }
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    format!("{} {} {}", outcome["status"], text(&outcome["code"]), text(&outcome["database_code"]))
        .trim_end()
        .into()
}

/// Runs `statement` on both sides and compares; after a write that ran, compares the state too.
async fn step(
    bench: &Bench,
    index: usize,
    statement: &Statement,
    tally: &mut Tally,
    trace: bool,
) -> Option<Difference> {
    let [(sa, a), (sb, b)] = bench.both(&statement.sql).await;
    tally.ran += 1;
    if trace {
        let summary = a["error"]["code"].as_str().map_or_else(
            || format!("{} rows, affected {}", a["row_count"], a["rows_affected"]),
            |code| format!("{code}: {}", a["error"]["message"].as_str().unwrap_or_default()),
        );
        eprintln!("[{} #{index}] {sa} {summary}\n    {}", bench.engine.name(), statement.sql);
    }
    let oa = outcome(sa, &a, statement.ordered, bench.schema(0));
    let ob = outcome(sb, &b, statement.ordered, bench.schema(1));
    let sql = statement.sql.clone();
    if oa != ob {
        let class = format!("{}: A {} / B {}", verb(&sql), gist(&oa), gist(&ob));
        let what = format!("responses differ:\n      A: {}\n      B: {}", shown(sa, &a), shown(sb, &b));
        return Some(Difference { index, sql, class, what });
    }
    if sa != StatusCode::OK {
        return None;
    }
    tally.succeeded += 1;
    if statement.kind == Kind::Read {
        return None;
    }
    tally.writes += 1;
    if statement.kind == Kind::Delete {
        bench.restore().await;
    }
    let what = bench.compare_state().await?;
    Some(Difference { index, class: format!("{}: what tenant 1 sees afterwards", verb(&sql)), sql, what })
}

/// The failure message: each class of difference with its count and first examples.
fn report(differences: &[Difference]) -> String {
    let mut classes: Vec<(&str, Vec<&Difference>)> = Vec::new();
    for d in differences {
        match classes.iter_mut().find(|(class, _)| *class == d.class) {
            Some((_, members)) => members.push(d),
            None => classes.push((&d.class, vec![d])),
        }
    }
    let mut out = String::new();
    for (class, members) in classes {
        out.push_str(&format!("\n{} x {class}\n", members.len()));
        for d in members.iter().take(EXAMPLES_PER_CLASS) {
            out.push_str(&format!("  #{} {}\n    {}\n", d.index, d.sql, d.what));
        }
    }
    out
}

/// The whole run on one engine.
async fn noninterference(engine: Engine, datasource_extra: &str) {
    let variant = u64::from(!datasource_extra.is_empty()) << 8;
    let seed = env_number("SLUICE_NI_SEED").unwrap_or(DEFAULT_SEED ^ engine.index() ^ variant);
    let count = env_number("SLUICE_NI_COUNT").map_or(DEFAULT_COUNT, |n| n as usize);
    let trace = std::env::var_os("SLUICE_NI_TRACE").is_some();
    let started = std::time::Instant::now();
    let bench = Bench::new(engine, datasource_extra).await;
    let mut generator = Gen::new(seed, engine);
    let mut differences: Vec<Difference> = Vec::new();
    let mut tally = Tally::default();

    // The fixture is right before anything runs: tenant 1 sees the same on both sides.
    let fixture_state = bench.compare_state().await;
    assert!(fixture_state.is_none(), "{}: the fixture is wrong: {fixture_state:?}", engine.name());

    for index in 0..count {
        let statement = generator.statement();
        let Some(difference) = step(&bench, index, &statement, &mut tally, trace).await else {
            continue;
        };
        differences.push(difference);
        // Damage to other tenants' rows is reported too; then both sides start again from the
        // fixture, so that later statements are judged on their own.
        if let Err(what) = bench.foreign_rows_intact().await {
            let class = "other tenants' rows changed".into();
            differences.push(Difference { index, sql: statement.sql.clone(), class, what });
        }
        bench.reset().await;
        if differences.len() >= MAX_DIFFERENCES {
            break;
        }
    }
    if let Err(what) = bench.foreign_rows_intact().await {
        let class = "other tenants' rows changed".into();
        differences.push(Difference { index: tally.ran, sql: "(end of run)".into(), class, what });
    }

    eprintln!(
        "noninterference {}: seed {seed:#x}, {} statements ({} succeeded on both sides, {} writes), \
         {} differences, {:.1}s",
        engine.name(),
        tally.ran,
        tally.succeeded,
        tally.writes,
        differences.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        differences.is_empty(),
        "{}: tenant 1 can tell A from B in {} of {} statements (seed {seed:#x}; rerun with \
         SLUICE_NI_SEED={seed:#x}, add SLUICE_NI_TRACE=1 to see every statement):\n{}",
        engine.name(),
        differences.len(),
        tally.ran,
        report(&differences)
    );
    assert!(
        tally.succeeded * 10 >= tally.ran * 3,
        "{}: only {} of {} statements succeeded (seed {seed:#x}): the generator is too narrow",
        engine.name(),
        tally.succeeded,
        tally.ran
    );
}

#[tokio::test]
async fn noninterference_postgres() {
    noninterference(Engine::Postgres, "").await;
}

#[tokio::test]
async fn noninterference_mariadb() {
    noninterference(Engine::MariaDb, "").await;
}

#[tokio::test]
async fn noninterference_sqlite() {
    noninterference(Engine::Sqlite, "").await;
}

/// With masked columns the operator made writable (not `ssn`, which has a unique index: its
/// collisions answer whether a value exists, as the README warns): the writes that set them
/// run, and still nothing tells A from B.
#[tokio::test]
async fn noninterference_mariadb_with_writable_masked_columns() {
    noninterference(Engine::MariaDb, "writable_masked_columns = [\"people.email\", \"people.salary\"]").await;
}

/// The fixture is what the test assumes: in every tenant-1 row each masked column's clear values
/// differ between A and B and mask to the same text; the other tenants' ids do not collide with
/// any id tenant 1 uses or the generator writes.
#[test]
fn noninterference_fixture_masks_agree() {
    for &(id, _, _, email, ssn, salary) in T1_PEOPLE {
        if let Some((a, b)) = email {
            assert_ne!(a, b, "person {id}: email");
            assert_eq!(mask_email(a), mask_email(b), "person {id}: email");
        }
        if let Some((a, b)) = ssn {
            assert_ne!(a, b, "person {id}: ssn");
            assert_eq!(mask_last_four(a), mask_last_four(b), "person {id}: ssn");
        }
        if let Some((a, b)) = salary {
            assert_ne!(a, b, "person {id}: salary");
            assert_eq!(mask_bucket(a), mask_bucket(b), "person {id}: salary");
        }
    }
    assert_eq!(mask_email("ann.lo@t1.example"), "a***@t1.example");
    assert_eq!(mask_email("g@u@s.example"), "*************");
    assert_eq!(mask_last_four("101-01-4321"), "*******4321");
    assert_eq!(mask_last_four("1234"), "****");
    assert_eq!(mask_bucket(-2_999), -3000);
    for engine in [Engine::Postgres, Engine::MariaDb, Engine::Sqlite] {
        for side in [Side::A, Side::B] {
            let fixture = Fixture::new(engine, side);
            for p in fixture.people.iter().filter(|p| p.tenant != "1") {
                assert!(p.id >= 1000, "{p:?}");
            }
            for o in fixture.orders.iter().filter(|o| o.tenant.as_deref() != Some("1")) {
                assert!(o.id >= 1000, "{o:?}");
            }
        }
    }
    // The unique index on ssn accepts both fixtures.
    for side in [Side::A, Side::B] {
        let fixture = Fixture::new(Engine::Postgres, side);
        let mut ssns: Vec<&str> = fixture.people.iter().filter_map(|p| p.ssn.as_deref()).collect();
        let all = ssns.len();
        ssns.sort_unstable();
        ssns.dedup();
        assert_eq!(ssns.len(), all, "{side:?}: duplicate ssn");
    }
    // Tenant 1's order 15 points at a person only A has, order 16 at one only B has.
    assert!(Fixture::new(Engine::Sqlite, Side::A).people.iter().any(|p| p.id == 1001));
    assert!(Fixture::new(Engine::Sqlite, Side::B).people.iter().any(|p| p.id == 2003));
}

/// The generator is deterministic for a seed.
#[test]
fn noninterference_generator_is_deterministic() {
    for engine in [Engine::Postgres, Engine::MariaDb, Engine::Sqlite] {
        let run = |seed| {
            let mut generator = Gen::new(seed, engine);
            (0..300).map(|_| generator.statement().sql).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }
}
