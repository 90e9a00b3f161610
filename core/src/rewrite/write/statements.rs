//! The write rules, statement by statement (see the module docs of `write`).

use serde_json::Value as Json;
use sqlparser::ast::{
    AssignmentTarget, Delete, Expr, FromTable, Insert, ObjectName, SetExpr, Statement, TableFactor,
    TableObject, Update, Value,
};

use crate::analyse::{Dialect, References, RelationName};
use crate::auth::Principal;
use crate::execute::Catalog;

use super::super::bind::Binder;
use super::super::error::{RewriteError, refused};
use super::super::predicate::compile_all;
use super::super::protect::{Plan, Protected, same_column};
use super::names;
use super::rows::{Placeholders, check_rows, filtered_columns, required, satisfies};

/// What the write rules need besides the statement.
pub(crate) struct WriteContext<'a> {
    pub(crate) dialect: Dialect,
    pub(crate) catalog: &'a Catalog,
    pub(crate) plan: &'a Plan,
    pub(crate) principal: &'a Principal,
    pub(crate) params: &'a [Json],
    /// Where the statement names base relations.
    pub(crate) references: &'a References,
    /// Whether the statement reads a relation that has masks (outside its own target).
    pub(crate) reads_masked: bool,
}

/// Applies the write rules to a top-level INSERT, UPDATE or DELETE; other statements pass.
pub(crate) fn rewrite(
    statement: &mut Statement,
    cx: &WriteContext<'_>,
    binder: &mut Binder,
) -> Result<(), RewriteError> {
    if let Some(target) = names_target(statement, cx)? {
        names::check(cx.dialect, statement, cx.references, &target)?;
    }
    match statement {
        Statement::Insert(insert) => self::insert(insert, cx),
        Statement::Update(update) => self::update(update, cx, binder),
        Statement::Delete(delete) => self::delete(delete, cx, binder),
        _ => Ok(()),
    }
}

/// The single protected target of a write, as [`names::check`] needs it; `None` for other
/// statements and for writes the statement rules refuse anyway (several targets).
fn names_target<'s>(
    statement: &'s Statement,
    cx: &'s WriteContext<'_>,
) -> Result<Option<names::Target<'s>>, RewriteError> {
    let last = |name: &'s ObjectName| name.0.last().and_then(|p| p.as_ident());
    let column_names = |names: &'s [ObjectName]| names.iter().filter_map(last).collect::<Vec<_>>();
    let (name, alias, assigned, writes_all, returning) = match statement {
        Statement::Insert(insert) => {
            let TableObject::TableName(name) = &insert.table else {
                return Ok(None);
            };
            let mut assigned = column_names(&insert.columns);
            for assignment in &insert.assignments {
                if let AssignmentTarget::ColumnName(column) = &assignment.target {
                    assigned.extend(last(column));
                }
            }
            let writes_all = insert.columns.is_empty() && insert.assignments.is_empty();
            (name, insert.table_alias.as_ref().map(|a| &a.alias), assigned, writes_all, &insert.returning)
        }
        Statement::Update(update) => {
            let TableFactor::Table { name, alias, .. } = &update.table.relation else {
                return Ok(None);
            };
            let mut assigned = Vec::new();
            for assignment in &update.assignments {
                match &assignment.target {
                    AssignmentTarget::ColumnName(column) => assigned.extend(last(column)),
                    AssignmentTarget::Tuple(columns) => assigned.extend(column_names(columns)),
                }
            }
            (name, alias.as_ref().map(|a| &a.name), assigned, false, &update.returning)
        }
        Statement::Delete(delete) => {
            let (FromTable::WithFromKeyword(items) | FromTable::WithoutKeyword(items)) = &delete.from;
            let ([item], true) = (items.as_slice(), delete.tables.is_empty()) else {
                return Ok(None);
            };
            let TableFactor::Table { name, alias, .. } = &item.relation else {
                return Ok(None);
            };
            (name, alias.as_ref().map(|a| &a.name), Vec::new(), false, &delete.returning)
        }
        _ => return Ok(None),
    };
    let Some(protected) = target(cx, name)? else {
        return Ok(None);
    };
    if writes_all
        && let Some(column) = protected.masked_columns().find(|c| !protected.is_writable(cx.dialect, c))
    {
        return Err(RewriteError::MaskedWrite {
            relation: protected.relation.to_string(),
            column: column.to_owned(),
        });
    }
    let names = last(name).into_iter().chain(alias).collect();
    Ok(Some(names::Target {
        protected,
        names,
        assigned,
        returning: returning.as_deref().unwrap_or_default(),
    }))
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
