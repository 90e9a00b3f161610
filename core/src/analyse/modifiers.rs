//! MySQL's `UPDATE` / `DELETE` modifiers (`LOW_PRIORITY`, `QUICK`, `IGNORE`).
//!
//! sqlparser has no place for them: it reads `UPDATE IGNORE t` as the table `IGNORE` aliased
//! `t`. So they are taken off the token stream before parsing, carried next to the statement,
//! and put back by [`print`], the one function that turns an analysed or rewritten statement
//! into the text a database receives. Dropping one on the way would change the statement's
//! meaning (`IGNORE` turns some errors into warnings), which is why nothing else prints.

use sqlparser::ast::Statement;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan, Whitespace};

use super::{AnalyseError, Dialect};

/// The modifiers written after a MySQL `UPDATE` or `DELETE` keyword. Empty for every other
/// statement and dialect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Modifiers {
    low_priority: bool,
    quick: bool,
    ignore: bool,
}

impl Modifiers {
    /// Whether the statement has none.
    pub fn is_empty(self) -> bool {
        self == Modifiers::default()
    }

    /// The modifiers in MySQL's order, as keywords.
    fn words(self) -> impl Iterator<Item = &'static str> {
        [(self.low_priority, "LOW_PRIORITY"), (self.quick, "QUICK"), (self.ignore, "IGNORE")]
            .into_iter()
            .filter_map(|(on, word)| on.then_some(word))
    }
}

/// Removes the modifiers from `tokens` and returns them.
///
/// MySQL's grammar: `UPDATE [LOW_PRIORITY] [IGNORE]` in that order, `DELETE` followed by any of
/// `LOW_PRIORITY`, `QUICK`, `IGNORE` in any order. A word in another order is left in place, so
/// the statement parses as MySQL would not and is refused; a quoted word is a name, as in MySQL.
pub(crate) fn take(dialect: Dialect, tokens: &mut Vec<TokenWithSpan>) -> Result<Modifiers, AnalyseError> {
    let mut modifiers = Modifiers::default();
    if !dialect.has_dml_modifiers() {
        return Ok(modifiers);
    }
    let mut at = skip_blank(tokens, 0);
    let update = match tokens.get(at).map(|t| &t.token) {
        Some(Token::Word(w)) if w.keyword == Keyword::UPDATE => true,
        Some(Token::Word(w)) if w.keyword == Keyword::DELETE => false,
        _ => return Ok(modifiers),
    };
    at += 1;
    let mut hinted = false;
    loop {
        let next = skip_blank(tokens, at);
        hinted |= tokens.get(at..next).unwrap_or_default().iter().any(|t| is_hint(&t.token));
        at = next;
        let Some(Token::Word(word)) = tokens.get(at).map(|t| &t.token) else { break };
        if word.quote_style.is_some() {
            break;
        }
        // sqlparser has no QUICK keyword; the word is compared as MySQL's lexer would.
        let quick = word.value.eq_ignore_ascii_case("quick");
        let slot = match (word.keyword, update) {
            (Keyword::LOW_PRIORITY, true) if !modifiers.low_priority && !modifiers.ignore => {
                &mut modifiers.low_priority
            }
            (Keyword::IGNORE, true) if !modifiers.ignore => &mut modifiers.ignore,
            (Keyword::LOW_PRIORITY, false) => &mut modifiers.low_priority,
            (_, false) if quick => &mut modifiers.quick,
            (Keyword::IGNORE, false) => &mut modifiers.ignore,
            _ => break,
        };
        *slot = true;
        tokens.remove(at);
    }
    // Optimizer hints must come straight after the keyword; a hint printed after re-inserted
    // modifiers would silently become a plain comment.
    if hinted && !modifiers.is_empty() {
        return Err(AnalyseError::Unsupported(
            "optimizer hints together with UPDATE / DELETE modifiers".into(),
        ));
    }
    Ok(modifiers)
}

fn skip_blank(tokens: &[TokenWithSpan], mut at: usize) -> usize {
    while matches!(tokens.get(at).map(|t| &t.token), Some(Token::Whitespace(_))) {
        at += 1;
    }
    at
}

fn is_hint(token: &Token) -> bool {
    matches!(token, Token::Whitespace(Whitespace::MultiLineComment(text)) if text.starts_with('+'))
}

/// The text of `statement` with its modifiers: the only way a statement is printed for a
/// database, so the modifiers cannot be lost.
pub(crate) fn print(statement: &Statement, modifiers: Modifiers) -> String {
    let printed = statement.to_string();
    if modifiers.is_empty() {
        return printed;
    }
    // Both statements print their keyword first and start the rest with a space; `take`
    // refused hints, which would come between.
    let keyword = match statement {
        Statement::Update(_) => "UPDATE",
        Statement::Delete(_) => "DELETE",
        _ => return printed,
    };
    let rest = printed.strip_prefix(keyword).unwrap_or(&printed);
    let mut text = String::with_capacity(printed.len() + 24);
    text.push_str(keyword);
    for word in modifiers.words() {
        text.push(' ');
        text.push_str(word);
    }
    text.push_str(rest);
    text
}
