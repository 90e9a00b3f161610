//! Which output columns carry masked values, for the response's column metadata.
//!
//! For a plain top-level SELECT the select list is followed item by item: `*` and `t.*`
//! expand over the FROM items with the catalog, and an expression is masked when it reads a
//! masked column directly (`email`, `c.email`, `upper(email)`), taking the strictest such mask.
//! Where the shape cannot be followed (set operations, `*` over a derived table), a column is
//! reported masked when its name is that of a masked column read by the statement.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, Ident, JoinConstraint, JoinOperator, Query, SelectItem, SelectItemQualifiedWildcardKind, SetExpr,
    Statement, TableFactor, Visit, Visitor,
};

use crate::analyse::Dialect;
use crate::execute::Catalog;
use crate::policy::MaskKind;

use super::protect::{Plan, Protected};
use super::write::relation_of;

/// Masks of the statement's output columns.
#[derive(Debug, Clone, Default)]
pub struct OutputMasks {
    /// By position, when the select list could be followed; `None` in an entry: not masked.
    by_position: Option<Vec<Option<MaskKind>>>,
    /// By lower-case name: every masked column the statement reads.
    by_name: BTreeMap<String, MaskKind>,
}

impl OutputMasks {
    /// The mask of output column `index`, named `name`.
    pub fn mask(&self, index: usize, name: &str) -> Option<MaskKind> {
        match &self.by_position {
            Some(positions) => positions.get(index).copied().flatten(),
            None => self.by_name.get(&name.to_lowercase()).copied(),
        }
    }
}

/// Works out the output masks of `statement`, given the aliases its protected FROM items kept.
pub(crate) fn output_masks(
    dialect: Dialect,
    statement: &Statement,
    wrapped: &[(Ident, crate::analyse::RelationName)],
    plan: &Plan,
    catalog: &Catalog,
) -> OutputMasks {
    let mut by_name = BTreeMap::new();
    for (_, relation) in wrapped {
        if let Some(protected) = plan.get(relation) {
            for (index, mask) in &protected.masks {
                if let Some(column) = protected.columns.get(*index) {
                    let entry = by_name.entry(column.name.to_lowercase()).or_insert(mask.kind);
                    *entry = (*entry).max(mask.kind);
                }
            }
        }
    }
    let by_position = match statement {
        Statement::Query(query) => positions(dialect, query, wrapped, plan, catalog),
        _ => None,
    };
    OutputMasks { by_position, by_name }
}

/// One FROM item as the select list sees it.
struct Source<'a> {
    name: String,
    /// Its columns and their masks, when known.
    columns: Option<Vec<(String, Option<MaskKind>)>>,
    protected: Option<&'a Protected>,
}

fn positions(
    dialect: Dialect,
    query: &Query,
    wrapped: &[(Ident, crate::analyse::RelationName)],
    plan: &Plan,
    catalog: &Catalog,
) -> Option<Vec<Option<MaskKind>>> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    let mut sources = Vec::new();
    // What `*` expands to, built as the databases build it: a `USING` or `NATURAL` join lists
    // its join columns once, first, then the other columns of each side.
    let mut star: Option<Vec<(String, Option<MaskKind>)>> = Some(Vec::new());
    for item in &select.from {
        let first = source(dialect, &item.relation, wrapped, plan, catalog)?;
        let mut joined = first.columns.clone();
        sources.push(first);
        for join in &item.joins {
            let right = source(dialect, &join.relation, wrapped, plan, catalog)?;
            joined = match (joined, right.columns.clone()) {
                (Some(left), Some(right)) => {
                    merge(dialect, left, right, join_columns(dialect, &join.join_operator))
                }
                _ => None,
            };
            sources.push(right);
        }
        star = star.zip(joined).map(|(mut all, more)| {
            all.extend(more);
            all
        });
    }
    let mut out = Vec::new();
    for item in &select.projection {
        match item {
            SelectItem::Wildcard(_) => out.extend(star.as_ref()?.iter().map(|(_, m)| *m)),
            SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(name), _) => {
                let qualifier = name.0.last()?.as_ident()?;
                let wanted = dialect.normalise_relation_ident(qualifier);
                let source = sources.iter().find(|s| s.name == wanted)?;
                out.extend(source.columns.as_ref()?.iter().map(|(_, m)| *m));
            }
            SelectItem::QualifiedWildcard(..) => return None,
            SelectItem::UnnamedExpr(expr)
            | SelectItem::ExprWithAlias { expr, .. }
            | SelectItem::ExprWithAliases { expr, .. } => {
                let mut reads = Reads { dialect, sources: &sources, mask: None, depth: 0 };
                let _ = expr.visit(&mut reads);
                out.push(reads.mask);
            }
        }
    }
    Some(out)
}

/// How a join merges columns for `*`: by the `USING` list, by every shared name (`NATURAL`),
/// or not at all.
enum Merge {
    Using(Vec<String>),
    Natural,
    None,
}

fn join_columns(dialect: Dialect, operator: &JoinOperator) -> Merge {
    let Some(constraint) = crate::analyse::join_constraint(operator) else {
        return Merge::None;
    };
    match constraint {
        JoinConstraint::Using(names) => Merge::Using(
            names
                .iter()
                .filter_map(|n| n.0.last().and_then(|p| p.as_ident()))
                .map(|i| dialect.normalise_column_ident(i))
                .collect(),
        ),
        JoinConstraint::Natural => Merge::Natural,
        _ => Merge::None,
    }
}

/// The columns of `left JOIN right` under `merge`; a merged column takes the stricter mask of
/// its two sides (which side's value shows depends on the join type and the row).
fn merge(
    dialect: Dialect,
    left: Vec<(String, Option<MaskKind>)>,
    right: Vec<(String, Option<MaskKind>)>,
    how: Merge,
) -> Option<Vec<(String, Option<MaskKind>)>> {
    let same = |a: &str, b: &str| dialect.column_key(a) == dialect.column_key(b);
    let shared: Vec<String> = match how {
        Merge::None => return Some(left.into_iter().chain(right).collect()),
        Merge::Using(names) => names,
        Merge::Natural => left
            .iter()
            .filter(|(l, _)| right.iter().any(|(r, _)| same(l, r)))
            .map(|(l, _)| l.clone())
            .collect(),
    };
    let mut out = Vec::new();
    for name in &shared {
        let l = left.iter().find(|(c, _)| same(c, name))?;
        let r = right.iter().find(|(c, _)| same(c, name))?;
        out.push((l.0.clone(), l.1.max(r.1)));
    }
    let rest = |side: Vec<(String, Option<MaskKind>)>| {
        side.into_iter().filter(|(c, _)| !shared.iter().any(|n| same(c, n))).collect::<Vec<_>>()
    };
    out.extend(rest(left));
    out.extend(rest(right));
    Some(out)
}

fn source<'a>(
    dialect: Dialect,
    factor: &TableFactor,
    wrapped: &[(Ident, crate::analyse::RelationName)],
    plan: &'a Plan,
    catalog: &Catalog,
) -> Option<Source<'a>> {
    match factor {
        TableFactor::Derived { alias: Some(alias), .. } => {
            let name = dialect.normalise_relation_ident(&alias.name);
            let protected = wrapped
                .iter()
                .find(|(a, _)| dialect.normalise_relation_ident(a) == name)
                .and_then(|(_, relation)| plan.get(relation));
            let columns = protected.map(|p| {
                p.columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.name.clone(), p.masks.get(&i).map(|m| m.kind)))
                    .collect()
            });
            Some(Source { name, columns, protected })
        }
        TableFactor::Table { name, alias, args: None, .. } => {
            let relation = relation_of(dialect, name)?;
            let shown = match alias {
                Some(alias) => dialect.normalise_relation_ident(&alias.name),
                None => relation.name.clone(),
            };
            let columns =
                catalog.columns_of(&relation).map(|cs| cs.iter().map(|c| (c.name.clone(), None)).collect());
            Some(Source { name: shown, columns, protected: None })
        }
        _ => None,
    }
}

/// The strictest mask among the masked columns an expression reads at its own level.
struct Reads<'a> {
    dialect: Dialect,
    sources: &'a [Source<'a>],
    mask: Option<MaskKind>,
    depth: usize,
}

impl Visitor for Reads<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
        self.depth = self.depth.saturating_sub(1);
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if self.depth > 0 {
            return ControlFlow::Continue(());
        }
        let found = match expr {
            Expr::Identifier(ident) => {
                let column = self.dialect.normalise_column_ident(ident);
                self.sources
                    .iter()
                    .filter_map(|s| s.protected.and_then(|p| p.mask_of(self.dialect, &column)))
                    .map(|m| m.kind)
                    .max()
            }
            Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                [.., q, c] => {
                    let qualifier = self.dialect.normalise_relation_ident(q);
                    let column = self.dialect.normalise_column_ident(c);
                    self.sources
                        .iter()
                        .filter(|s| s.name == qualifier)
                        .filter_map(|s| s.protected.and_then(|p| p.mask_of(self.dialect, &column)))
                        .map(|m| m.kind)
                        .max()
                }
                _ => None,
            },
            _ => None,
        };
        if let Some(kind) = found {
            self.mask = Some(self.mask.map_or(kind, |m| m.max(kind)));
        }
        ControlFlow::Continue(())
    }
}
