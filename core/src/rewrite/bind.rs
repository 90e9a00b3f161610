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

use crate::analyse::{self, Dialect};
use crate::dialect::PlaceholderStyle;

use super::error::RewriteError;

const MARK: &str = ":__sluice_";

/// Where a bound parameter's value comes from. A rewrite's text depends on the statement and
/// the decision's shape only; its parameters are rebuilt from these for every request that
/// reuses it (see [`Rewritten::origins`](super::Rewritten::origins)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The caller's parameter at this 0-based position.
    Caller(usize),
    /// A principal attribute, bound to a row filter's parameter.
    Attribute(String),
    /// A constant of the decision, bound to a row filter's parameter.
    Literal(String),
}

impl Origin {
    /// The value for `principal` and the caller's `params`; `None` when it has none (a
    /// missing attribute), which only a full rewrite may turn into the right error.
    pub(crate) fn value(&self, principal: &crate::auth::Principal, params: &[Json]) -> Option<Json> {
        match self {
            Origin::Caller(index) => params.get(*index).cloned(),
            Origin::Attribute(name) => principal.attributes.get(name).cloned().map(Json::String),
            Origin::Literal(value) => Some(Json::String(value.clone())),
        }
    }
}

/// The values of injected parameters and their origins, in injection order.
#[derive(Debug, Default)]
pub(crate) struct Binder {
    values: Vec<(Json, Origin)>,
}

impl Binder {
    /// A placeholder expression for the text `value` (a row filter's parameter).
    pub(crate) fn push(&mut self, value: String, origin: Origin) -> Expr {
        self.push_json(Json::String(value), origin)
    }

    /// A placeholder expression for `value` as it is (a copy of one of the caller's
    /// parameters).
    pub(crate) fn push_json(&mut self, value: Json, origin: Origin) -> Expr {
        let placeholder = format!("{MARK}{}", self.values.len());
        self.values.push((value, origin));
        Expr::value(Value::Placeholder(placeholder))
    }
}

/// A statement's parameters in binding order, with where each comes from.
#[derive(Debug, Default)]
pub(crate) struct Bound {
    pub(crate) values: Vec<Json>,
    pub(crate) origins: Vec<Origin>,
}

impl Bound {
    fn push(&mut self, (value, origin): (Json, Origin)) {
        self.values.push(value);
        self.origins.push(origin);
    }

    fn callers(caller: &[Json]) -> Bound {
        Bound { values: caller.to_vec(), origins: (0..caller.len()).map(Origin::Caller).collect() }
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
        let n = dialect.placeholder_number(&token, highest);
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
    modifiers: analyse::Modifiers,
    caller: &[Json],
    caller_count: usize,
    binder: Binder,
) -> Result<(String, Bound), RewriteError> {
    let injected = binder.values;
    let style = dialect.placeholder_style();
    match style {
        PlaceholderStyle::Dollar => {
            let mut renumber = Renumber { offset: caller_count };
            let _ = statement.visit(&mut renumber);
            let mut params = Bound::callers(caller);
            injected.into_iter().for_each(|p| params.push(p));
            Ok((analyse::print(statement, modifiers), params))
        }
        PlaceholderStyle::Question | PlaceholderStyle::QuestionNumbered => {
            let positional = style == PlaceholderStyle::Question;
            let printed = analyse::print(statement, modifiers);
            let tokens = Tokenizer::new(dialect.parser_dialect(), &printed)
                .with_unescape(false)
                .tokenize()
                .map_err(|e| RewriteError::Verification(format!("re-tokenising: {e}")))?;
            let mut text = String::with_capacity(printed.len());
            let mut params = Bound::default();
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
                // `positional`: every `?` binds the next parameter, so each value goes into the
                // list where its placeholder is; otherwise placeholders are numbered.
                match (positional, injected_index, callers) {
                    (_, Some(Err(_)), _) => {
                        return Err(RewriteError::Verification("bad injected mark".into()));
                    }
                    (true, Some(Ok(k)), _) => {
                        text.push('?');
                        params.push(injected.get(k).cloned().ok_or_else(missing)?);
                    }
                    (false, Some(Ok(k)), _) => text.push_str(&format!("?{}", caller_count + k + 1)),
                    (true, None, Some(_)) => {
                        text.push('?');
                        let value = caller.get(next_caller).cloned().ok_or_else(missing)?;
                        params.push((value, Origin::Caller(next_caller)));
                        next_caller += 1;
                    }
                    (false, None, Some(p)) => {
                        // `?` takes the number after the highest seen so far.
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
            if !positional {
                if highest > caller_count {
                    return Err(missing());
                }
                params = Bound::callers(caller);
                injected.into_iter().for_each(|p| params.push(p));
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
