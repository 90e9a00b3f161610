//! Parameters the rewrite injects (row-filter values), bound natively next to the caller's.
//!
//! While rewriting, an injected parameter is a placeholder `:__sluice_<k>` that no caller can
//! write (the analyser refuses named placeholders). [`finish`] gives every placeholder its final
//! form in text order: PostgreSQL numbers injected ones after the caller's (`$n`); MySQL binds
//! `?` strictly by position, so the parameter list is rebuilt in the order the placeholders
//! appear in the printed statement; SQLite gets explicit `?NNN` numbers for every placeholder.
//! The result is re-parsed and compared with the rewritten AST before it is used.

use std::ops::ControlFlow;

use serde_json::Value as Json;
use sqlparser::ast::{Expr, Statement, Value, ValueWithSpan, VisitMut, VisitorMut};
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::analyse::Dialect;

use super::error::RewriteError;

const MARK: &str = ":__sluice_";

/// The values of injected parameters, in injection order.
#[derive(Debug, Default)]
pub(crate) struct Binder {
    values: Vec<Json>,
}

impl Binder {
    /// A placeholder expression for the text `value` (a principal attribute).
    pub(crate) fn push(&mut self, value: String) -> Expr {
        self.push_json(Json::String(value))
    }

    /// A placeholder expression for `value` as it is (a copy of one of the caller's
    /// parameters).
    pub(crate) fn push_json(&mut self, value: Json) -> Expr {
        let placeholder = format!("{MARK}{}", self.values.len());
        self.values.push(value);
        Expr::value(Value::Placeholder(placeholder))
    }
}

/// The 1-based parameter number of each of the caller's placeholders, by source position:
/// in text order, `?` taking the next number (after the highest so far, in SQLite) and `$n` /
/// `?NNN` their own. This is the order [`finish`] binds them in.
pub(crate) fn caller_numbers(
    dialect: Dialect,
    statement: &Statement,
) -> std::collections::BTreeMap<(u64, u64), usize> {
    struct Collect(Vec<((u64, u64), String)>);
    impl sqlparser::ast::Visitor for Collect {
        type Break = ();
        fn pre_visit_value(&mut self, value: &ValueWithSpan) -> ControlFlow<()> {
            let start = value.span.start;
            if let Value::Placeholder(p) = &value.value
                && !p.starts_with(MARK)
                && start.line > 0
            {
                self.0.push(((start.line, start.column), p.clone()));
            }
            ControlFlow::Continue(())
        }
    }
    let mut collect = Collect(Vec::new());
    let _ = sqlparser::ast::Visit::visit(statement, &mut collect);
    collect.0.sort();
    let mut highest = 0usize;
    let mut out = std::collections::BTreeMap::new();
    for (at, token) in collect.0 {
        let n = match (dialect, token.strip_prefix(['$', '?']).filter(|d| !d.is_empty())) {
            (Dialect::MySql, _) | (_, None) => highest + 1,
            (_, Some(digits)) => digits.parse().unwrap_or(0),
        };
        highest = highest.max(n);
        out.insert(at, n);
    }
    out
}

/// The statement's final text and parameter list. `caller_count` is how many parameters the
/// caller's statement takes (its highest `$n` / `?NNN`, or its number of `?`).
pub(crate) fn finish(
    dialect: Dialect,
    statement: &mut Statement,
    caller: &[Json],
    caller_count: usize,
    binder: Binder,
) -> Result<(String, Vec<Json>), RewriteError> {
    let injected = binder.values.into_iter();
    match dialect {
        Dialect::Postgres => {
            let mut renumber = Renumber { offset: caller_count };
            let _ = statement.visit(&mut renumber);
            let mut params = caller.to_vec();
            params.extend(injected);
            Ok((statement.to_string(), params))
        }
        Dialect::MySql | Dialect::Sqlite => {
            let printed = statement.to_string();
            let tokens = Tokenizer::new(dialect.parser_dialect(), &printed)
                .with_unescape(false)
                .tokenize()
                .map_err(|e| RewriteError::Verification(format!("re-tokenising: {e}")))?;
            let injected: Vec<Json> = injected.collect();
            let mut text = String::with_capacity(printed.len());
            let mut params = Vec::new();
            let (mut next_caller, mut highest) = (0usize, 0usize);
            let mut tokens = tokens.into_iter().peekable();
            while let Some(token) = tokens.next() {
                // The tokenizer splits `:__sluice_<k>` into a colon and a word; only the parser
                // joins them, so the mark is recognised here as that pair.
                let injected_index = match (&token, tokens.peek()) {
                    (Token::Colon, Some(Token::Word(w))) if w.quote_style.is_none() => {
                        w.value.strip_prefix(&MARK[1..]).map(|k| k.parse::<usize>())
                    }
                    _ => None,
                };
                if injected_index.is_some() {
                    tokens.next();
                }
                let callers = match &token {
                    Token::Placeholder(p) if injected_index.is_none() => Some(p.as_str()),
                    _ => None,
                };
                match (dialect, injected_index, callers) {
                    (_, Some(Err(_)), _) => {
                        return Err(RewriteError::Verification("bad injected mark".into()));
                    }
                    (Dialect::MySql, Some(Ok(k)), _) => {
                        text.push('?');
                        params.push(injected.get(k).cloned().ok_or_else(missing)?);
                    }
                    (_, Some(Ok(k)), _) => text.push_str(&format!("?{}", caller_count + k + 1)),
                    (Dialect::MySql, None, Some(_)) => {
                        text.push('?');
                        params.push(caller.get(next_caller).cloned().ok_or_else(missing)?);
                        next_caller += 1;
                    }
                    (_, None, Some(p)) => {
                        // SQLite's rule: `?` takes the number after the highest seen so far.
                        let n = match p.strip_prefix('?').filter(|d| !d.is_empty()) {
                            Some(digits) => digits.parse::<usize>().map_err(|_| missing())?,
                            None => highest + 1,
                        };
                        highest = highest.max(n);
                        text.push_str(&format!("?{n}"));
                    }
                    (_, None, None) => text.push_str(&token.to_string()),
                }
            }
            if dialect == Dialect::Sqlite {
                if highest > caller_count {
                    return Err(missing());
                }
                params = caller.to_vec();
                params.extend(injected);
            } else if next_caller != caller.len() {
                return Err(missing());
            }
            Ok((text, params))
        }
    }
}

fn missing() -> RewriteError {
    RewriteError::Verification("a placeholder has no parameter".into())
}

/// `statement` with every placeholder written `?`, to compare a rewritten AST with the
/// re-parse of its final text whatever numbering each uses.
pub(crate) fn erase_placeholders(mut statement: Statement) -> Statement {
    struct Erase;
    impl VisitorMut for Erase {
        type Break = ();
        fn pre_visit_value(&mut self, value: &mut ValueWithSpan) -> ControlFlow<()> {
            if let Value::Placeholder(p) = &mut value.value {
                "?".clone_into(p);
            }
            ControlFlow::Continue(())
        }
    }
    let _ = statement.visit(&mut Erase);
    statement
}

struct Renumber {
    offset: usize,
}

impl VisitorMut for Renumber {
    type Break = ();

    fn pre_visit_value(&mut self, value: &mut ValueWithSpan) -> ControlFlow<()> {
        if let Value::Placeholder(p) = &mut value.value
            && let Some(Ok(k)) = p.strip_prefix(MARK).map(|k| k.parse::<usize>())
        {
            *p = format!("${}", self.offset + k + 1);
        }
        ControlFlow::Continue(())
    }
}
