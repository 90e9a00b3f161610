//! Whether a WHERE clause restricts the rows of a write target. A guardrail against "UPDATE or
//! DELETE of the whole table" must judge the predicate, not the presence of the keyword:
//! `WHERE 1=1`, `WHERE id = id` and `WHERE true OR id = 5` touch every row.

use std::ops::ControlFlow;

use sqlparser::ast::{BinaryOperator, Expr, Query, Visit, Visitor};

use crate::analyse::Dialect;

/// True when `predicate` can only hold for some rows of the target known by `qualifiers` (its
/// alias or name). Conservative towards "unrestricted": a predicate that does not depend on the
/// target's own columns, or whose every OR branch is unrestricted, does not restrict.
pub(crate) fn restricts(predicate: Option<&Expr>, qualifiers: &[String], dialect: Dialect) -> bool {
    predicate.is_some_and(|p| judge(p, qualifiers, dialect))
}

fn judge(expr: &Expr, qualifiers: &[String], dialect: Dialect) -> bool {
    match expr {
        Expr::Nested(inner) => judge(inner, qualifiers, dialect),
        Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
            judge(left, qualifiers, dialect) || judge(right, qualifiers, dialect)
        }
        Expr::BinaryOp { left, op: BinaryOperator::Or, right } => {
            judge(left, qualifiers, dialect) && judge(right, qualifiers, dialect)
        }
        // `x = x` and friends hold for every row where x is not NULL.
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq | BinaryOperator::GtEq | BinaryOperator::LtEq | BinaryOperator::Spaceship,
            right,
        } if left == right => false,
        // `x IS NOT NULL` keeps every row of a NOT NULL column.
        Expr::IsNotNull(_) => false,
        _ => depends_on_target(expr, qualifiers, dialect),
    }
}

/// Whether `expr` reads a column of the target: an unqualified column outside subqueries, or a
/// column qualified by the target's alias or name anywhere (correlated subqueries included).
fn depends_on_target(expr: &Expr, qualifiers: &[String], dialect: Dialect) -> bool {
    struct Finder<'a> {
        qualifiers: &'a [String],
        dialect: Dialect,
        depth: usize,
    }
    impl Visitor for Finder<'_> {
        type Break = ();
        fn pre_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            self.depth += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            self.depth = self.depth.saturating_sub(1);
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            let hit = match expr {
                Expr::Identifier(_) => self.depth == 0,
                Expr::CompoundIdentifier(parts) => parts
                    .len()
                    .checked_sub(2)
                    .and_then(|i| parts.get(i))
                    .map(|q| self.dialect.normalise_relation_ident(q))
                    .is_some_and(|q| self.qualifiers.contains(&q)),
                _ => false,
            };
            if hit { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        }
    }
    let mut finder = Finder { qualifiers, dialect, depth: 0 };
    expr.visit(&mut finder).is_break()
}
