//! Reads: every FROM item that names a protected relation becomes a derived table that applies
//! the relation's row filters and masks, under the caller's alias.
//!
//! The resolver already decided which FROM items are base relations and which are CTEs of the
//! same name; it recorded their source positions, and only those exact nodes are replaced here.
//! Each derived table is also an optimisation fence (`OFFSET 0` on PostgreSQL, a `LIMIT` the
//! planners will not push conditions through on MySQL/MariaDB and SQLite): otherwise the planner
//! may evaluate the caller's own conditions on rows before the row filter has removed them, and
//! a condition that raises an error (`1/(x - 42)`) would tell the caller about rows it cannot see.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use sqlparser::ast::{Ident, Query, Statement, TableAlias, TableFactor, VisitMut, VisitorMut};
use sqlparser::parser::{Parser, ParserOptions};

use crate::analyse::{Dialect, RefPosition, References, RelationName};
use crate::auth::Principal;
use crate::execute::Catalog;

use super::bind::Binder;
use super::error::{RewriteError, refused};
use super::mask::render_mask;
use super::predicate::compile_all;
use super::protect::{Plan, Protected, column_type};
use super::pushdown;

/// What a read rewrite needs besides the statement.
pub(crate) struct ReadContext<'a> {
    pub(crate) dialect: Dialect,
    pub(crate) references: &'a References,
    pub(crate) catalog: &'a Catalog,
    pub(crate) plan: &'a Plan,
    pub(crate) principal: &'a Principal,
    pub(crate) secret: Option<&'a str>,
    /// The caller's parameters, copied for conditions moved inside a fence.
    pub(crate) params: &'a [serde_json::Value],
}

/// Replaces every protected FROM item of `statement`; returns, per replaced reference, the
/// alias it kept and the protected relation behind it.
pub(crate) fn wrap_reads(
    statement: &mut Statement,
    cx: &ReadContext<'_>,
    binder: &mut Binder,
) -> Result<Vec<(Ident, RelationName)>, RewriteError> {
    // Every read of a protected relation must be a FROM item this pass can replace.
    let mut expected: BTreeMap<RefPosition, &Protected> = BTreeMap::new();
    for (at, written) in &cx.references.reads {
        if cx.references.targets.contains(at) {
            continue;
        }
        let (key, _) =
            cx.catalog.resolve(written).ok_or_else(|| RewriteError::UnknownRelation(written.to_string()))?;
        if let Some(protected) = cx.plan.get(key) {
            expected.insert(*at, protected);
        }
    }
    for written in &cx.references.unwrappable {
        if let Some((key, _)) = cx.catalog.resolve(written)
            && cx.plan.contains_key(key)
        {
            return refused(format!("{} is read in a form that cannot be filtered (e.g. TABLE t)", key));
        }
    }
    let pushed = pushdown::conditions(cx.dialect, statement, &expected, cx.params, binder);
    let mut wrapper = Wrapper { cx, expected, pushed, binder, wrapped: Vec::new(), qualified: Vec::new() };
    if let ControlFlow::Break(error) = statement.visit(&mut wrapper) {
        return Err(error);
    }
    if !wrapper.qualified.is_empty() {
        let _ = statement.visit(&mut Unqualify { dialect: cx.dialect, names: &wrapper.qualified });
    }
    if let Some(protected) = wrapper.expected.values().next() {
        return Err(RewriteError::Verification(format!(
            "a reference to {} was not found again",
            protected.relation
        )));
    }
    Ok(wrapper.wrapped)
}

struct Wrapper<'a, 'b> {
    cx: &'a ReadContext<'a>,
    expected: BTreeMap<RefPosition, &'a Protected>,
    /// Caller conditions to copy inside each fence (see `pushdown`).
    pushed: BTreeMap<RefPosition, Vec<String>>,
    binder: &'b mut Binder,
    wrapped: Vec<(Ident, RelationName)>,
    /// `(schema, name)` of wrapped references written schema-qualified without an alias.
    qualified: Vec<(String, String)>,
}

/// Rewrites `schema.t.column` to `t.column` for wrapped references written `schema.t`: the
/// derived table that replaces them can only be named `t`.
struct Unqualify<'a> {
    dialect: Dialect,
    names: &'a [(String, String)],
}

impl VisitorMut for Unqualify<'_> {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &mut sqlparser::ast::Expr) -> ControlFlow<()> {
        if let sqlparser::ast::Expr::CompoundIdentifier(parts) = expr
            && let [schema, name, _column] = parts.as_slice()
        {
            let written =
                (self.dialect.normalise_relation_ident(schema), self.dialect.normalise_relation_ident(name));
            if self.names.contains(&written) {
                parts.remove(0);
            }
        }
        ControlFlow::Continue(())
    }
}

impl VisitorMut for Wrapper<'_, '_> {
    type Break = RewriteError;

    // Post-visit: the replacement's own FROM item is never visited again.
    fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<RewriteError> {
        let TableFactor::Table { name, alias, .. } = factor else {
            return ControlFlow::Continue(());
        };
        let Some(at) = References::position(name) else {
            return ControlFlow::Continue(());
        };
        let Some(protected) = self.expected.remove(&at) else {
            return ControlFlow::Continue(());
        };
        let pushed = self.pushed.remove(&at).unwrap_or_default();
        if alias.is_none()
            && let [schema, table] = name.0.as_slice()
            && let (Some(schema), Some(table)) = (schema.as_ident(), table.as_ident())
        {
            self.qualified.push((
                self.cx.dialect.normalise_relation_ident(schema),
                self.cx.dialect.normalise_relation_ident(table),
            ));
        }
        let alias = alias.clone().unwrap_or_else(|| TableAlias {
            explicit: true,
            name: name.0.last().and_then(|p| p.as_ident()).cloned().unwrap_or_else(|| Ident::new("t")),
            columns: Vec::new(),
            at: None,
        });
        match plain_reference(factor).and_then(|()| derived(self.cx, protected, &pushed, self.binder)) {
            Ok(subquery) => {
                self.wrapped.push((alias.name.clone(), protected.relation.clone()));
                *factor = TableFactor::Derived {
                    lateral: false,
                    subquery: Box::new(subquery),
                    alias: Some(alias),
                    sample: None,
                };
                ControlFlow::Continue(())
            }
            Err(error) => ControlFlow::Break(error),
        }
    }
}

/// Refuses table modifiers a derived table cannot carry over.
fn plain_reference(factor: &TableFactor) -> Result<(), RewriteError> {
    let TableFactor::Table {
        args,
        with_hints,
        version,
        with_ordinality,
        partitions,
        json_path,
        sample,
        index_directives,
        inheritance,
        ..
    } = factor
    else {
        return Ok(());
    };
    if args.is_some()
        || !with_hints.is_empty()
        || version.is_some()
        || *with_ordinality
        || !partitions.is_empty()
        || json_path.is_some()
        || sample.is_some()
        || !index_directives.is_empty()
        || inheritance.is_some()
    {
        return refused("table modifiers (hints, partitions, samples, ONLY) on a protected relation");
    }
    Ok(())
}

/// `SELECT c1, <mask>(c2) AS c2, … FROM "schema"."t" WHERE <filters> AND <pushed> <fence>` for
/// `protected`, where `pushed` are caller conditions safe to evaluate on any row.
fn derived(
    cx: &ReadContext<'_>,
    protected: &Protected,
    pushed: &[String],
    binder: &mut Binder,
) -> Result<Query, RewriteError> {
    let dialect = cx.dialect;
    let mut list = Vec::with_capacity(protected.columns.len());
    for (index, column) in protected.columns.iter().enumerate() {
        let quoted = dialect.quote_ident(&column.name);
        match protected.masks.get(&index) {
            None => list.push(quoted),
            Some(mask) => {
                let rendered = render_mask(
                    dialect.mask_dialect(),
                    mask.kind,
                    &mask.args,
                    &quoted,
                    column_type(&column.type_name),
                    cx.secret,
                )
                .map_err(|source| RewriteError::BadMask {
                    plugin: mask.plugin.clone(),
                    relation: protected.relation.to_string(),
                    column: column.name.clone(),
                    source,
                })?;
                list.push(format!("{rendered} AS {quoted}"));
            }
        }
    }
    let table = match &protected.relation.schema {
        Some(schema) => {
            format!("{}.{}", dialect.quote_ident(schema), dialect.quote_ident(&protected.relation.name))
        }
        None => dialect.quote_ident(&protected.relation.name),
    };
    let filters = compile_all(dialect, protected, cx.principal, binder, None)?;
    let mut text = format!("SELECT {} FROM {table}", list.join(", "));
    if !filters.is_empty() || !pushed.is_empty() {
        let mut conditions: Vec<String> = filters.iter().map(ToString::to_string).collect();
        conditions.extend(pushed.iter().map(|c| format!("({c})")));
        text.push_str(" WHERE ");
        text.push_str(&conditions.join(" AND "));
    }
    text.push_str(dialect.fence());
    parse_query(dialect, &text)
        .map_err(|e| RewriteError::Verification(format!("derived table for {}: {e}", protected.relation)))
}

fn parse_query(dialect: Dialect, text: &str) -> Result<Query, String> {
    let options = ParserOptions::new().with_unescape(false);
    let mut parser = Parser::new(dialect.parser_dialect())
        .with_recursion_limit(128)
        .with_options(options)
        .try_with_sql(text)
        .map_err(|e| e.to_string())?;
    parser.parse_query().map(|q| *q).map_err(|e| e.to_string())
}
