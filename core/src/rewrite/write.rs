//! Writes to protected relations.
//!
//! * DELETE and UPDATE get the row filters ANDed into WHERE, so they reach only rows the caller
//!   may see.
//! * New rows (INSERT values, UPDATE SET of a filtered column) must satisfy the filter. That is
//!   checked before the statement runs, for literals and bound parameters against filters that
//!   are conjunctions of `column = value`; anything that cannot be checked is refused.
//! * Masked columns of the target cannot be read by the write: not as a SET source (copying
//!   `ssn` into `name` would publish it), not in WHERE (`rows_affected` would answer questions
//!   about it), not in RETURNING.
//! * Upserts (ON CONFLICT, ON DUPLICATE KEY, REPLACE) are refused: their conflict path reads and
//!   changes a row the filter may hide. Multi-table UPDATE / DELETE over protected relations,
//!   and writes that copy values read from masked relations, are refused too.

use std::ops::ControlFlow;

use serde_json::Value as Json;
use sqlparser::ast::{
    AssignmentTarget, Delete, Expr, FromTable, Ident, Insert, ObjectName, SelectItem, SetExpr, Statement,
    TableFactor, TableObject, Update, Value, Visit, Visitor,
};

use crate::analyse::{Dialect, RelationName};
use crate::auth::Principal;
use crate::execute::Catalog;

use super::bind::Binder;
use super::error::{RewriteError, refused};
use super::predicate::{compile_all, parse_expr, required_values};
use super::protect::{Plan, Protected, same_column};

/// What the write rules need besides the statement.
pub(crate) struct WriteContext<'a> {
    pub(crate) dialect: Dialect,
    pub(crate) catalog: &'a Catalog,
    pub(crate) plan: &'a Plan,
    pub(crate) principal: &'a Principal,
    pub(crate) params: &'a [Json],
    /// Whether the statement reads a relation that has masks (outside its own target).
    pub(crate) reads_masked: bool,
}

/// Applies the write rules to a top-level INSERT, UPDATE or DELETE; other statements pass.
pub(crate) fn rewrite(
    statement: &mut Statement,
    cx: &WriteContext<'_>,
    binder: &mut Binder,
) -> Result<(), RewriteError> {
    match statement {
        Statement::Insert(insert) => self::insert(insert, cx),
        Statement::Update(update) => self::update(update, cx, binder),
        Statement::Delete(delete) => self::delete(delete, cx, binder),
        _ => Ok(()),
    }
}

fn target<'a>(cx: &'a WriteContext<'_>, name: &ObjectName) -> Result<Option<&'a Protected>, RewriteError> {
    let relation = relation_of(cx.dialect, name)
        .ok_or_else(|| RewriteError::Refused("a target name Sluice cannot resolve".into()))?;
    let (key, _) =
        cx.catalog.resolve(&relation).ok_or_else(|| RewriteError::UnknownRelation(relation.to_string()))?;
    Ok(cx.plan.get(key))
}

/// The relation an object name denotes in `dialect` (one or two parts).
pub(crate) fn relation_of(dialect: Dialect, name: &ObjectName) -> Option<RelationName> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| p.as_ident().map(|i| dialect.normalise_relation_ident(i)))
        .collect::<Option<_>>()?;
    match parts.as_slice() {
        [name] => Some(RelationName { schema: None, name: name.clone() }),
        [schema, name] => Some(RelationName { schema: Some(schema.clone()), name: name.clone() }),
        _ => None,
    }
}

fn insert(insert: &mut Insert, cx: &WriteContext<'_>) -> Result<(), RewriteError> {
    let TableObject::TableName(name) = &insert.table else {
        return refused("INSERT into a table function");
    };
    let values_source = insert
        .source
        .as_ref()
        .is_some_and(|q| matches!(q.body.as_ref(), SetExpr::Values(_)) && q.with.is_none());
    if cx.reads_masked && !values_source {
        return refused("INSERT ... SELECT from a relation with masked columns");
    }
    let Some(protected) = target(cx, name)? else {
        return Ok(());
    };
    if insert.on.is_some() || insert.replace_into || insert.or.is_some() {
        return refused(format!("an upsert or REPLACE into {}", protected.relation));
    }
    let qualifier = insert
        .table_alias
        .as_ref()
        .map(|a| a.alias.clone())
        .or_else(|| name.0.last().and_then(|p| p.as_ident()).cloned());
    masked_reads(
        cx.dialect,
        protected,
        qualifier.as_ref(),
        insert.returning.as_deref().unwrap_or_default(),
        &[],
    )?;

    let required = required(cx, protected)?;
    if required.is_empty() {
        return Ok(());
    }
    // Without a column list, values follow the table's column order.
    let columns: Vec<String> = if insert.columns.is_empty() {
        protected.columns.iter().map(|c| c.name.clone()).collect()
    } else {
        insert
            .columns
            .iter()
            .map(|c| c.0.last().and_then(|p| p.as_ident()).map(|i| cx.dialect.normalise_column_ident(i)))
            .collect::<Option<_>>()
            .unwrap_or_default()
    };
    let rows: Vec<Vec<&Expr>> = if !insert.assignments.is_empty() {
        let mut named = Vec::new();
        let mut row = Vec::new();
        for assignment in &insert.assignments {
            let AssignmentTarget::ColumnName(column) = &assignment.target else {
                return refused("tuple assignment in INSERT ... SET");
            };
            let Some(ident) = column.0.last().and_then(|p| p.as_ident()) else {
                return refused("INSERT ... SET of a computed name");
            };
            named.push(cx.dialect.normalise_column_ident(ident));
            row.push(&assignment.value);
        }
        return check_rows(cx, protected, &named, &[row], &required);
    } else {
        match insert.source.as_ref().map(|q| q.body.as_ref()) {
            Some(SetExpr::Values(values)) if values_source => {
                values.rows.iter().map(|row| row.iter().collect()).collect()
            }
            _ => {
                return refused(format!("INSERT into {} from anything but VALUES", protected.relation));
            }
        }
    };
    check_rows(cx, protected, &columns, &rows, &required)
}

/// Every row must give each required column its required value, as a literal or a parameter.
fn check_rows(
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

fn update(update: &mut Update, cx: &WriteContext<'_>, binder: &mut Binder) -> Result<(), RewriteError> {
    let TableFactor::Table { name, alias, .. } = &update.table.relation else {
        return Ok(());
    };
    let protected = target(cx, name)?;
    if cx.reads_masked {
        return refused("an UPDATE that reads a relation with masked columns");
    }
    let Some(protected) = protected else {
        return Ok(());
    };
    if !update.table.joins.is_empty() {
        return refused("a multi-table UPDATE of a protected relation");
    }
    // SQLite's UPDATE OR REPLACE deletes the row a new key collides with, whoever's it is.
    if matches!(update.or, Some(sqlparser::ast::SqliteOnConflict::Replace)) {
        return refused(format!("UPDATE OR REPLACE of {}", protected.relation));
    }
    let qualifier =
        alias.as_ref().map(|a| a.name.clone()).or_else(|| name.0.last().and_then(|p| p.as_ident()).cloned());
    let values: Vec<&Expr> = update.assignments.iter().map(|a| &a.value).collect();
    let mut exprs: Vec<&Expr> = values.clone();
    exprs.extend(update.selection.as_ref());
    masked_reads(
        cx.dialect,
        protected,
        qualifier.as_ref(),
        update.returning.as_deref().unwrap_or_default(),
        &exprs,
    )?;

    // New values of filtered columns must satisfy the filter.
    let filtered = filtered_columns(cx, protected);
    if !filtered.is_empty() {
        let required = required(cx, protected).ok();
        let mut placeholders = Placeholders::new(cx.dialect);
        for assignment in &update.assignments {
            let numbers = placeholders.numbers(&assignment.value);
            let AssignmentTarget::ColumnName(column) = &assignment.target else {
                return refused("tuple assignment to a protected relation");
            };
            let Some(ident) = column.0.last().and_then(|p| p.as_ident()) else {
                return refused("assignment to a computed name");
            };
            let column = cx.dialect.normalise_column_ident(ident);
            if !filtered.iter().any(|f| same_column(cx.dialect, f, &column)) {
                continue;
            }
            let want = required
                .as_ref()
                .and_then(|r| r.iter().find(|(c, _)| same_column(cx.dialect, c, &column)).map(|(_, v)| v));
            if !want.is_some_and(|want| satisfies(&assignment.value, want, &numbers, cx.params)) {
                return refused(format!(
                    "the new value of {column} in {} would not satisfy the row filter",
                    protected.relation
                ));
            }
        }
    }
    let filters = compile_all(cx.dialect, protected, cx.principal, binder, qualifier.as_ref())?;
    update.selection = and_all(update.selection.take(), filters);
    Ok(())
}

fn delete(delete: &mut Delete, cx: &WriteContext<'_>, binder: &mut Binder) -> Result<(), RewriteError> {
    let from = match &delete.from {
        FromTable::WithFromKeyword(items) | FromTable::WithoutKeyword(items) => items,
    };
    let single = match (delete.tables.is_empty(), from.as_slice()) {
        (true, [item]) if item.joins.is_empty() => Some(&item.relation),
        _ => None,
    };
    let Some(TableFactor::Table { name, alias, .. }) = single else {
        let mut names = delete.tables.clone();
        for item in from {
            if let TableFactor::Table { name, .. } = &item.relation {
                names.push(name.clone());
            }
            for join in &item.joins {
                if let TableFactor::Table { name, .. } = &join.relation {
                    names.push(name.clone());
                }
            }
        }
        for name in &names {
            if target(cx, name)?.is_some() {
                return refused("a multi-table DELETE involving a protected relation");
            }
        }
        return Ok(());
    };
    let Some(protected) = target(cx, name)? else {
        return Ok(());
    };
    let qualifier =
        alias.as_ref().map(|a| a.name.clone()).or_else(|| name.0.last().and_then(|p| p.as_ident()).cloned());
    let exprs: Vec<&Expr> = delete.selection.iter().collect();
    masked_reads(
        cx.dialect,
        protected,
        qualifier.as_ref(),
        delete.returning.as_deref().unwrap_or_default(),
        &exprs,
    )?;
    let filters = compile_all(cx.dialect, protected, cx.principal, binder, qualifier.as_ref())?;
    delete.selection = and_all(delete.selection.take(), filters);
    Ok(())
}

/// `f1 AND f2 AND CASE WHEN f1 AND f2 THEN (where) ELSE FALSE END`.
///
/// The filters alone let the database use an index on them; the caller's condition is evaluated
/// only under the CASE, on rows the filters admit. Written as `(where) AND f`, the planner may
/// evaluate the caller's condition first on every row, and one that raises an error on some
/// values (`'x' ~ note`, a `LIKE ... ESCAPE` over a column) would report on rows the caller
/// cannot see.
fn and_all(selection: Option<Expr>, filters: Vec<Expr>) -> Option<Expr> {
    use sqlparser::ast::{BinaryOperator, CaseWhen};
    let conjunction = filters.into_iter().reduce(|left, right| Expr::BinaryOp {
        left: Box::new(left),
        op: BinaryOperator::And,
        right: Box::new(right),
    })?;
    let Some(selection) = selection else {
        return Some(conjunction);
    };
    let guarded = Expr::Case {
        case_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        end_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        operand: None,
        conditions: vec![CaseWhen {
            condition: conjunction.clone(),
            result: Expr::Nested(Box::new(selection)),
        }],
        else_result: Some(Box::new(Expr::value(Value::Boolean(false)))),
    };
    Some(Expr::BinaryOp { left: Box::new(conjunction), op: BinaryOperator::And, right: Box::new(guarded) })
}

/// The `column = value` pairs new rows must satisfy; refused when a filter is not of that form.
fn required(cx: &WriteContext<'_>, protected: &Protected) -> Result<Vec<(String, String)>, RewriteError> {
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
fn filtered_columns(cx: &WriteContext<'_>, protected: &Protected) -> Vec<String> {
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

/// Refuses a write whose expressions or RETURNING read a masked column of its target, or the
/// target's whole row. Unqualified names count as the target's (the conservative reading when
/// another FROM item has a column of the same name).
fn masked_reads(
    dialect: Dialect,
    protected: &Protected,
    qualifier: Option<&Ident>,
    returning: &[SelectItem],
    exprs: &[&Expr],
) -> Result<(), RewriteError> {
    if protected.masks.is_empty() {
        return Ok(());
    }
    let qualifier = qualifier.map(|q| dialect.normalise_relation_ident(q));
    let relation = protected.relation.to_string();
    let mut found: Option<String> = None;
    let mut check = |expr: &Expr| {
        let _ = expr.visit(&mut MaskedRefs {
            dialect,
            protected,
            qualifier: qualifier.as_deref(),
            found: &mut found,
        });
    };
    for item in returning {
        match item {
            SelectItem::Wildcard(_) => {
                return refused(format!("RETURNING * of {relation}, which has masked columns"));
            }
            SelectItem::QualifiedWildcard(..) => {
                return refused(format!("RETURNING t.* of {relation}, which has masked columns"));
            }
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => check(e),
            SelectItem::ExprWithAliases { expr, .. } => check(expr),
        }
    }
    for expr in exprs {
        check(expr);
    }
    match found {
        Some(column) => refused(format!("a write that reads the masked column {column} of {relation}")),
        None => Ok(()),
    }
}

struct MaskedRefs<'a> {
    dialect: Dialect,
    protected: &'a Protected,
    qualifier: Option<&'a str>,
    found: &'a mut Option<String>,
}

impl Visitor for MaskedRefs<'_> {
    type Break = ();
    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        let column = match expr {
            Expr::Identifier(ident) => {
                let name = self.dialect.normalise_column_ident(ident);
                // A bare name equal to the target's: PostgreSQL reads it as the whole row.
                if Some(self.dialect.normalise_relation_ident(ident).as_str()) == self.qualifier {
                    Some("(the whole row)".to_owned())
                } else {
                    self.protected.mask_of(self.dialect, &name).map(|_| name)
                }
            }
            Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                [.., q, c] if Some(self.dialect.normalise_relation_ident(q).as_str()) == self.qualifier => {
                    let name = self.dialect.normalise_column_ident(c);
                    self.protected.mask_of(self.dialect, &name).map(|_| name)
                }
                _ => None,
            },
            _ => None,
        };
        match column {
            Some(column) => {
                *self.found = Some(column);
                ControlFlow::Break(())
            }
            None => ControlFlow::Continue(()),
        }
    }
}

/// Whether `expr` is a literal or a caller parameter equal to `want`.
fn satisfies(expr: &Expr, want: &str, numbers: &[usize], params: &[Json]) -> bool {
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
struct Placeholders {
    dialect: Dialect,
    highest: usize,
}

impl Placeholders {
    fn new(dialect: Dialect) -> Self {
        Placeholders { dialect, highest: 0 }
    }

    /// The 1-based parameter numbers of the placeholders in `expr`, in order.
    fn numbers(&mut self, expr: &Expr) -> Vec<usize> {
        struct Collect<'p>(&'p mut Placeholders, Vec<usize>);
        impl Visitor for Collect<'_> {
            type Break = ();
            fn pre_visit_value(&mut self, value: &sqlparser::ast::ValueWithSpan) -> ControlFlow<()> {
                if let Value::Placeholder(p) = &value.value {
                    let n = match (self.0.dialect, p.strip_prefix(['$', '?']).filter(|d| !d.is_empty())) {
                        (Dialect::MySql, _) | (_, None) => self.0.highest + 1,
                        (_, Some(digits)) => digits.parse().unwrap_or(0),
                    };
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
