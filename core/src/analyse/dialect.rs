//! The SQL dialects Sluice analyses, and their differences as capability methods.

use serde::Serialize;

/// A datasource's SQL dialect. Stage code asks it questions (how to parse, how names fold)
/// instead of matching on the database kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// PostgreSQL: unquoted identifiers fold to lower case; `$n` placeholders.
    Postgres,
    /// MySQL / MariaDB: table names case-sensitive (as on Linux, `lower_case_table_names=0`),
    /// column names case-insensitive; `?` placeholders.
    MySql,
    /// SQLite: identifiers case-insensitive (ASCII); `?` / `?NNN` placeholders.
    Sqlite,
}

impl Dialect {
    /// The dialect's name in configuration and in facts.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::MySql => "mysql",
            Dialect::Sqlite => "sqlite",
        }
    }

    /// The sqlparser dialect to parse with.
    pub fn parser_dialect(self) -> &'static dyn sqlparser::dialect::Dialect {
        match self {
            Dialect::Postgres => &sqlparser::dialect::PostgreSqlDialect {},
            Dialect::MySql => &sqlparser::dialect::MySqlDialect {},
            Dialect::Sqlite => &sqlparser::dialect::SQLiteDialect {},
        }
    }
}

/// PostgreSQL's table functions that read nothing but their arguments.
const POSTGRES_TABLE_FUNCTIONS: &[&str] = &[
    "generate_series",
    "generate_subscripts",
    "unnest",
    "json_each",
    "json_each_text",
    "jsonb_each",
    "jsonb_each_text",
    "json_array_elements",
    "json_array_elements_text",
    "jsonb_array_elements",
    "jsonb_array_elements_text",
    "json_object_keys",
    "jsonb_object_keys",
    "json_to_record",
    "json_to_recordset",
    "jsonb_to_record",
    "jsonb_to_recordset",
    "jsonb_path_query",
    "regexp_matches",
    "regexp_split_to_table",
    "string_to_table",
];

/// PostgreSQL's object-identifier types whose input function looks a name up in the catalog.
const POSTGRES_REG_TYPES: &[&str] = &[
    "regclass",
    "regcollation",
    "regconfig",
    "regdictionary",
    "regnamespace",
    "regoper",
    "regoperator",
    "regproc",
    "regprocedure",
    "regrole",
    "regtype",
];

/// How one placeholder token counts towards the number of positional parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placeholder {
    /// `$n` or `?NNN`: the parameter with this 1-based number.
    Numbered(usize),
    /// `?`: the next parameter after the highest seen so far.
    Next,
}

impl Dialect {
    /// A table, view, schema, CTE or table-alias name as the database compares it.
    ///
    /// PostgreSQL folds unquoted names to lower case, keeps quoted ones exactly, and cuts
    /// every name to its first 63 bytes; MySQL on Linux (`lower_case_table_names=0`) compares
    /// table names as written, quoted or not; SQLite compares every name
    /// ASCII-case-insensitively.
    pub fn normalise_relation_ident(self, ident: &sqlparser::ast::Ident) -> String {
        match self {
            Dialect::Postgres => postgres_name(ident),
            Dialect::MySql => ident_text(ident),
            Dialect::Sqlite => ident_text(ident).to_ascii_lowercase(),
        }
    }

    /// A column name as the database compares it.
    ///
    /// MySQL column names are case-insensitive whatever the platform, unlike its table names,
    /// and MariaDB folds them by Unicode case (`É` is `é`). Folding through upper case too
    /// makes every pair MariaDB reads as one name (`ς` and `σ` both upper-case to `Σ`) equal;
    /// the few pairs it merges that MariaDB keeps apart err on the side of matching.
    pub fn normalise_column_ident(self, ident: &sqlparser::ast::Ident) -> String {
        match self {
            Dialect::Postgres => postgres_name(ident),
            Dialect::MySql | Dialect::Sqlite => self.column_key(&ident_text(ident)),
        }
    }

    /// Whether a statement may read from the table-valued function `name` (lower-case, as
    /// written, schema-qualified or not). Deny by default: besides the functions that expand
    /// their arguments (`generate_series`, `unnest`, JSON expansion), table functions read the
    /// database's own state (SQLite's `dbstat` counts every tenant's rows, `pragma_table_info`
    /// lists the columns of tables policy denies), which no relation name or catalog check sees.
    pub fn allows_table_function(self, name: &str) -> bool {
        let (schema, bare) = match name.rsplit_once('.') {
            Some((schema, bare)) => (Some(schema), bare),
            None => (None, name),
        };
        let (allowed, system_schema): (&[&str], &str) = match self {
            Dialect::Postgres => (POSTGRES_TABLE_FUNCTIONS, "pg_catalog"),
            Dialect::MySql => (&["json_table"], ""),
            Dialect::Sqlite => (&["json_each", "json_tree", "generate_series"], "main"),
        };
        schema.is_none_or(|s| s == system_schema) && allowed.contains(&bare)
    }

    /// Whether a cast to the type named `name` (lower-case, unqualified) looks a name up in the
    /// system catalog: PostgreSQL's `'secrets'::regclass` answers whether a table exists (and
    /// its oid) even for a table the caller may not name.
    pub fn is_catalog_lookup_type(self, name: &str) -> bool {
        match self {
            Dialect::Postgres => name.starts_with("reg") && POSTGRES_REG_TYPES.contains(&name),
            Dialect::MySql | Dialect::Sqlite => false,
        }
    }

    /// Whether `relation` (as the analyser normalised it) lives in the database's own catalog:
    /// PostgreSQL's `pg_*` and `information_schema` schemas (and unqualified `pg_*` names,
    /// since `pg_catalog` is searched first), MySQL's `mysql`, `sys`, `information_schema`
    /// and `performance_schema`, SQLite's `sqlite_*` tables. No statement may name one, DDL
    /// and TRUNCATE included.
    pub fn is_system_relation(self, relation: &crate::analyse::RelationName) -> bool {
        let starts =
            |s: &str, prefix: &str| s.get(..prefix.len()).is_some_and(|h| h.eq_ignore_ascii_case(prefix));
        let schema = relation.schema.as_deref();
        match self {
            Dialect::Postgres => match schema {
                Some(schema) => starts(schema, "pg_") || schema == "information_schema",
                None => starts(&relation.name, "pg_"),
            },
            Dialect::MySql => schema.is_some_and(|schema| {
                ["mysql", "sys", "information_schema", "performance_schema"]
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(schema))
            }),
            Dialect::Sqlite => starts(&relation.name, "sqlite_"),
        }
    }

    /// Whether text values and statement text may hold NUL characters. PostgreSQL's text types
    /// cannot: a NUL would fail on the wire, after a connection was taken, instead of being
    /// refused up front.
    pub fn accepts_nul_in_text(self) -> bool {
        match self {
            Dialect::Postgres => false,
            Dialect::MySql | Dialect::Sqlite => true,
        }
    }

    /// The key two column names, already unquoted (a catalog's, or a normalised identifier),
    /// are compared by: equal keys name the same column.
    pub fn column_key(self, name: &str) -> String {
        match self {
            Dialect::Postgres => name.to_owned(),
            Dialect::MySql => name.to_uppercase().to_lowercase(),
            Dialect::Sqlite => name.to_ascii_lowercase(),
        }
    }

    /// Whether `UPDATE` and `DELETE` take modifiers after their keyword (MySQL's
    /// `LOW_PRIORITY`, `QUICK`, `IGNORE`), which the analyser carries beside the statement.
    pub(crate) fn has_dml_modifiers(self) -> bool {
        self == Dialect::MySql
    }

    /// Whether the database reads `ident` as sqlparser did. SQLite's `[...]` has no escape, so
    /// sqlparser's `]]` inside brackets ends the name early for SQLite.
    pub(crate) fn reads_ident_as_parsed(self, ident: &sqlparser::ast::Ident) -> bool {
        match self {
            Dialect::Sqlite => !(ident.quote_style == Some('[') && ident.value.contains(']')),
            Dialect::Postgres | Dialect::MySql => true,
        }
    }

    /// How a placeholder token counts, or `None` when the dialect's driver would not bind it
    /// positionally (named parameters, the other databases' styles).
    pub(crate) fn placeholder(self, token: &str) -> Option<Placeholder> {
        let numbered = |digits: &str| {
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            digits.parse::<usize>().ok().filter(|n| *n > 0).map(Placeholder::Numbered)
        };
        match self {
            Dialect::Postgres => token.strip_prefix('$').and_then(numbered),
            Dialect::MySql => (token == "?").then_some(Placeholder::Next),
            Dialect::Sqlite => match token.strip_prefix('?') {
                Some("") => Some(Placeholder::Next),
                Some(digits) => numbered(digits),
                None => None,
            },
        }
    }
}

/// The longest name PostgreSQL keeps, in bytes (`NAMEDATALEN - 1`): it cuts longer names, quoted
/// or not, so two spellings that agree on their first 63 bytes are one name to it.
const POSTGRES_NAME_BYTES: usize = 63;

/// PostgreSQL's rule: only ASCII letters fold (multi-byte characters are kept in UTF-8), and
/// the name is cut to [`POSTGRES_NAME_BYTES`] at a character boundary, as `pg_mbcliplen` does.
fn postgres_name(ident: &sqlparser::ast::Ident) -> String {
    let mut name =
        if ident.quote_style.is_some() { ident_text(ident) } else { ident.value.to_ascii_lowercase() };
    if name.len() > POSTGRES_NAME_BYTES {
        let mut end = POSTGRES_NAME_BYTES;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    name
}

/// The name a quoted identifier denotes. Parsed without unescaping, `"a""b"` keeps its doubled
/// quote in `value`, while the database reads `a"b`.
fn ident_text(ident: &sqlparser::ast::Ident) -> String {
    match ident.quote_style {
        Some('"') => ident.value.replace("\"\"", "\""),
        Some('`') => ident.value.replace("``", "`"),
        _ => ident.value.clone(),
    }
}
