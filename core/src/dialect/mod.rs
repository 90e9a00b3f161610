//! What differs between the databases Sluice guards, one file per database.
//!
//! Stage code never matches on the database: it asks its [`Dialect`] (how names fold, which
//! placeholders bind, which functions are safe, how the rewrite fences a derived table, how an
//! identifier is quoted, which error messages may be shown). Each database answers in its own
//! file by implementing `Rules`, which has no default methods, so a new database is one new
//! file the compiler checks for completeness, never a wildcard arm that silently treats it like
//! another. The model is sqlparser's one-file-per-dialect layout.

mod mssql;
mod mysql;
mod postgres;
mod sqlite;

/// Each database's rules, for the handles that dispatch to them.
pub(crate) mod rules {
    pub(crate) use super::mssql::MsSql;
    pub(crate) use super::mysql::MySql;
    pub(crate) use super::postgres::Postgres;
    pub(crate) use super::sqlite::Sqlite;
}

use serde::Serialize;

use crate::analyse::RelationName;
use crate::rewrite::MaskDialect;
use crate::rewrite::mask::dates::Unit;
use crate::rewrite::mask::{ColumnType, Mask, MaskError, MaskRules};

/// A datasource's SQL dialect: a handle on its database's `Rules`.
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
    /// Every dialect.
    pub const ALL: [Dialect; 3] = [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite];

    /// The only place that names each database: its rules.
    fn rules(self) -> &'static dyn Rules {
        match self {
            Dialect::Postgres => &postgres::Postgres,
            Dialect::MySql => &mysql::MySql,
            Dialect::Sqlite => &sqlite::Sqlite,
        }
    }
}

/// How one placeholder token counts towards the number of positional parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placeholder {
    /// `$n` or `?NNN`: the parameter with this 1-based number.
    Numbered(usize),
    /// `?`: the next parameter after the highest seen so far.
    Next,
}

/// How the statement Sluice sends numbers its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlaceholderStyle {
    /// `$1, $2, ...` (PostgreSQL): every placeholder names its parameter.
    Dollar,
    /// `?` only (MySQL): parameters bind in the order their placeholders appear.
    Question,
    /// `?` or `?NNN` (SQLite): `?` takes the number after the highest seen so far.
    QuestionNumbered,
}

impl PlaceholderStyle {
    /// Whether a placeholder still names the same parameter after the rewrite moves it (into
    /// a derived table, before other placeholders): only when every placeholder is numbered.
    pub(crate) fn survives_reordering(self) -> bool {
        match self {
            PlaceholderStyle::Dollar => true,
            PlaceholderStyle::Question | PlaceholderStyle::QuestionNumbered => false,
        }
    }
}

/// One database's answers. Every method is required: see the module documentation.
pub(crate) trait Rules: Sync {
    /// The name in configuration and in facts.
    fn name(&self) -> &'static str;

    /// The sqlparser dialect to parse with.
    fn parser(&self) -> &'static dyn sqlparser::dialect::Dialect;

    /// A table, view, schema, CTE or table-alias name as the database compares it.
    fn relation_ident(&self, ident: &sqlparser::ast::Ident) -> String;

    /// The key two unquoted column names are compared by.
    fn column_key(&self, name: &str) -> String;

    /// A column name as written (quoted or not) as the database compares it.
    fn column_ident(&self, ident: &sqlparser::ast::Ident) -> String;

    /// The table functions a statement may read from (lower-case, unqualified), and the one
    /// schema they may be qualified with.
    fn table_functions(&self) -> (&'static [&'static str], &'static str);

    /// Whether a cast to type `name` looks a name up in the system catalog.
    fn is_catalog_lookup_type(&self, name: &str) -> bool;

    /// Whether `relation` lives in the database's own catalog.
    fn is_system_relation(&self, relation: &RelationName) -> bool;

    /// Whether `relation` names no table at all (MySQL's `DUAL`).
    fn is_pseudo_relation(&self, relation: &RelationName) -> bool;

    /// Whether text values and statement text may hold NUL characters.
    fn accepts_nul_in_text(&self) -> bool;

    /// Whether `UPDATE` and `DELETE` take modifiers after their keyword.
    fn has_dml_modifiers(&self) -> bool;

    /// Whether the database reads `ident` as sqlparser parsed it.
    fn reads_ident_as_parsed(&self, ident: &sqlparser::ast::Ident) -> bool;

    /// How a placeholder token of a caller's statement counts, if it binds positionally.
    fn placeholder(&self, token: &str) -> Option<Placeholder>;

    /// How the statement Sluice sends numbers its parameters.
    fn placeholder_style(&self) -> PlaceholderStyle;

    /// `name` as a quoted identifier.
    fn quote_ident(&self, name: &str) -> String;

    /// What ends a derived table's query so that the planner keeps it a fence: conditions of
    /// the outer query are not pushed below the row filter, where they could see (and raise
    /// errors on) rows the filter removes.
    fn fence(&self) -> &'static str;

    /// Columns every table has without declaring them (`ctid`, `rowid`).
    fn system_columns(&self) -> &'static [&'static str];

    /// Functions, beyond the common list, that cannot read or reveal anything but their
    /// arguments (lower-case, unqualified), allowed over protected relations.
    fn safe_functions(&self) -> &'static [&'static str];

    /// `function` with the qualifier of the database's default function schema removed.
    fn unqualified_function<'f>(&self, function: &'f str) -> &'f str;

    /// Whether a function (lower-case, unqualified) reads relations named in a string, runs
    /// SQL text, or reads the server's files or statistics: what no resolver can see.
    fn reads_hidden(&self, function: &str) -> bool;

    /// Whether a database error with `code` (and `message`) cannot quote data, so its
    /// message may be shown even for a statement over protected relations.
    fn error_is_safe_to_show(&self, code: &str, message: &str) -> bool;

    /// How masks render on this database.
    fn mask_dialect(&self) -> MaskDialect;

    /// The database's `db.system.name` in OpenTelemetry's semantic conventions.
    fn telemetry_name(&self) -> &'static str;
}

impl Dialect {
    /// The dialect's name in configuration and in facts.
    pub fn name(self) -> &'static str {
        self.rules().name()
    }

    /// The sqlparser dialect to parse with.
    pub fn parser_dialect(self) -> &'static dyn sqlparser::dialect::Dialect {
        self.rules().parser()
    }

    /// A table, view, schema, CTE or table-alias name as the database compares it.
    ///
    /// PostgreSQL folds unquoted names to lower case, keeps quoted ones exactly, and cuts
    /// every name to its first 63 bytes; MySQL on Linux (`lower_case_table_names=0`) compares
    /// table names as written, quoted or not; SQLite compares every name
    /// ASCII-case-insensitively.
    pub fn normalise_relation_ident(self, ident: &sqlparser::ast::Ident) -> String {
        self.rules().relation_ident(ident)
    }

    /// A column name as the database compares it.
    pub fn normalise_column_ident(self, ident: &sqlparser::ast::Ident) -> String {
        self.rules().column_ident(ident)
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
        let (allowed, system_schema) = self.rules().table_functions();
        schema.is_none_or(|s| s == system_schema) && allowed.contains(&bare)
    }

    /// Whether a cast to the type named `name` (lower-case, unqualified) looks a name up in the
    /// system catalog: PostgreSQL's `'secrets'::regclass` answers whether a table exists (and
    /// its oid) even for a table the caller may not name.
    pub fn is_catalog_lookup_type(self, name: &str) -> bool {
        self.rules().is_catalog_lookup_type(name)
    }

    /// Whether `relation` (as the analyser normalised it) lives in the database's own catalog
    /// (PostgreSQL's `pg_*` and `information_schema`, MySQL's `mysql`, `sys`,
    /// `information_schema` and `performance_schema`, SQLite's `sqlite_*`). No statement may
    /// name one, DDL and TRUNCATE included.
    pub fn is_system_relation(self, relation: &RelationName) -> bool {
        self.rules().is_system_relation(relation)
    }

    /// Whether `relation` names no table at all, so the catalog need not know it.
    pub fn is_pseudo_relation(self, relation: &RelationName) -> bool {
        self.rules().is_pseudo_relation(relation)
    }

    /// Whether text values and statement text may hold NUL characters. PostgreSQL's text types
    /// cannot: a NUL would fail on the wire, after a connection was taken, instead of being
    /// refused up front.
    pub fn accepts_nul_in_text(self) -> bool {
        self.rules().accepts_nul_in_text()
    }

    /// The key two column names, already unquoted (a catalog's, or a normalised identifier),
    /// are compared by: equal keys name the same column.
    pub fn column_key(self, name: &str) -> String {
        self.rules().column_key(name)
    }

    /// Whether `UPDATE` and `DELETE` take modifiers after their keyword (MySQL's
    /// `LOW_PRIORITY`, `QUICK`, `IGNORE`), which the analyser carries beside the statement.
    pub(crate) fn has_dml_modifiers(self) -> bool {
        self.rules().has_dml_modifiers()
    }

    /// Whether the database reads `ident` as sqlparser did. SQLite's `[...]` has no escape, so
    /// sqlparser's `]]` inside brackets ends the name early for SQLite.
    pub(crate) fn reads_ident_as_parsed(self, ident: &sqlparser::ast::Ident) -> bool {
        self.rules().reads_ident_as_parsed(ident)
    }

    /// How a placeholder token counts, or `None` when the dialect's driver would not bind it
    /// positionally (named parameters, the other databases' styles).
    pub(crate) fn placeholder(self, token: &str) -> Option<Placeholder> {
        self.rules().placeholder(token)
    }

    /// The number of the parameter a caller's placeholder `token` binds, `highest` being the
    /// highest number seen before it.
    pub(crate) fn placeholder_number(self, token: &str, highest: usize) -> usize {
        match self.placeholder(token) {
            Some(Placeholder::Numbered(n)) => n,
            Some(Placeholder::Next) | None => highest + 1,
        }
    }

    /// How the statement Sluice sends numbers its parameters.
    pub(crate) fn placeholder_style(self) -> PlaceholderStyle {
        self.rules().placeholder_style()
    }

    /// `name` as a quoted identifier.
    pub(crate) fn quote_ident(self, name: &str) -> String {
        self.rules().quote_ident(name)
    }

    /// What ends a derived table's query so that it stays a fence (see [`Rules::fence`]).
    pub(crate) fn fence(self) -> &'static str {
        self.rules().fence()
    }

    /// Columns every table has without declaring them.
    pub(crate) fn system_columns(self) -> &'static [&'static str] {
        self.rules().system_columns()
    }

    /// Functions beyond the common list that are safe over protected relations.
    pub(crate) fn safe_functions(self) -> &'static [&'static str] {
        self.rules().safe_functions()
    }

    /// `function` without the database's default function schema.
    pub(crate) fn unqualified_function(self, function: &str) -> &str {
        self.rules().unqualified_function(function)
    }

    /// Whether `function` reads what no resolver sees, on this database.
    pub(crate) fn reads_hidden(self, function: &str) -> bool {
        self.rules().reads_hidden(function)
    }

    /// Whether an error with `code` may show its `message` over protected relations.
    pub(crate) fn error_is_safe_to_show(self, code: &str, message: &str) -> bool {
        self.rules().error_is_safe_to_show(code, message)
    }

    /// How masks render on this database.
    pub(crate) fn mask_dialect(self) -> MaskDialect {
        self.rules().mask_dialect()
    }

    /// The database's `db.system.name` in OpenTelemetry's semantic conventions.
    pub fn telemetry_name(self) -> &'static str {
        self.rules().telemetry_name()
    }
}

/// Whether `s` starts with `prefix`, ASCII case aside.
fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(prefix))
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

/// A positive decimal parameter number.
fn numbered(digits: &str) -> Option<Placeholder> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<usize>().ok().filter(|n| *n > 0).map(Placeholder::Numbered)
}
