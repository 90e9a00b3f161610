//! Queries: WITH, set operations, SELECT clauses, and the ORDER BY / LIMIT tail.

use sqlparser::ast::{
    Cte, Distinct, GroupByExpr, LimitClause, NamedWindowExpr, OrderByKind, Query, Select, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, Statement, With,
};

use super::Resolver;
use super::scope::Target;
use crate::analyse::{Access, AnalyseError, ColumnUsage};

fn unsupported<T>(what: &str) -> Result<T, AnalyseError> {
    Err(AnalyseError::Unsupported(what.into()))
}

impl Resolver {
    /// Walks a query in its own CTE scope.
    pub(crate) fn query(&mut self, query: &Query) -> Result<(), AnalyseError> {
        self.visited.queries.insert(std::ptr::from_ref(query).addr());
        if query.settings.is_some() {
            return unsupported("SETTINGS");
        }
        if query.format_clause.is_some() {
            return unsupported("FORMAT");
        }
        if query.for_clause.is_some() {
            return unsupported("FOR XML/JSON/BROWSE");
        }
        if !query.pipe_operators.is_empty() {
            return unsupported("pipe operators");
        }
        let has_with = query.with.is_some();
        if let Some(with) = &query.with {
            self.with(with)?;
        }
        match query.body.as_ref() {
            SetExpr::Select(select) => self.select(select, Some(query))?,
            body => {
                self.set_expr(body)?;
                // ORDER BY after a set operation names output columns, not any base relation's.
                self.scopes.push_opaque_frame();
                self.query_tail(query)?;
                self.scopes.pop_frame();
            }
        }
        if has_with {
            self.scopes.pop_ctes();
        }
        Ok(())
    }

    /// A CTE is visible after its definition, in its own body only under RECURSIVE. Later
    /// definitions under RECURSIVE are treated as tables: over-reporting a table read is safe,
    /// taking a real table for a CTE would not be.
    fn with(&mut self, with: &With) -> Result<(), AnalyseError> {
        self.scopes.push_ctes();
        for cte in &with.cte_tables {
            let Cte { alias, query, from, .. } = cte;
            if from.is_some() {
                return unsupported("CTE with FROM");
            }
            let name = self.dialect.normalise_relation_ident(&alias.name);
            if with.recursive {
                self.scopes.add_cte(name.clone());
            }
            self.query(query)?;
            if !with.recursive {
                self.scopes.add_cte(name);
            }
        }
        Ok(())
    }

    fn set_expr(&mut self, body: &SetExpr) -> Result<(), AnalyseError> {
        match body {
            SetExpr::Select(select) => self.select(select, None),
            SetExpr::Query(query) => self.query(query),
            SetExpr::SetOperation { left, right, .. } => {
                self.set_expr(left)?;
                self.set_expr(right)
            }
            SetExpr::Values(values) => {
                self.scopes.push_frame();
                self.walk_exprs(&values.rows, ColumnUsage::Projection)?;
                self.scopes.pop_frame();
                Ok(())
            }
            SetExpr::Table(table) => {
                let Some(name) = &table.table_name else {
                    return unsupported("TABLE without a name");
                };
                let is_cte = table.schema_name.is_none()
                    && self.scopes.is_cte(&self.dialect.normalise_relation_ident(name));
                if !is_cte {
                    let mut relation = sqlparser::ast::ObjectName::from(vec![name.clone()]);
                    if let Some(schema) = &table.schema_name {
                        relation = sqlparser::ast::ObjectName::from(vec![schema.clone(), name.clone()]);
                    }
                    let relation = self.relation_name(&relation)?;
                    self.record_unwrappable(relation.clone());
                    self.record_relation(relation, Access::Read);
                }
                Ok(())
            }
            SetExpr::Insert(statement) | SetExpr::Update(statement) | SetExpr::Delete(statement) => {
                self.nested_dml(statement)
            }
            SetExpr::Merge(_) => Err(AnalyseError::NotAllowed("MERGE".into())),
        }
    }

    /// A data-modifying statement used as a query (PostgreSQL's `WITH x AS (DELETE ...)`).
    fn nested_dml(&mut self, statement: &Statement) -> Result<(), AnalyseError> {
        match statement {
            Statement::Insert(insert) => self.insert(insert),
            Statement::Update(update) => self.update(update),
            Statement::Delete(delete) => self.delete(delete),
            _ => unsupported("statement used as a query"),
        }
    }

    /// Walks one SELECT in a new FROM scope; `tail` is the query whose ORDER BY and LIMIT
    /// belong to this SELECT and so see its FROM items.
    fn select(&mut self, select: &Select, tail: Option<&Query>) -> Result<(), AnalyseError> {
        if select.into.is_some() {
            return Err(AnalyseError::NotAllowed("SELECT INTO".into()));
        }
        if !select.lateral_views.is_empty() {
            return unsupported("LATERAL VIEW");
        }
        if !select.connect_by.is_empty() {
            return unsupported("CONNECT BY");
        }
        if select.top.is_some() {
            return unsupported("TOP");
        }
        if select.value_table_mode.is_some() {
            return unsupported("SELECT AS VALUE/STRUCT");
        }
        if !select.cluster_by.is_empty() || !select.distribute_by.is_empty() || !select.sort_by.is_empty() {
            return unsupported("CLUSTER/DISTRIBUTE/SORT BY");
        }
        self.scopes.push_frame();
        for item in &select.from {
            self.table_with_joins(item)?;
        }
        if let Some(Distinct::On(exprs)) = &select.distinct {
            self.walk_exprs(exprs, ColumnUsage::Grouping)?;
        }
        for item in &select.projection {
            self.select_item(item, ColumnUsage::Projection)?;
        }
        if let Some(exclude) = &select.exclude {
            self.walk_exprs(exclude, ColumnUsage::Projection)?;
        }
        for filter in
            [&select.prewhere, &select.selection, &select.having, &select.qualify].into_iter().flatten()
        {
            self.walk_exprs(filter, ColumnUsage::Filter)?;
        }
        let aliases = output_aliases(select, self.dialect);
        self.record_output_aliases(&aliases);
        let previous = self.scopes.set_output_aliases(aliases);
        let result = self.select_grouping(select, tail);
        self.scopes.set_output_aliases(previous);
        result?;
        self.scopes.pop_frame();
        Ok(())
    }

    fn select_grouping(&mut self, select: &Select, tail: Option<&Query>) -> Result<(), AnalyseError> {
        match &select.group_by {
            GroupByExpr::All(_) => {}
            GroupByExpr::Expressions(exprs, modifiers) => {
                self.walk_exprs(exprs, ColumnUsage::Grouping)?;
                self.walk_exprs(modifiers, ColumnUsage::Grouping)?;
            }
        }
        for window in &select.named_window {
            match &window.1 {
                NamedWindowExpr::NamedWindow(_) => {}
                NamedWindowExpr::WindowSpec(spec) => {
                    self.walk_exprs(&spec.partition_by, ColumnUsage::Grouping)?;
                    self.walk_exprs(&spec.order_by, ColumnUsage::Ordering)?;
                    self.walk_exprs(&spec.window_frame, ColumnUsage::Filter)?;
                }
            }
        }
        if let Some(query) = tail {
            self.query_tail(query)?;
        }
        Ok(())
    }

    /// Projections and RETURNING items. `*` is recorded as the column `*` of every base
    /// relation it expands to, so that policy can see "all columns of t".
    pub(crate) fn select_item(&mut self, item: &SelectItem, usage: ColumnUsage) -> Result<(), AnalyseError> {
        match item {
            SelectItem::UnnamedExpr(expr)
            | SelectItem::ExprWithAlias { expr, .. }
            | SelectItem::ExprWithAliases { expr, .. } => self.walk_exprs(expr, usage),
            SelectItem::Wildcard(options) => {
                if options.opt_replace.is_some() {
                    return unsupported("SELECT * REPLACE");
                }
                for relation in self.scopes.innermost_bases() {
                    self.record_column(Some(relation), "*".into(), usage);
                }
                Ok(())
            }
            SelectItem::QualifiedWildcard(kind, options) => {
                if options.opt_replace.is_some() {
                    return unsupported("SELECT * REPLACE");
                }
                match kind {
                    SelectItemQualifiedWildcardKind::ObjectName(name) => {
                        let qualifier = self.relation_parts(name)?;
                        let relation = match self.scopes.lookup(&qualifier).map(|s| &s.target) {
                            Some(Target::Base(relation)) => Some(relation.clone()),
                            Some(Target::Opaque) => return Ok(()),
                            None => None,
                        };
                        self.record_column(relation, "*".into(), usage);
                        Ok(())
                    }
                    SelectItemQualifiedWildcardKind::Expr(expr) => self.walk_exprs(expr, usage),
                }
            }
        }
    }

    fn query_tail(&mut self, query: &Query) -> Result<(), AnalyseError> {
        if let Some(order_by) = &query.order_by {
            if order_by.interpolate.is_some() {
                return unsupported("INTERPOLATE");
            }
            if let OrderByKind::Expressions(exprs) = &order_by.kind {
                self.walk_exprs(exprs, ColumnUsage::Ordering)?;
            }
        }
        match &query.limit_clause {
            None => {}
            Some(LimitClause::LimitOffset { limit, offset, limit_by }) => {
                self.walk_exprs(limit, ColumnUsage::Filter)?;
                if let Some(offset) = offset {
                    self.walk_exprs(&offset.value, ColumnUsage::Filter)?;
                }
                self.walk_exprs(limit_by, ColumnUsage::Filter)?;
            }
            Some(LimitClause::OffsetCommaLimit { offset, limit }) => {
                self.walk_exprs(offset, ColumnUsage::Filter)?;
                self.walk_exprs(limit, ColumnUsage::Filter)?;
            }
        }
        if let Some(fetch) = &query.fetch {
            self.walk_exprs(&fetch.quantity, ColumnUsage::Filter)?;
        }
        Ok(())
    }
}

/// The select list's aliases, which ORDER BY and GROUP BY may name instead of columns.
fn output_aliases(select: &Select, dialect: crate::analyse::Dialect) -> Vec<String> {
    select
        .projection
        .iter()
        .filter_map(|item| match item {
            SelectItem::ExprWithAlias { alias, .. } => Some(dialect.normalise_column_ident(alias)),
            _ => None,
        })
        .collect()
}
