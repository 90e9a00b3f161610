//! FROM items and joins: each registers the name columns can qualify with.

use sqlparser::ast::{JoinConstraint, JoinOperator, ObjectName, TableAlias, TableFactor, TableWithJoins};

use super::Resolver;
use super::scope::Source;
use crate::analyse::{Access, AnalyseError, ColumnUsage, RelationName};

fn unsupported<T>(what: &str) -> Result<T, AnalyseError> {
    Err(AnalyseError::Unsupported(what.into()))
}

/// The `ON` / `USING` / `NATURAL` constraint of a join operator that has one in the usual
/// form; `None` for APPLY, ASOF and operators the resolver does not know.
pub(crate) fn join_constraint(operator: &JoinOperator) -> Option<&JoinConstraint> {
    match operator {
        JoinOperator::Join(c)
        | JoinOperator::Inner(c)
        | JoinOperator::Left(c)
        | JoinOperator::LeftOuter(c)
        | JoinOperator::Right(c)
        | JoinOperator::RightOuter(c)
        | JoinOperator::FullOuter(c)
        | JoinOperator::CrossJoin(c)
        | JoinOperator::Semi(c)
        | JoinOperator::LeftSemi(c)
        | JoinOperator::RightSemi(c)
        | JoinOperator::Anti(c)
        | JoinOperator::LeftAnti(c)
        | JoinOperator::RightAnti(c)
        | JoinOperator::StraightJoin(c) => Some(c),
        _ => None,
    }
}

impl Resolver {
    /// Walks a FROM item and its joins, registering each in the innermost scope; join
    /// conditions are walked once both sides are visible.
    pub(crate) fn table_with_joins(&mut self, item: &TableWithJoins) -> Result<(), AnalyseError> {
        let mark = self.scopes.mark();
        self.table_factor(&item.relation)?;
        for join in &item.joins {
            self.table_factor(&join.relation)?;
            let constraint = match (join_constraint(&join.join_operator), &join.join_operator) {
                (Some(constraint), _) => constraint,
                (None, JoinOperator::CrossApply | JoinOperator::OuterApply) => &JoinConstraint::None,
                (None, JoinOperator::AsOf { match_condition, constraint }) => {
                    self.walk_exprs(match_condition, ColumnUsage::Join)?;
                    constraint
                }
                (None, _) => return unsupported("join operator"),
            };
            self.join_constraint(constraint, mark)?;
        }
        Ok(())
    }

    /// `USING (c)` names a column of both sides; it is recorded against every base relation
    /// of the join tree so far, since without the catalog it cannot be narrowed further.
    fn join_constraint(&mut self, constraint: &JoinConstraint, mark: usize) -> Result<(), AnalyseError> {
        match constraint {
            JoinConstraint::On(expr) => self.walk_exprs(expr, ColumnUsage::Join),
            JoinConstraint::Using(columns) => {
                let relations = self.scopes.bases_since(mark);
                for column in columns {
                    let Some(ident) = column.0.last().and_then(|part| part.as_ident()) else {
                        return unsupported("USING column");
                    };
                    let name = self.dialect.normalise_column_ident(ident);
                    if relations.is_empty() {
                        self.record_column(None, name.clone(), ColumnUsage::Join);
                    }
                    for relation in &relations {
                        self.record_column(Some(relation.clone()), name.clone(), ColumnUsage::Join);
                    }
                }
                Ok(())
            }
            JoinConstraint::UsingAlias(..) => unsupported("USING ... AS"),
            JoinConstraint::Natural | JoinConstraint::None => Ok(()),
        }
    }

    /// A FROM item's alias, also recorded as a name that may appear where a column could
    /// (PostgreSQL's whole-row references: `row_to_json(c)`).
    fn alias_name(&mut self, alias: Option<&TableAlias>) -> Option<String> {
        let name = alias.map(|alias| self.dialect.normalise_relation_ident(&alias.name));
        if let Some(name) = &name {
            self.record_output_aliases(std::slice::from_ref(name));
        }
        name
    }

    /// A table-valued function: not a relation, but its arguments are walked.
    fn table_function<V: sqlparser::ast::Visit>(
        &mut self,
        name: &ObjectName,
        args: &V,
        alias: Option<&TableAlias>,
    ) -> Result<(), AnalyseError> {
        let written: Vec<String> =
            name.0.iter().filter_map(|p| p.as_ident()).map(|i| i.value.to_lowercase()).collect();
        let written = written.join(".");
        if !self.dialect.allows_table_function(&written) {
            return Err(AnalyseError::Unsupported(format!(
                "the table function {written} (not on the allow-list of table functions)"
            )));
        }
        self.record_function(name);
        self.walk_exprs(args, ColumnUsage::Projection)?;
        let visible = self.alias_name(alias).or_else(|| self.relation_parts(name).ok()?.pop());
        if let Some(source) = Source::opaque(visible) {
            self.scopes.add_source(source);
        }
        Ok(())
    }

    /// Reads a named table, unless the name is a CTE in force.
    pub(crate) fn table_factor(&mut self, factor: &TableFactor) -> Result<(), AnalyseError> {
        match factor {
            TableFactor::Table { name, alias, args, with_hints, version, json_path, .. } => {
                if !with_hints.is_empty() {
                    return unsupported("table hints");
                }
                if version.is_some() {
                    return unsupported("time-travel table reference");
                }
                if json_path.is_some() {
                    return unsupported("JSON path table reference");
                }
                if let Some(args) = args {
                    return self.table_function(name, args, alias.as_ref());
                }
                // `t (x, y)` renames the columns by position, which only the catalog could map back:
                // the whole relation counts as read, and names through the alias are not its own.
                let renamed = alias.as_ref().is_some_and(|a| !a.columns.is_empty());
                let alias = self.alias_name(alias.as_ref());
                if self.is_cte(name) {
                    let visible = alias.or_else(|| self.relation_parts(name).ok()?.pop());
                    if let Some(source) = Source::opaque(visible) {
                        self.scopes.add_source(source);
                    }
                    return Ok(());
                }
                let relation = self.relation_name(name)?;
                self.record_relation(relation.clone(), Access::Read);
                self.record_read_reference(name, relation.clone());
                if renamed {
                    self.record_column(Some(relation), "*".into(), ColumnUsage::Projection);
                    if let Some(source) = Source::opaque(alias) {
                        self.scopes.add_source(source);
                    }
                } else {
                    self.scopes.add_source(Source::base(relation, alias));
                }
                Ok(())
            }
            TableFactor::Derived { subquery, alias, .. } => {
                self.query(subquery)?;
                if let Some(source) = Source::opaque(self.alias_name(alias.as_ref())) {
                    self.scopes.add_source(source);
                }
                Ok(())
            }
            TableFactor::Function { name, args, alias, .. } => {
                self.table_function(name, args, alias.as_ref())
            }
            TableFactor::TableFunction { expr, alias } => {
                self.walk_exprs(expr, ColumnUsage::Projection)?;
                if let Some(source) = Source::opaque(self.alias_name(alias.as_ref())) {
                    self.scopes.add_source(source);
                }
                Ok(())
            }
            TableFactor::UNNEST { alias, array_exprs, .. } => {
                self.table_function(&ObjectName::from(vec!["unnest".into()]), array_exprs, alias.as_ref())
            }
            TableFactor::JsonTable { json_expr, columns, alias, .. } => {
                self.table_function(&ObjectName::from(vec!["json_table".into()]), json_expr, alias.as_ref())?;
                self.walk_exprs(columns, ColumnUsage::Projection)
            }
            TableFactor::NestedJoin { table_with_joins, alias } => {
                self.table_with_joins(table_with_joins)?;
                if let Some(source) = Source::opaque(self.alias_name(alias.as_ref())) {
                    self.scopes.add_source(source);
                }
                Ok(())
            }
            TableFactor::OpenJsonTable { .. } => unsupported("OPENJSON"),
            TableFactor::Pivot { .. } => unsupported("PIVOT"),
            TableFactor::Unpivot { .. } | TableFactor::UnpivotExpr { .. } => unsupported("UNPIVOT"),
            TableFactor::MatchRecognize { .. } => unsupported("MATCH_RECOGNIZE"),
            TableFactor::XmlTable { .. } => unsupported("XMLTABLE"),
            _ => unsupported("table reference"),
        }
    }

    /// The target of UPDATE / DELETE / INSERT: a named base table, never a CTE.
    pub(crate) fn target_table(
        &mut self,
        factor: &TableFactor,
    ) -> Result<(RelationName, Option<String>), AnalyseError> {
        match factor {
            TableFactor::Table {
                name,
                alias,
                args: None,
                with_hints,
                version: None,
                json_path: None,
                ..
            } if with_hints.is_empty() => {
                let relation = self.relation_name(name)?;
                self.record_target(name);
                Ok((relation, self.alias_name(alias.as_ref())))
            }
            _ => unsupported("a data-modifying statement's target that is not a table"),
        }
    }
}
