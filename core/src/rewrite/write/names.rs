//! What a write may name of a target that has masks.
//!
//! A read of a protected relation is safe by construction: the relation is replaced by a
//! derived table that holds nothing but masked values. A write cannot be wrapped that way,
//! since it must name the table itself, and every expression of the statement can reach the
//! target's row: SET sources, WHERE (whose `rows_affected` answers questions), MySQL's
//! `ORDER BY ... LIMIT` (which row changes tells an order), RETURNING, correlated subqueries,
//! and PostgreSQL's whole-row forms (`people`, `people.*`, `(people).ssn`, `ssn(people)`).
//!
//! So the rule is about names, not forms. In a write whose target has masks:
//!
//! * the target's name or alias may appear only as the target itself, as a FROM item of its
//!   own (which the read rewrite replaces by the masked derived table), or as the qualifier of
//!   an unmasked column;
//! * a masked column's name may appear only as an assignment target the operator made
//!   writable, or qualified by another relation's name;
//! * RETURNING may not use `*`.
//!
//! The check visits every identifier of the AST (sqlparser's visitor reaches them all) and
//! compares it as the database compares names (PostgreSQL's 63-byte cut included), so a
//! syntax added by the next parser version that reaches the row still has to name the row or
//! the column, and is refused. It refuses some harmless statements (an unrelated column or
//! alias that shares a masked column's name): that is the price of not depending on a list.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{Expr, Ident, ObjectName, SelectItem, Statement, Visit, Visitor};

use crate::analyse::{Dialect, References};

use super::super::error::RewriteError;
use super::super::protect::Protected;

/// A source position: an identifier's first character, `(line, column)`.
type Position = (u64, u64);

/// The target of a write, as the statement names it.
pub(crate) struct Target<'a> {
    /// The protected relation written.
    pub(crate) protected: &'a Protected,
    /// The statement's name for it (its last part) and its alias, as written.
    pub(crate) names: Vec<&'a Ident>,
    /// Assignment targets and INSERT columns, as written.
    pub(crate) assigned: Vec<&'a Ident>,
    /// The top-level RETURNING list.
    pub(crate) returning: &'a [SelectItem],
}

/// Refuses the write unless it names its target's masked values nowhere (see the module docs).
pub(crate) fn check(
    dialect: Dialect,
    statement: &Statement,
    references: &References,
    target: &Target<'_>,
) -> Result<(), RewriteError> {
    let protected = target.protected;
    if protected.masks.is_empty() {
        return Ok(());
    }
    let relation = protected.relation.to_string();
    if target.returning.iter().any(|item| matches!(item, SelectItem::Wildcard(_))) {
        return Err(RewriteError::Refused(format!("RETURNING * of {relation}, which has masked columns")));
    }
    let masked: BTreeSet<String> = protected
        .masks
        .keys()
        .filter_map(|index| protected.columns.get(*index))
        .map(|column| dialect.column_key(&column.name))
        .collect();
    // Names compare as columns here: that folds at least as much as the relation rule, so a
    // spelling the database might read as the target is never taken for another name.
    let mut names: BTreeSet<String> =
        target.names.iter().map(|i| dialect.normalise_column_ident(i)).collect();
    names.insert(dialect.column_key(&protected.relation.name));

    let mut allowed: BTreeSet<Position> = target.names.iter().filter_map(|i| position(i)).collect();
    for ident in &target.assigned {
        let column = dialect.normalise_column_ident(ident);
        if masked.contains(&column) {
            if !protected.is_writable(dialect, &column) {
                return Err(RewriteError::MaskedWrite { relation, column });
            }
            allowed.extend(position(ident));
        }
    }
    let mut names_check = Names { dialect, references, masked: &masked, names: &names, allowed, found: None };
    let _ = statement.visit(&mut names_check);
    match names_check.found {
        None => Ok(()),
        Some(Found::Masked(column)) => {
            Err(RewriteError::Refused(format!("a write that reads the masked column {column} of {relation}")))
        }
        Some(Found::Target) => Err(RewriteError::Refused(format!(
            "a write that names {relation} other than as the qualifier of an unmasked column \
             (its whole row holds masked values)"
        ))),
    }
}

fn position(ident: &Ident) -> Option<Position> {
    let start = ident.span.start;
    (start.line > 0).then_some((start.line, start.column))
}

/// What the check stopped at.
enum Found {
    /// A masked column's name.
    Masked(String),
    /// The target's name where it can denote the whole row.
    Target,
}

struct Names<'a> {
    dialect: Dialect,
    references: &'a References,
    masked: &'a BTreeSet<String>,
    /// The target's names, as [`Dialect::normalise_column_ident`] gives them.
    names: &'a BTreeSet<String>,
    /// Identifiers already judged harmless.
    allowed: BTreeSet<Position>,
    found: Option<Found>,
}

impl Names<'_> {
    fn allow(&mut self, idents: impl IntoIterator<Item = Option<Position>>) {
        self.allowed.extend(idents.into_iter().flatten());
    }
}

impl Visitor for Names<'_> {
    type Break = ();

    /// FROM items the resolver judged to be base relations: read ones are replaced by masked
    /// derived tables, and the target is written in place.
    fn pre_visit_relation(&mut self, name: &ObjectName) -> ControlFlow<()> {
        let judged = References::position(name).is_some_and(|at| {
            self.references.reads.contains_key(&at) || self.references.targets.contains(&at)
        });
        if judged {
            self.allow(name.0.iter().map(|part| part.as_ident().and_then(position)));
        }
        ControlFlow::Continue(())
    }

    /// `q.column`: a qualifier naming the target may stand before an unmasked column only; a
    /// column qualified by another name is that relation's.
    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        let Expr::CompoundIdentifier(parts) = expr else {
            return ControlFlow::Continue(());
        };
        let Some((column, qualifier)) = parts.split_last() else {
            return ControlFlow::Continue(());
        };
        if qualifier.is_empty() {
            return ControlFlow::Continue(());
        }
        let names_target =
            qualifier.iter().any(|q| self.names.contains(&self.dialect.normalise_column_ident(q)));
        let column_name = self.dialect.normalise_column_ident(column);
        if !names_target {
            self.allow([position(column)]);
        } else if !self.masked.contains(&column_name) {
            self.allow(qualifier.iter().map(position));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_ident(&mut self, ident: &Ident) -> ControlFlow<()> {
        if position(ident).is_some_and(|at| self.allowed.contains(&at)) {
            return ControlFlow::Continue(());
        }
        let name = self.dialect.normalise_column_ident(ident);
        self.found = if self.masked.contains(&name) {
            Some(Found::Masked(name))
        } else if self.names.contains(&name) {
            Some(Found::Target)
        } else {
            return ControlFlow::Continue(());
        };
        ControlFlow::Break(())
    }
}
