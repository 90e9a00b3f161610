//! Facts about a statement's shape that policies ask for directly: its outer row limit and its
//! fingerprint.

use std::ops::ControlFlow;

use sha2::{Digest as _, Sha256};
use sqlparser::ast::{
    Expr, LimitClause, Query, SetExpr, Statement, TopQuantity, Value, ValueWithSpan, visit_expressions_mut,
};

/// The outermost query's row limit, when it is a literal (`LIMIT n`, `FETCH FIRST n ROWS`,
/// `TOP n`). `None` for other statements and for limits that are parameters or expressions:
/// a policy that wants a limit must not be satisfied by one it cannot read.
pub fn outer_limit(statement: &Statement) -> Option<u64> {
    let Statement::Query(query) = statement else { return None };
    query_limit(query)
}

fn query_limit(query: &Query) -> Option<u64> {
    let limit = match &query.limit_clause {
        Some(LimitClause::LimitOffset { limit: Some(expr), .. }) => literal(expr),
        Some(LimitClause::OffsetCommaLimit { limit, .. }) => literal(limit),
        _ => None,
    };
    let fetch =
        query.fetch.as_ref().filter(|f| !f.percent).and_then(|f| f.quantity.as_ref()).and_then(literal);
    let top = match query.body.as_ref() {
        SetExpr::Select(select) => {
            select.top.as_ref().filter(|t| !t.percent).and_then(|t| match &t.quantity {
                Some(TopQuantity::Constant(n)) => Some(*n),
                Some(TopQuantity::Expr(expr)) => literal(expr),
                None => None,
            })
        }
        SetExpr::Query(inner) => query_limit(inner),
        _ => None,
    };
    [limit, fetch, top].into_iter().flatten().min()
}

fn literal(expr: &Expr) -> Option<u64> {
    match expr {
        Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) => n.parse().ok(),
        Expr::Nested(inner) => literal(inner),
        _ => None,
    }
}

/// Hex SHA-256 of the statement with every literal replaced by a placeholder, so statements
/// that differ only in their constants share a fingerprint (an approval for "this query" then
/// covers it with other values only where the policy says so).
pub fn fingerprint(statement: &Statement) -> String {
    let digest = Sha256::digest(parameterised(statement).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The statement's text with every literal replaced by `?`: what telemetry may show of it
/// (`db.query.text`), since literals can be data.
pub fn parameterised(statement: &Statement) -> String {
    let mut normalised = statement.clone();
    let _ = visit_expressions_mut(&mut normalised, |expr| {
        if let Expr::Value(v) = expr
            && !matches!(v.value, Value::Placeholder(_))
        {
            v.value = Value::Placeholder("?".into());
        }
        ControlFlow::<()>::Continue(())
    });
    normalised.to_string()
}
