//! Caller conditions that may run inside a protected relation's fence, so that the database
//! can use an index on them.
//!
//! The fence keeps the caller's conditions out of the derived table so that none is evaluated
//! on a row the row filter removes (an error such as `1/(x - 42)` would report on it). That
//! also keeps `id = $1` out, and a point lookup reads the whole tenant. A condition may go
//! inside when evaluating it on a hidden row can neither raise an error nor show anything,
//! and when filtering earlier cannot change the result:
//!
//! * it is a conjunct of the WHERE of a query block whose only FROM item is the protected
//!   relation (no join, so no outer join can turn a removed row into a NULL-extended one);
//! * it compares an unmasked column of that relation, of a type whose comparisons cannot fail
//!   on a value, with constants: `c = k` (and `<>`, `<`, `<=`, `>`, `>=`), `c IN (k, ...)`,
//!   `c BETWEEN k AND k`, `c IS [NOT] NULL`; a constant is a literal or a parameter. A
//!   PostgreSQL `$n` is copied as it is; a MySQL or SQLite `?` binds by position, so a copy
//!   would shift the others: the copy is a new injected parameter with the caller's value.
//!
//! The condition is copied, not moved: the caller's WHERE keeps it, so the result is the
//! same with or without the copy, and only the amount of work changes.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, Ident, InTarget, Select, Statement, TableFactor, Value, ValueWithSpan, Visit,
    Visitor,
};

use crate::analyse::{Dialect, RefPosition, References};

use super::ColumnType;
use super::bind::{Binder, Origin, caller_numbers};
use super::protect::{Protected, column_type};
use serde_json::Value as Json;

/// Types whose comparison operators raise no error that depends on a stored value.
fn comparable(column_type: ColumnType) -> bool {
    matches!(
        column_type,
        ColumnType::Text
            | ColumnType::Integer
            | ColumnType::Decimal
            | ColumnType::Float
            | ColumnType::Date
            | ColumnType::Timestamp
            | ColumnType::Bool
    )
}

/// The conditions to copy into each protected FROM item, by the item's position, printed as
/// SQL over the relation's own (quoted) column names.
/// Copies of the caller's `?` parameters are pushed to `binder`.
pub(crate) fn conditions(
    dialect: Dialect,
    statement: &Statement,
    expected: &BTreeMap<RefPosition, &Protected>,
    params: &[Json],
    binder: &mut Binder,
) -> BTreeMap<RefPosition, Vec<String>> {
    let numbers = caller_numbers(dialect, statement);
    let mut finder = Finder { dialect, expected, numbers: &numbers, params, binder, found: BTreeMap::new() };
    let _ = statement.visit(&mut finder);
    finder.found
}

struct Finder<'a> {
    dialect: Dialect,
    expected: &'a BTreeMap<RefPosition, &'a Protected>,
    /// Each caller placeholder's parameter number, by position.
    numbers: &'a BTreeMap<(u64, u64), usize>,
    params: &'a [Json],
    binder: &'a mut Binder,
    found: BTreeMap<RefPosition, Vec<String>>,
}

impl Visitor for Finder<'_> {
    type Break = ();

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<()> {
        let ([item], Some(selection)) = (select.from.as_slice(), &select.selection) else {
            return ControlFlow::Continue(());
        };
        let TableFactor::Table { name, alias, .. } = &item.relation else {
            return ControlFlow::Continue(());
        };
        if !item.joins.is_empty() {
            return ControlFlow::Continue(());
        }
        let Some(at) = References::position(name) else {
            return ControlFlow::Continue(());
        };
        let Some(protected) = self.expected.get(&at) else {
            return ControlFlow::Continue(());
        };
        let visible = alias.as_ref().map(|a| &a.name).or_else(|| name.0.last().and_then(|p| p.as_ident()));
        let Some(visible) = visible.map(|v| self.dialect.normalise_relation_ident(v)) else {
            return ControlFlow::Continue(());
        };
        let mut copier = Copier {
            dialect: self.dialect,
            protected,
            visible: &visible,
            numbers: self.numbers,
            params: self.params,
            binder: self.binder,
        };
        let mut pushed = Vec::new();
        for conjunct in conjuncts(selection) {
            if let Some(condition) = copier.copy(conjunct) {
                pushed.push(condition);
            }
        }
        if !pushed.is_empty() {
            self.found.insert(at, pushed);
        }
        ControlFlow::Continue(())
    }
}

/// The top-level AND-ed parts of `expr`.
fn conjuncts(expr: &Expr) -> Vec<&Expr> {
    match expr {
        Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
            let mut out = conjuncts(left);
            out.extend(conjuncts(right));
            out
        }
        Expr::Nested(inner) => conjuncts(inner),
        other => vec![other],
    }
}

struct Copier<'a, 'b> {
    dialect: Dialect,
    protected: &'a Protected,
    /// The name the query block knows the relation by, normalised.
    visible: &'a str,
    numbers: &'a BTreeMap<(u64, u64), usize>,
    params: &'a [Json],
    binder: &'b mut Binder,
}

impl Copier<'_, '_> {
    /// `conjunct` over the relation's quoted column name, when it may be copied inside.
    fn copy(&mut self, conjunct: &Expr) -> Option<String> {
        match conjunct {
            Expr::BinaryOp { left, op, right } if comparison(op) => {
                let (column, constant, column_left) = match (self.column(left), self.column(right)) {
                    (Some(column), None) => (column, right, true),
                    (None, Some(column)) => (column, left, false),
                    _ => return None,
                };
                if !self.constant(constant) {
                    return None;
                }
                let constant = self.render(constant);
                Some(if column_left {
                    format!("{column} {op} {constant}")
                } else {
                    format!("{constant} {op} {column}")
                })
            }
            Expr::In { expr, target: InTarget::List(list), negated: false, global: false } => {
                let column = self.column(expr)?;
                if !list.iter().all(|k| self.constant(k)) {
                    return None;
                }
                let items: Vec<String> = list.iter().map(|k| self.render(k)).collect();
                Some(format!("{column} IN ({})", items.join(", ")))
            }
            Expr::Between { expr, negated: false, low, high } => {
                let column = self.column(expr)?;
                if !(self.constant(low) && self.constant(high)) {
                    return None;
                }
                Some(format!("{column} BETWEEN {} AND {}", self.render(low), self.render(high)))
            }
            Expr::IsNull(expr) => self.column(expr).map(|c| format!("{c} IS NULL")),
            Expr::IsNotNull(expr) => self.column(expr).map(|c| format!("{c} IS NOT NULL")),
            Expr::Nested(inner) => self.copy(inner),
            _ => None,
        }
    }

    /// The quoted name of an unmasked, comparable column of the relation that `expr` names
    /// (unqualified, or qualified by the name the block knows the relation by).
    fn column(&self, expr: &Expr) -> Option<String> {
        let ident: &Ident = match expr {
            Expr::Identifier(ident) => ident,
            Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                [qualifier, column] if self.dialect.normalise_relation_ident(qualifier) == self.visible => {
                    column
                }
                _ => return None,
            },
            Expr::Nested(inner) => return self.column(inner),
            _ => return None,
        };
        let name = self.dialect.normalise_column_ident(ident);
        let key = self.dialect.column_key(&name);
        let (index, column) = self
            .protected
            .columns
            .iter()
            .enumerate()
            .find(|(_, c)| self.dialect.column_key(&c.name) == key)?;
        (!self.protected.masks.contains_key(&index) && comparable(column_type(&column.type_name)))
            .then(|| self.dialect.quote_ident(&column.name))
    }

    fn constant(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Value(v) => match &v.value {
                Value::Number(..) | Value::SingleQuotedString(_) | Value::Boolean(_) => true,
                Value::Placeholder(_) => self.parameter(v).is_some(),
                _ => false,
            },
            Expr::Nested(inner) => self.constant(inner),
            _ => false,
        }
    }

    /// The caller's value behind a placeholder and its 0-based position in binding order.
    fn parameter(&self, value: &ValueWithSpan) -> Option<(usize, &Json)> {
        let at = (value.span.start.line, value.span.start.column);
        let index = self.numbers.get(&at)?.checked_sub(1)?;
        Some((index, self.params.get(index)?))
    }

    /// A constant as it goes inside: as written, except that a MySQL or SQLite parameter
    /// becomes an injected one carrying the caller's value.
    fn render(&mut self, expr: &Expr) -> String {
        match expr {
            Expr::Value(v)
                if matches!(v.value, Value::Placeholder(_))
                    && !self.dialect.placeholder_style().survives_reordering() =>
            {
                match self.parameter(v).map(|(index, value)| (index, value.clone())) {
                    Some((index, value)) => self.binder.push_json(value, Origin::Caller(index)).to_string(),
                    None => expr.to_string(),
                }
            }
            Expr::Nested(inner) => self.render(inner),
            other => other.to_string(),
        }
    }
}

fn comparison(op: &BinaryOperator) -> bool {
    matches!(
        op,
        BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq
    )
}
