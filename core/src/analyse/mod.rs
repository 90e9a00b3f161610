//! Statement analysis: SQL text in, verified statement facts out. Fail closed.
//!
//! Entry point: [`analyse`]. It parses with the datasource's dialect (string literals left
//! escaped: unescaped, crafted literals print back as SQL that reads other relations), insists
//! on exactly one statement, refuses session and procedural statements, resolves every relation through a scope-aware walk (CTEs shadow
//! tables only where SQL says they do), and re-serialises the AST, re-parsing the result and
//! comparing; only that verified text is ever sent to a database.

mod classify;
mod coverage;
mod depth;
mod error;
mod facts;
mod lexical;
mod literals;
mod modifiers;
mod parse;
mod resolve;
mod roundtrip;
mod shape;
#[cfg(test)]
mod tests;

pub use crate::dialect::Dialect;
pub use error::AnalyseError;
pub use facts::{
    Access, Analysis, ColumnUsage, ColumnUse, RefPosition, References, RelationAccess, RelationName,
    StatementFacts, StatementKind,
};
pub use modifiers::Modifiers;
pub(crate) use modifiers::print;
pub(crate) use parse::parse_one;
pub(crate) use resolve::join_constraint;
pub use shape::parameterised;

/// Parses text Sluice itself produced (a rewritten statement) and counts its parameters: the
/// parser and placeholder rules of [`analyse`] without the resolver walk, whose facts the
/// rewrite already has. Used to check that a printed AST means what it was printed from.
///
/// # Errors
/// [`AnalyseError`] as from [`analyse`].
pub fn reparse(
    dialect: Dialect,
    sql: &str,
) -> Result<(sqlparser::ast::Statement, Modifiers, usize), AnalyseError> {
    let (statement, modifiers) = parse::parse_one(dialect, sql)?;
    let placeholders = lexical::count(dialect, &statement)?;
    Ok((statement, modifiers, placeholders))
}

/// Analyses one SQL statement in `dialect`.
///
/// # Errors
/// [`AnalyseError`] when the text does not parse, is not exactly one statement, is a statement
/// kind Sluice never forwards, uses a construct the resolver does not understand, or does not
/// survive the print/re-parse round trip unchanged.
pub fn analyse(dialect: Dialect, sql: &str) -> Result<Analysis, AnalyseError> {
    let (statement, modifiers) = parse::parse_one(dialect, sql)?;
    let mut resolver = resolve::Resolver::new(dialect);
    let kind = classify::walk_statement(&mut resolver, &statement)?;
    let placeholders = lexical::count(dialect, &statement)?;
    let (facts, references, visited) = resolver.finish(kind, &statement, placeholders);
    coverage::check(&statement, &visited, kind != StatementKind::Ddl)?;
    let verified = roundtrip::verified_sql(dialect, &statement, modifiers)?;
    literals::check(dialect, sql, &verified)?;
    Ok(Analysis { facts, references, statement, modifiers, sql: verified, query_text: Default::default() })
}
