//! Text to exactly one statement, with the options the round trip depends on.

use sqlparser::ast::Statement;
use sqlparser::parser::{Parser, ParserOptions};

use super::{AnalyseError, Dialect};

/// Deep enough for real queries, shallow enough that printing, visiting and dropping the AST
/// cannot overflow a thread's stack.
const RECURSION_LIMIT: usize = 64;

/// Parser messages quote the offending token; capping keeps a crafted one out of responses.
const MESSAGE_CAP: usize = 200;

/// Parses `sql` in `dialect`, insisting on exactly one statement.
///
/// String literals are kept escaped (`with_unescape(false)`): unescaped, crafted literals
/// re-serialise into SQL that reads relations the analyser never saw.
pub(crate) fn parse_one(dialect: Dialect, sql: &str) -> Result<Statement, AnalyseError> {
    super::depth::check(dialect, sql)?;
    let options = ParserOptions::new().with_unescape(false);
    let statements = Parser::new(dialect.parser_dialect())
        .with_recursion_limit(RECURSION_LIMIT)
        .with_options(options)
        .try_with_sql(sql)
        .and_then(|mut parser| parser.parse_statements())
        .map_err(|e| AnalyseError::Parse(capped(&e.to_string())))?;
    let count = statements.len();
    let mut statements = statements.into_iter();
    match (statements.next(), statements.next()) {
        (Some(statement), None) => Ok(statement),
        _ => Err(AnalyseError::StatementCount(count)),
    }
}

pub(crate) fn capped(message: &str) -> String {
    match message.char_indices().nth(MESSAGE_CAP) {
        Some((end, _)) => format!("{}...", message.get(..end).unwrap_or_default()),
        None => message.to_owned(),
    }
}
