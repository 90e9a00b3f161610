//! Literals reach the database exactly as the caller wrote them.
//!
//! The round-trip check compares trees, and two texts that parse to the same tree can still
//! mean different things to the database: sqlparser reads MySQL's `0x41` (a number in numeric
//! context) and `X'41'` (a binary string) into the same node and prints `X'41'`, and it drops
//! the precision of PostgreSQL's `interval(0) '...'`. Neither change is visible in the tree.
//! So every literal token of the caller's statement must appear, as many times, in the text
//! Sluice sends, and no other literal may: a literal printed differently, dropped or invented
//! refuses the statement.

use sqlparser::tokenizer::{Location, Token, Tokenizer};

use super::{AnalyseError, Dialect};

/// Refuses `sent` unless its literals are exactly those of `written`.
pub(crate) fn check(dialect: Dialect, written: &str, sent: &str) -> Result<(), AnalyseError> {
    let written = literals(dialect, written, true)?;
    if written == literals(dialect, sent, false)? { Ok(()) } else { Err(AnalyseError::RoundTrip) }
}

/// Each literal token of `sql` (its kind and text), sorted: printing may reorder clauses.
///
/// Two spellings read into one token: `0x41` and `X'41'` are both a hex literal to the
/// tokenizer, and sqlparser prints the second. Where `written` is set, a hex literal whose
/// source text does not start with `X'` (or whose position cannot be trusted, as inside a
/// MySQL `/*! ... */` comment, whose tokens the tokenizer places without the markers) is
/// refused, since the printed form would change its meaning.
fn literals(dialect: Dialect, sql: &str, written: bool) -> Result<Vec<String>, AnalyseError> {
    let tokens = Tokenizer::new(dialect.parser_dialect(), sql)
        .with_unescape(false)
        .tokenize_with_location()
        .map_err(|e| AnalyseError::Parse(e.to_string()))?;
    let lines = LineStarts::new(sql);
    let mut out = Vec::new();
    for token in &tokens {
        if !is_literal(&token.token) {
            continue;
        }
        if written && matches!(token.token, Token::HexStringLiteral(_)) {
            let source = lines.offset(sql, token.span.start).and_then(|at| sql.get(at..));
            if !source.is_some_and(|s| s.starts_with("X'") || s.starts_with("x'")) {
                return Err(AnalyseError::Unsupported(
                    "a 0x hexadecimal literal (write X'..' for bytes, or the decimal number)".into(),
                ));
            }
        }
        out.push(format!("{:?}", token.token));
    }
    out.sort_unstable();
    Ok(out)
}
/// Whether `token` is a literal (a number or a string in any quoting).
pub(crate) fn is_literal(token: &Token) -> bool {
    matches!(
        token,
        Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::TripleSingleQuotedString(_)
            | Token::TripleDoubleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::SingleQuotedByteStringLiteral(_)
            | Token::DoubleQuotedByteStringLiteral(_)
            | Token::TripleSingleQuotedByteStringLiteral(_)
            | Token::TripleDoubleQuotedByteStringLiteral(_)
            | Token::SingleQuotedRawStringLiteral(_)
            | Token::DoubleQuotedRawStringLiteral(_)
            | Token::TripleSingleQuotedRawStringLiteral(_)
            | Token::TripleDoubleQuotedRawStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::QuoteDelimitedStringLiteral(_)
            | Token::NationalQuoteDelimitedStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::HexStringLiteral(_)
    )
}

/// Byte offsets of line starts, to turn the tokenizer's `(line, column)` (1-based, columns
/// counted in characters) into byte offsets.
struct LineStarts(Vec<usize>);

impl LineStarts {
    fn new(sql: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(sql.match_indices('\n').map(|(i, _)| i + 1));
        LineStarts(starts)
    }

    fn offset(&self, sql: &str, at: Location) -> Option<usize> {
        let line_start = *self.0.get(usize::try_from(at.line).ok()?.checked_sub(1)?)?;
        let column = usize::try_from(at.column).ok()?.checked_sub(1)?;
        let rest = sql.get(line_start..)?;
        match rest.char_indices().nth(column) {
            Some((i, _)) => Some(line_start + i),
            // The end of the last token may be the end of the text.
            None => (rest.chars().count() == column).then_some(sql.len()),
        }
    }
}
