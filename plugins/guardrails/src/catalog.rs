//! Which relations are system catalogs (`deny_catalogs`).
//!
//! Catalogs reveal other tenants' schemas, users, settings and running queries. Schema names
//! and SQLite's catalog table names are compared case-insensitively, so every spelling a
//! database accepts is caught.

use sluice_policy_sdk::{Dialect, Relation};

/// Schemas (databases in MySQL) that are catalogs in at least one dialect.
const CATALOG_SCHEMAS: &[&str] = &["information_schema", "pg_catalog", "mysql", "sys", "performance_schema"];

/// SQLite's catalog tables, in any schema (`main.sqlite_master`, `temp.sqlite_temp_master`).
const SQLITE_CATALOG_TABLES: &[&str] =
    &["sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema"];

/// SQL Server's compatibility views, reachable without a schema in every database.
const MSSQL_COMPAT_VIEWS: &[&str] = &[
    "sysaltfiles",
    "syscacheobjects",
    "syscharsets",
    "syscolumns",
    "syscomments",
    "sysconfigures",
    "sysconstraints",
    "syscurconfigs",
    "sysdatabases",
    "sysdepends",
    "sysdevices",
    "sysfilegroups",
    "sysfiles",
    "sysforeignkeys",
    "sysindexes",
    "sysindexkeys",
    "syslanguages",
    "syslockinfo",
    "syslogins",
    "sysmembers",
    "sysmessages",
    "sysobjects",
    "sysoledbusers",
    "sysperfinfo",
    "syspermissions",
    "sysprocesses",
    "sysprotects",
    "sysreferences",
    "sysremotelogins",
    "sysservers",
    "systypes",
    "sysusers",
];

/// Whether `relation` is a system catalog when the statement runs on `dialect`.
pub fn is_catalog(relation: &Relation, dialect: Dialect) -> bool {
    let name = relation.name.as_str();
    let any = |list: &[&str], s: &str| list.iter().any(|c| c.eq_ignore_ascii_case(s));
    if any(SQLITE_CATALOG_TABLES, name) {
        return true;
    }
    match relation.schema.as_deref() {
        // `pg_` schemas are reserved in PostgreSQL: pg_catalog, pg_toast, pg_temp_N, ...
        Some(schema) => any(CATALOG_SCHEMAS, schema) || starts_with_ignore_case(schema, "pg_"),
        None => match dialect {
            // pg_catalog is searched before the search_path, so `pg_shadow` alone is the catalog's.
            Dialect::Postgres => starts_with_ignore_case(name, "pg_"),
            Dialect::Mssql => any(MSSQL_COMPAT_VIEWS, name),
            Dialect::Mysql | Dialect::Sqlite => false,
        },
    }
}

/// ASCII case-insensitive `starts_with`.
fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogs_in_every_dialect() {
        let cat = |name: &str, d: Dialect| is_catalog(&Relation::parse(name), d);
        for d in [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite, Dialect::Mssql] {
            assert!(cat("information_schema.tables", d));
            assert!(cat("INFORMATION_SCHEMA.TABLES", d));
            assert!(cat("pg_catalog.pg_class", d));
            assert!(cat("mysql.user", d));
            assert!(cat("sys.objects", d));
            assert!(cat("performance_schema.threads", d));
            assert!(cat("sqlite_master", d));
            assert!(cat("main.SQLITE_SCHEMA", d));
            assert!(cat("temp.sqlite_temp_master", d));
            assert!(cat("pg_toast.pg_toast_1234", d));
            assert!(!cat("public.orders", d));
            assert!(!cat("orders", d));
            assert!(!cat("system_settings", d));
        }
        assert!(cat("pg_shadow", Dialect::Postgres));
        assert!(!cat("pg_shadow", Dialect::Mysql));
        assert!(cat("sysobjects", Dialect::Mssql));
        assert!(!cat("sysobjects", Dialect::Postgres));
        assert!(!cat("public.pgx", Dialect::Postgres));
    }
}
