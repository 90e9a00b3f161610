//! Leak channels that derived tables alone do not close, checked on statements that touch a
//! protected relation.
//!
//! * **Functions.** Only an allow-list of built-ins may be called. A user-defined function can
//!   read a protected table unfiltered from inside; `pg_sleep` / `SLEEP` / `BENCHMARK` turn
//!   conditions into timing oracles; catalog and file functions expose what policy hides.
//! * **Errors as oracles.** Division or modulo by anything but a non-zero literal, and casts of
//!   column data to non-text types, can raise errors that depend on a value. The derived tables
//!   are optimisation fences, so these only ever see rows the caller may see; refusing them as
//!   well keeps one mistake in a fence from becoming a leak.
//!
//! Whole-row references (`row_to_json(c)`, `c.*::text`, `JSON_OBJECT(...)`) need no check of
//! their own: the alias they name is the derived table, whose columns are already masked.

use std::ops::ControlFlow;

use sqlparser::ast::{BinaryOperator, CastKind, DataType, Expr, Statement, Value, Visit, Visitor};

use crate::analyse::{Dialect, StatementFacts};

use super::error::{RewriteError, refused};

/// Built-ins allowed in statements over protected relations: they read nothing but their
/// arguments, and cannot raise errors that reveal a value. Names are compared lower-case and
/// unqualified (a `pg_catalog.` prefix is accepted).
const COMMON: &[&str] = &[
    // Aggregates and window functions.
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "row_number",
    "rank",
    "dense_rank",
    "percent_rank",
    "cume_dist",
    "ntile",
    "lag",
    "lead",
    "first_value",
    "last_value",
    "nth_value",
    // Null handling and comparison.
    "coalesce",
    "nullif",
    "greatest",
    "least",
    // Strings.
    "lower",
    "upper",
    "length",
    "char_length",
    "character_length",
    "trim",
    "ltrim",
    "rtrim",
    "substr",
    "substring",
    "concat",
    "concat_ws",
    "replace",
    "left",
    "right",
    "lpad",
    "rpad",
    "reverse",
    "instr",
    "position",
    // Numbers.
    "abs",
    "round",
    "floor",
    "ceil",
    "ceiling",
    "sign",
    // Time (of the statement, not of the data).
    "now",
    "current_date",
    "current_time",
    "current_timestamp",
    "localtime",
    "localtimestamp",
];

/// Refuses functions that read relations named in a string argument, run SQL text, or read
/// files or statistics: what no resolver can see. Refused on every datasource that policy
/// plugins judge, whether or not the statement names a protected relation, since the relation
/// it reads is hidden. Every database's list applies to every datasource: a function another
/// database reads through is no loss where it means something else.
pub(crate) fn check_hidden_reads(facts: &StatementFacts) -> Result<(), RewriteError> {
    for function in &facts.functions {
        let name = function.rsplit('.').next().unwrap_or(function);
        if Dialect::ALL.iter().any(|dialect| dialect.reads_hidden(name)) {
            return Err(RewriteError::HiddenRead(function.clone()));
        }
    }
    Ok(())
}

/// Refuses statements over protected relations that call a function outside the allow-list,
/// or divide or cast in ways that can raise value-dependent errors.
pub(crate) fn check(
    dialect: Dialect,
    facts: &StatementFacts,
    statement: &Statement,
) -> Result<(), RewriteError> {
    let extra = dialect.safe_functions();
    for function in &facts.functions {
        let name = dialect.unqualified_function(function);
        if !COMMON.contains(&name) && !extra.contains(&name) {
            return refused(format!("the function {function} is not on the allow-list"));
        }
    }
    match statement.visit(&mut Oracles) {
        ControlFlow::Break(error) => Err(error),
        ControlFlow::Continue(()) => Ok(()),
    }
}

struct Oracles;

impl Visitor for Oracles {
    type Break = RewriteError;

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<RewriteError> {
        let refusal = match expr {
            Expr::BinaryOp {
                op:
                    BinaryOperator::Divide
                    | BinaryOperator::Modulo
                    | BinaryOperator::DuckIntegerDivide
                    | BinaryOperator::MyIntegerDivide,
                right,
                ..
            } if !non_zero_literal(right) => Some("division by anything but a non-zero number"),
            Expr::Cast { kind, expr, data_type, .. } if !is_literal(expr) => match kind {
                CastKind::TryCast | CastKind::SafeCast => None,
                CastKind::Cast | CastKind::DoubleColon if is_text(data_type) => None,
                CastKind::Cast | CastKind::DoubleColon => Some("a cast of column data to a non-text type"),
            },
            _ => None,
        };
        match refusal {
            Some(what) => {
                ControlFlow::Break(RewriteError::Refused(format!("{what} can raise errors that reveal data")))
            }
            None => ControlFlow::Continue(()),
        }
    }
}

fn non_zero_literal(expr: &Expr) -> bool {
    match expr {
        Expr::Value(v) => matches!(&v.value, Value::Number(n, _) if n.parse::<f64>().is_ok_and(|x| x != 0.0)),
        Expr::Nested(inner) => non_zero_literal(inner),
        _ => false,
    }
}

fn is_literal(expr: &Expr) -> bool {
    match expr {
        Expr::Value(_) => true,
        Expr::Nested(inner) => is_literal(inner),
        _ => false,
    }
}

fn is_text(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Text
            | DataType::Varchar(_)
            | DataType::CharVarying(_)
            | DataType::CharacterVarying(_)
            | DataType::Char(_)
            | DataType::Character(_)
            | DataType::Nvarchar(_)
            | DataType::String(_)
            | DataType::TinyText
            | DataType::MediumText
            | DataType::LongText
    )
}
