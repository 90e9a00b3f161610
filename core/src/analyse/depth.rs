//! A bound on how deep the AST of a text can be, computed from its tokens before parsing.
//!
//! The parser's recursion limit does not bound the AST: `a AND b AND ...` and
//! `SELECT .. UNION SELECT ..` chains are parsed in a loop into left-deep trees, which every
//! later consumer (printing, visiting, comparing, dropping) walks recursively. A few thousand
//! links overflow a thread's stack and abort the process, so such texts are refused up front.

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer};

use super::{AnalyseError, Dialect};

/// The deepest AST accepted. Measured: a debug build overflows a 2 MiB stack between 600 and
/// 1000 levels; this leaves room for the stages after analysis.
const MAX_DEPTH: usize = 256;

/// One parenthesised level of the text.
#[derive(Default)]
struct Level {
    /// Operators since the last comma: a chain cannot span a comma at the same level.
    segment: usize,
    longest_segment: usize,
    /// Set operations chain across commas (`SELECT a, b UNION SELECT c, d`).
    set_operations: usize,
    deepest_child: usize,
}

impl Level {
    fn depth(&self) -> usize {
        self.longest_segment.max(self.segment) + self.set_operations + self.deepest_child + 1
    }
}

/// Refuses `sql` when its tokens allow an AST deeper than [`MAX_DEPTH`]. The estimate is an
/// upper bound: along any path the depth is at most the operators of each enclosing level plus
/// one per parenthesis.
pub(crate) fn check(dialect: Dialect, sql: &str) -> Result<(), AnalyseError> {
    let tokens = Tokenizer::new(dialect.parser_dialect(), sql)
        .with_unescape(false)
        .tokenize()
        .map_err(|e| AnalyseError::Parse(super::parse::capped(&e.to_string())))?;
    let mut stack = vec![Level::default()];
    for token in &tokens {
        match token {
            Token::LParen => stack.push(Level::default()),
            Token::RParen => {
                if stack.len() > 1
                    && let Some(child) = stack.pop()
                    && let Some(parent) = stack.last_mut()
                {
                    parent.deepest_child = parent.deepest_child.max(child.depth());
                }
            }
            Token::Comma => {
                if let Some(level) = stack.last_mut() {
                    level.longest_segment = level.longest_segment.max(level.segment);
                    level.segment = 0;
                }
            }
            Token::Word(word) if word.quote_style.is_none() && is_set_operation(word.keyword) => {
                if let Some(level) = stack.last_mut() {
                    level.set_operations += 1;
                }
            }
            token if is_operator(token) => {
                if let Some(level) = stack.last_mut() {
                    level.segment += 1;
                }
            }
            _ => {}
        }
        if stack.len() > MAX_DEPTH || stack.iter().map(Level::depth).sum::<usize>() > MAX_DEPTH {
            return Err(AnalyseError::Parse("statement nests too deeply".into()));
        }
    }
    Ok(())
}

fn is_set_operation(keyword: Keyword) -> bool {
    matches!(keyword, Keyword::UNION | Keyword::EXCEPT | Keyword::INTERSECT | Keyword::MINUS)
}

/// Tokens that can link a chain: every symbol except the few that cannot, and the keyword
/// operators. Anything unknown counts, which only makes the bound looser.
fn is_operator(token: &Token) -> bool {
    match token {
        Token::Word(word) => {
            word.quote_style.is_none()
                && matches!(
                    word.keyword,
                    Keyword::AND
                        | Keyword::OR
                        | Keyword::XOR
                        | Keyword::NOT
                        | Keyword::IS
                        | Keyword::LIKE
                        | Keyword::ILIKE
                        | Keyword::RLIKE
                        | Keyword::REGEXP
                        | Keyword::SIMILAR
                        | Keyword::IN
                        | Keyword::BETWEEN
                        | Keyword::COLLATE
                        | Keyword::AT
                        | Keyword::DIV
                        | Keyword::MOD
                        | Keyword::OVERLAPS
                        | Keyword::ESCAPE
                        | Keyword::JOIN
                )
        }
        literal if super::literals::is_literal(literal) => false,
        Token::EOF
        | Token::Comma
        | Token::Whitespace(_)
        | Token::LParen
        | Token::RParen
        | Token::Period
        | Token::SemiColon
        | Token::RBracket
        | Token::Placeholder(_) => false,
        _ => true,
    }
}
