//! Text to exactly one statement, with the options the round trip depends on.

use sqlparser::ast::Statement;
use sqlparser::parser::{Parser, ParserError, ParserOptions};
use sqlparser::tokenizer::Tokenizer;

use super::modifiers::Modifiers;
use super::{AnalyseError, Dialect};

/// Deep enough for real queries, shallow enough that printing, visiting and dropping the AST
/// cannot overflow a thread's stack.
const RECURSION_LIMIT: usize = 64;

/// Parser messages quote the offending token; capping keeps a crafted one out of responses.
const MESSAGE_CAP: usize = 200;

/// Parses `sql` in `dialect`, insisting on exactly one statement, and returns it with the
/// MySQL modifiers sqlparser cannot hold (see [`modifiers`](super::modifiers)).
///
/// String literals are kept escaped (`with_unescape(false)`): unescaped, crafted literals
/// re-serialise into SQL that reads relations the analyser never saw.
pub(crate) fn parse_one(dialect: Dialect, sql: &str) -> Result<(Statement, Modifiers), AnalyseError> {
    super::depth::check(dialect, sql)?;
    let syntax = |e: ParserError| match never_forwarded(dialect, sql) {
        Some(keyword) => AnalyseError::NotAllowed(keyword),
        None => AnalyseError::Parse(capped(&e.to_string())),
    };
    let mut tokens = Tokenizer::new(dialect.parser_dialect(), sql)
        .with_unescape(false)
        .tokenize_with_location()
        .map_err(|e| syntax(e.into()))?;
    let modifiers = super::modifiers::take(dialect, &mut tokens)?;
    let options = ParserOptions::new().with_unescape(false);
    let statements = Parser::new(dialect.parser_dialect())
        .with_recursion_limit(RECURSION_LIMIT)
        .with_options(options)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(syntax)?;
    let count = statements.len();
    let mut statements = statements.into_iter();
    match (statements.next(), statements.next()) {
        (Some(statement @ (Statement::Update(_) | Statement::Delete(_))), None) => Ok((statement, modifiers)),
        (Some(statement), None) if modifiers.is_empty() => Ok((statement, modifiers)),
        (Some(_), None) => {
            Err(AnalyseError::Unsupported("UPDATE / DELETE modifiers outside UPDATE / DELETE".into()))
        }
        _ => Err(AnalyseError::StatementCount(count)),
    }
}

/// Statement kinds Sluice never forwards, by their first keyword: a form sqlparser cannot
/// parse (`VACUUM ANALYZE t`, `DO $$ ... $$`) gets the same answer as one it can (`VACUUM t`),
/// instead of a parse error.
const NEVER_FORWARDED: &[&str] = &[
    "ANALYZE",
    "ATTACH",
    "BEGIN",
    "CALL",
    "CHECKPOINT",
    "CLOSE",
    "CLUSTER",
    "COMMIT",
    "COPY",
    "DEALLOCATE",
    "DECLARE",
    "DETACH",
    "DISCARD",
    "DO",
    "END",
    "EXECUTE",
    "FETCH",
    "FLUSH",
    "GRANT",
    "HANDLER",
    "KILL",
    "LISTEN",
    "LOAD",
    "LOCK",
    "MOVE",
    "NOTIFY",
    "PRAGMA",
    "PREPARE",
    "REINDEX",
    "RELEASE",
    "RESET",
    "REVOKE",
    "ROLLBACK",
    "SAVEPOINT",
    "SET",
    "START",
    "UNLISTEN",
    "UNLOCK",
    "USE",
    "VACUUM",
];

/// The statement's first keyword, upper-case, when it names a kind Sluice never forwards.
fn never_forwarded(dialect: Dialect, sql: &str) -> Option<String> {
    let tokens = sqlparser::tokenizer::Tokenizer::new(dialect.parser_dialect(), sql).tokenize().ok()?;
    let first = tokens.iter().find(|t| !matches!(t, sqlparser::tokenizer::Token::Whitespace(_)))?;
    let sqlparser::tokenizer::Token::Word(word) = first else {
        return None;
    };
    let keyword = word.value.to_ascii_uppercase();
    (word.quote_style.is_none() && NEVER_FORWARDED.contains(&keyword.as_str())).then_some(keyword)
}

pub(crate) fn capped(message: &str) -> String {
    match message.char_indices().nth(MESSAGE_CAP) {
        Some((end, _)) => format!("{}...", message.get(..end).unwrap_or_default()),
        None => message.to_owned(),
    }
}
