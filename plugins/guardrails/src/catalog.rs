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

/// PostgreSQL functions that look names up in the catalog or read its state by name.
const POSTGRES_CATALOG_FUNCTIONS: &[&str] = &[
    "to_regclass",
    "to_regcollation",
    "to_regnamespace",
    "to_regoper",
    "to_regoperator",
    "to_regproc",
    "to_regprocedure",
    "to_regrole",
    "to_regtype",
    "to_regtypemod",
    "has_any_column_privilege",
    "has_column_privilege",
    "has_database_privilege",
    "has_foreign_data_wrapper_privilege",
    "has_function_privilege",
    "has_language_privilege",
    "has_parameter_privilege",
    "has_schema_privilege",
    "has_sequence_privilege",
    "has_server_privilege",
    "has_table_privilege",
    "has_tablespace_privilege",
    "has_type_privilege",
    "obj_description",
    "col_description",
    "shobj_description",
    "current_setting",
];

/// Whether calling `function` (lower-case, as the statement facts list it) reads the system
/// catalog on `dialect`: PostgreSQL's `pg_*` functions and name look-ups (`to_regclass`),
/// SQLite's `pragma_*` and `dbstat` table functions. Sluice itself refuses these table
/// functions and catalog casts; this rule keeps a policy's intent explicit and covers scalar
/// look-ups on datasources where Sluice allows them.
pub fn is_catalog_function(function: &str, dialect: Dialect) -> bool {
    let (schema, name) = match function.rsplit_once('.') {
        Some((schema, name)) => (Some(schema), name),
        None => (None, function),
    };
    if schema.is_some_and(|s| any_of(CATALOG_SCHEMAS, s)) {
        return true;
    }
    match dialect {
        Dialect::Postgres => starts_with_ignore_case(name, "pg_") || any_of(POSTGRES_CATALOG_FUNCTIONS, name),
        Dialect::Sqlite => starts_with_ignore_case(name, "pragma_") || name.eq_ignore_ascii_case("dbstat"),
        Dialect::Mysql | Dialect::Mssql => false,
    }
}

fn any_of(list: &[&str], s: &str) -> bool {
    list.iter().any(|c| c.eq_ignore_ascii_case(s))
}

/// ASCII case-insensitive `starts_with`.
fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_functions() {
        assert!(is_catalog_function("to_regclass", Dialect::Postgres));
        assert!(is_catalog_function("pg_catalog.pg_get_viewdef", Dialect::Postgres));
        assert!(is_catalog_function("pg_relation_size", Dialect::Postgres));
        assert!(is_catalog_function("pragma_table_info", Dialect::Sqlite));
        assert!(is_catalog_function("dbstat", Dialect::Sqlite));
        assert!(is_catalog_function("information_schema._pg_expandarray", Dialect::Postgres));
        assert!(!is_catalog_function("lower", Dialect::Postgres));
        assert!(!is_catalog_function("json_each", Dialect::Sqlite));
        assert!(!is_catalog_function("pg_sleep", Dialect::Mysql));
    }

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
