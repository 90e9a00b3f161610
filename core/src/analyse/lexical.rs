//! Token-level facts checked over the whole AST: placeholders, and identifiers the database
//! would read differently from sqlparser.

use std::ops::ControlFlow;

use sqlparser::ast::{Ident, Statement, Value, ValueWithSpan, Visit, Visitor};

use super::{AnalyseError, Dialect};
use crate::dialect::Placeholder;

/// Checks every identifier, and returns the number of parameters to bind: the highest `$n` / `?NNN`, or one per bare `?` (which,
/// in SQLite, takes the number after the highest so far). Placeholders the dialect's driver
/// would not bind positionally are refused, so that no parameter goes unaccounted for.
pub(crate) fn count(dialect: Dialect, statement: &Statement) -> Result<usize, AnalyseError> {
    let mut counter = Counter { dialect, highest: 0 };
    match statement.visit(&mut counter) {
        ControlFlow::Continue(()) => Ok(counter.highest),
        ControlFlow::Break(error) => Err(error),
    }
}

struct Counter {
    dialect: Dialect,
    highest: usize,
}

impl Visitor for Counter {
    type Break = AnalyseError;

    fn pre_visit_ident(&mut self, ident: &Ident) -> ControlFlow<Self::Break> {
        if self.dialect.reads_ident_as_parsed(ident) {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(AnalyseError::Unsupported(
                "identifier the database would read differently".into(),
            ))
        }
    }

    fn pre_visit_value(&mut self, value: &ValueWithSpan) -> ControlFlow<Self::Break> {
        if let Value::Placeholder(token) = &value.value {
            match self.dialect.placeholder(token) {
                Some(Placeholder::Numbered(n)) => self.highest = self.highest.max(n),
                Some(Placeholder::Next) => self.highest = self.highest.saturating_add(1),
                None => {
                    return ControlFlow::Break(AnalyseError::Unsupported(format!(
                        "placeholder style of {}",
                        token.chars().take(1).collect::<String>()
                    )));
                }
            }
        }
        ControlFlow::Continue(())
    }
}
