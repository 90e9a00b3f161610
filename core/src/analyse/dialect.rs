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
    /// PostgreSQL folds unquoted names to lower case and keeps quoted ones exactly; MySQL on
    /// Linux (`lower_case_table_names=0`) compares table names as written, quoted or not; SQLite
    /// compares every name ASCII-case-insensitively.
    pub fn normalise_relation_ident(self, ident: &sqlparser::ast::Ident) -> String {
        match self {
            Dialect::Postgres => fold_unquoted(ident),
            Dialect::MySql => ident_text(ident),
            Dialect::Sqlite => ident_text(ident).to_ascii_lowercase(),
        }
    }

    /// A column name as the database compares it.
    ///
    /// MySQL column names are case-insensitive whatever the platform, unlike its table names.
    pub fn normalise_column_ident(self, ident: &sqlparser::ast::Ident) -> String {
        match self {
            Dialect::Postgres => fold_unquoted(ident),
            Dialect::MySql => ident_text(ident).to_lowercase(),
            Dialect::Sqlite => ident_text(ident).to_ascii_lowercase(),
        }
    }

    /// How a placeholder token counts, or `None` when the dialect's driver would not bind it
    /// positionally (named parameters, the other databases' styles).
    /// Whether the database reads `ident` as sqlparser did. SQLite's `[...]` has no escape, so
    /// sqlparser's `]]` inside brackets ends the name early for SQLite.
    pub(crate) fn reads_ident_as_parsed(self, ident: &sqlparser::ast::Ident) -> bool {
        match self {
            Dialect::Sqlite => !(ident.quote_style == Some('[') && ident.value.contains(']')),
            Dialect::Postgres | Dialect::MySql => true,
        }
    }

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

/// PostgreSQL's rule: only ASCII letters fold (multi-byte characters are kept in UTF-8).
fn fold_unquoted(ident: &sqlparser::ast::Ident) -> String {
    if ident.quote_style.is_some() { ident_text(ident) } else { ident.value.to_ascii_lowercase() }
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
