//! New rows must satisfy the row filters: checked before the statement runs, for literals and
//! bound parameters against filters that are conjunctions of `column = value`.

use std::ops::ControlFlow;

use serde_json::Value as Json;
use sqlparser::ast::{Expr, Ident, Value, Visit, Visitor};

use crate::analyse::Dialect;

use super::super::error::{RewriteError, refused};
use super::super::predicate::{parse_expr, required_values};
use super::super::protect::{Protected, same_column};
use super::statements::WriteContext;

/// Every row must give each required column its required value, as a literal or a parameter.
pub(super) fn check_rows(
    cx: &WriteContext<'_>,
    protected: &Protected,
    columns: &[String],
    rows: &[Vec<&Expr>],
    required: &[(String, String)],
) -> Result<(), RewriteError> {
    let mut placeholders = Placeholders::new(cx.dialect);
    for row in rows {
        let numbers: Vec<Vec<usize>> = row.iter().map(|e| placeholders.numbers(e)).collect();
        for (column, value) in required {
            let Some(index) = columns.iter().position(|c| same_column(cx.dialect, c, column)) else {
                return refused(format!(
                    "a new row of {} must set {column} explicitly to satisfy the row filter",
                    protected.relation
                ));
            };
            let (Some(expr), Some(numbers)) = (row.get(index), numbers.get(index)) else {
                return refused("a VALUES row with fewer values than columns");
            };
            if !satisfies(expr, value, numbers, cx.params) {
                return refused(format!(
                    "a new row of {} does not satisfy the row filter on {column}",
                    protected.relation
                ));
            }
        }
    }
    Ok(())
}

/// The `column = value` pairs new rows must satisfy; refused when a filter is not of that form.
pub(super) fn required(
    cx: &WriteContext<'_>,
    protected: &Protected,
) -> Result<Vec<(String, String)>, RewriteError> {
    let mut out = Vec::new();
    for filter in &protected.filters {
        match required_values(cx.dialect, filter, cx.principal) {
            Some(pairs) => out.extend(pairs),
            None => {
                return refused(format!(
                    "new rows of {} cannot be checked against the row filter of policy plugin `{}`",
                    protected.relation, filter.plugin
                ));
            }
        }
    }
    Ok(out)
}

/// Every column any filter of `protected` names.
pub(super) fn filtered_columns(cx: &WriteContext<'_>, protected: &Protected) -> Vec<String> {
    let mut names = Vec::new();
    for filter in &protected.filters {
        match parse_expr(cx.dialect, &filter.predicate) {
            Ok(expr) => {
                let _ = expr.visit(&mut Idents(&mut |ident: &Ident| {
                    names.push(cx.dialect.normalise_column_ident(ident));
                }));
            }
            // An unparseable filter fails later, when it is compiled.
            Err(_) => names.extend(protected.columns.iter().map(|c| c.name.clone())),
        }
    }
    names
}

struct Idents<'f>(&'f mut dyn FnMut(&Ident));

impl Visitor for Idents<'_> {
    type Break = ();
    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        match expr {
            Expr::Identifier(ident) => (self.0)(ident),
            Expr::CompoundIdentifier(parts) => {
                if let Some(last) = parts.last() {
                    (self.0)(last);
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// Whether `expr` is a literal or a caller parameter equal to `want`.
pub(super) fn satisfies(expr: &Expr, want: &str, numbers: &[usize], params: &[Json]) -> bool {
    match expr {
        Expr::Nested(inner) => satisfies(inner, want, numbers, params),
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n == want,
            Value::SingleQuotedString(s) => !s.contains(['\'', '\\']) && s == want,
            Value::Placeholder(_) => match numbers {
                [n] => match n.checked_sub(1).and_then(|i| params.get(i)) {
                    Some(Json::String(s)) => s == want,
                    Some(Json::Number(n)) => n.to_string() == want,
                    _ => false,
                },
                _ => false,
            },
            _ => false,
        },
        _ => false,
    }
}

/// Numbers the caller's placeholders the way the dialect's driver does, in text order.
pub(super) struct Placeholders {
    dialect: Dialect,
    highest: usize,
}

impl Placeholders {
    pub(super) fn new(dialect: Dialect) -> Self {
        Placeholders { dialect, highest: 0 }
    }

    /// The 1-based parameter numbers of the placeholders in `expr`, in order.
    pub(super) fn numbers(&mut self, expr: &Expr) -> Vec<usize> {
        struct Collect<'p>(&'p mut Placeholders, Vec<usize>);
        impl Visitor for Collect<'_> {
            type Break = ();
            fn pre_visit_value(&mut self, value: &sqlparser::ast::ValueWithSpan) -> ControlFlow<()> {
                if let Value::Placeholder(p) = &value.value {
                    let n = self.0.dialect.placeholder_number(p, self.0.highest);
                    self.0.highest = self.0.highest.max(n);
                    self.1.push(n);
                }
                ControlFlow::Continue(())
            }
        }
        let mut collect = Collect(self, Vec::new());
        let _ = expr.visit(&mut collect);
        collect.1
    }
}
