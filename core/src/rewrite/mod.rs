//! Query rewriting for row filters and column masks (see "Row filters and masks: the rewrite"
//! in the README).
//!
//! [`rewrite`] takes the analyser's verified statement and what the policy chain asked for,
//! resolved against the catalog ([`plan`]), and returns the SQL to run with its parameters:
//!
//! 1. `guard`: the statement must be a plain SELECT / INSERT / UPDATE / DELETE calling only
//!    allow-listed functions, with no value-dependent error oracles.
//! 2. `write`: DML on a protected relation gets the filter in WHERE, and new rows are checked
//!    against it; masked columns of the target cannot be read.
//! 3. `read`: every FROM item naming a protected relation becomes a derived table applying the
//!    filters and masks ([`mask`] renders each mask per dialect); `pushdown` copies caller
//!    conditions that are safe on any row inside it, so indexes still serve point lookups.
//! 4. `bind`: injected filter values become native parameters; the final text is parsed
//!    again and compared with the rewritten AST (the fixpoint check) before anything runs.

mod bind;
mod columns;
mod error;
mod guard;
pub mod mask;
mod predicate;
mod protect;
mod pushdown;
mod read;
#[cfg(test)]
mod tests;
mod write;

use serde_json::Value as Json;
use sqlparser::ast::Statement;

use crate::analyse::{self, Analysis, Dialect, RelationName, StatementKind};
use crate::auth::Principal;
use crate::execute::Catalog;
use crate::policy::ChainOutcome;

pub use bind::Origin;
pub use columns::OutputMasks;
pub use error::RewriteError;
pub use mask::{ColumnType, MaskDialect, MaskError, kind_name, render_mask};

/// Protected relations, resolved against a catalog: what [`rewrite`] applies.
#[derive(Debug, Clone, Default)]
pub struct Protection {
    plan: protect::Plan,
}

impl Protection {
    /// Whether nothing needs rewriting.
    pub fn is_empty(&self) -> bool {
        self.plan.is_empty()
    }
}

/// Refuses functions that read relations named in strings (`query_to_xml`, `ts_stat`,
/// `load_file`): checked on every statement policy plugins judge, since such a read can reach a
/// protected relation without the statement naming it.
///
/// # Errors
/// [`RewriteError::HiddenRead`] naming the function.
pub fn check_hidden_reads(facts: &analyse::StatementFacts) -> Result<(), RewriteError> {
    guard::check_hidden_reads(facts)
}

/// The first column use the catalog cannot account for, as `(relation, column)`: a column
/// attributed to a relation that neither that relation nor any other relation the statement
/// touches has, and that is no select-list alias. The check is that loose on purpose: the
/// analyser attributes an unqualified column to the only FROM item in scope, which is wrong for
/// a correlated reference to an outer query's column.
pub fn unknown_column(dialect: Dialect, catalog: &Catalog, analysis: &Analysis) -> Option<(String, String)> {
    let touched: Vec<&[crate::execute::CatalogColumn]> =
        analysis.facts.relations.iter().filter_map(|access| catalog.columns_of(&access.relation)).collect();
    let known = |column: &str| {
        touched.iter().any(|cs| cs.iter().any(|c| protect::same_column(dialect, &c.name, column)))
    };
    analysis.facts.columns.iter().find_map(|usage| {
        let relation = usage.relation.as_ref()?;
        catalog.resolve(relation)?;
        let system = dialect.system_columns();
        let unknown = usage.column != "*"
            && !system.contains(&usage.column.as_str())
            && !known(&usage.column)
            && !analysis.references.output_aliases.contains(&usage.column)
            && !analysis.facts.relations.iter().any(|r| r.relation.name == usage.column);
        unknown.then(|| (relation.to_string(), usage.column.clone()))
    })
}

/// Resolves the chain's row filters and masks against `catalog`. `writable` names the masked
/// columns callers may write anyway, as `(relation, column)` (the datasource's
/// `writable_masked_columns`).
///
/// # Errors
/// [`RewriteError::UnknownRelation`] when a filter or mask names a relation the catalog lacks.
pub fn plan(
    dialect: Dialect,
    outcome: &ChainOutcome,
    catalog: &Catalog,
    writable: &[(RelationName, String)],
) -> Result<Protection, RewriteError> {
    Ok(Protection { plan: protect::plan(dialect, outcome, catalog, writable)? })
}

/// What [`rewrite`] needs.
#[derive(Debug, Clone, Copy)]
pub struct RewriteInput<'a> {
    /// The datasource's dialect.
    pub dialect: Dialect,
    /// The analysed statement.
    pub analysis: &'a Analysis,
    /// The datasource's catalog.
    pub catalog: &'a Catalog,
    /// What to apply.
    pub protection: &'a Protection,
    /// The caller, whose attributes row-filter parameters bind to.
    pub principal: &'a Principal,
    /// The caller's parameters.
    pub params: &'a [Json],
    /// The datasource's keyed-hash secret.
    pub secret: Option<&'a str>,
}

/// The statement to run instead of the caller's.
#[derive(Debug, Clone)]
pub struct Rewritten {
    /// Verified SQL text.
    pub sql: String,
    /// Its parameters: the caller's and the injected ones, in the order the driver binds them.
    pub params: Vec<Json>,
    /// Where each of `params` comes from. The text depends only on the statement, the
    /// decision's shape and the catalog; [`Rewritten::rebind`] binds it for another request.
    pub origins: Vec<Origin>,
    /// Which output columns are masked.
    pub masks: OutputMasks,
    /// [`Rewritten::query_text`], worked out on first use.
    query_text: std::sync::OnceLock<String>,
}

impl Rewritten {
    /// `sql` with its literals (the caller's constants, the masks' own) replaced by `?`, for
    /// telemetry; computed once per rewrite (reads' rewrites are cached), only when asked for.
    pub fn query_text(&self, dialect: Dialect) -> &str {
        self.query_text.get_or_init(|| match crate::analyse::parse_one(dialect, &self.sql) {
            Ok((statement, _)) => crate::analyse::parameterised(&statement),
            // It parsed when it was verified; never show text that was not normalised.
            Err(_) => String::new(),
        })
    }

    /// The parameters of this rewrite for another principal and caller parameters, or `None`
    /// when one has no value (a principal without an attribute a filter binds): only the full
    /// rewrite may turn that into its error.
    pub fn rebind(&self, principal: &Principal, params: &[Json]) -> Option<Vec<Json>> {
        self.origins.iter().map(|origin| origin.value(principal, params)).collect()
    }
}

/// Rewrites one statement so that it honours `input.protection`.
///
/// # Errors
/// A [`RewriteError`] whenever the statement cannot be made to honour every filter and mask:
/// it is then refused, never run with less protection.
pub fn rewrite(input: RewriteInput<'_>) -> Result<Rewritten, RewriteError> {
    let RewriteInput { dialect, analysis, catalog, protection, principal, params, secret } = input;
    let plan = &protection.plan;
    let kind = analysis.facts.kind;
    let plain = matches!(
        (&analysis.statement, kind),
        (Statement::Query(_), StatementKind::Read)
            | (Statement::Insert(_), StatementKind::Insert)
            | (Statement::Update(_), StatementKind::Update)
            | (Statement::Delete(_), StatementKind::Delete)
    );
    if !plain {
        return error::refused(format!(
            "only SELECT, INSERT, UPDATE and DELETE may run (this is {})",
            kind.name()
        ));
    }
    guard::check(dialect, &analysis.facts, &analysis.statement)?;

    let reads_masked = analysis.references.reads.iter().any(|(at, written)| {
        !analysis.references.targets.contains(at)
            && catalog
                .resolve(written)
                .and_then(|(key, _)| plan.get(key))
                .is_some_and(|p| !p.masks.is_empty())
    });
    let mut statement = analysis.statement.clone();
    let mut binder = bind::Binder::default();
    let write_cx = write::WriteContext {
        dialect,
        catalog,
        plan,
        principal,
        params,
        references: &analysis.references,
        reads_masked,
    };
    write::rewrite(&mut statement, &write_cx, &mut binder)?;
    let read_cx = read::ReadContext {
        dialect,
        references: &analysis.references,
        catalog,
        plan,
        principal,
        secret,
        params,
    };
    let wrapped = read::wrap_reads(&mut statement, &read_cx, &mut binder)?;
    let masks = columns::output_masks(dialect, &statement, &wrapped, plan, catalog);
    let (sql, bound) = bind::finish(
        dialect,
        &mut statement,
        analysis.modifiers,
        params,
        analysis.facts.placeholders,
        binder,
    )?;
    verify(dialect, &statement, analysis.modifiers, &sql, bound.values.len()).inspect_err(|e| {
        // The caller sees a generic refusal; operators get the detail (no data: names only).
        if let RewriteError::Verification(detail) = e {
            tracing::warn!(detail = detail.as_str(), "rewritten statement failed verification");
        }
    })?;
    Ok(Rewritten { sql, params: bound.values, origins: bound.origins, masks, query_text: Default::default() })
}

/// The fixpoint check: the final text must parse back to the rewritten AST (placeholders
/// aside) and take exactly the parameters bound to it. Its facts need no second resolver walk:
/// the rewritten AST is the analysed one with derived tables and conditions Sluice built.
fn verify(
    dialect: Dialect,
    statement: &Statement,
    modifiers: analyse::Modifiers,
    sql: &str,
    params: usize,
) -> Result<(), RewriteError> {
    let (again, modifiers_again, placeholders) =
        analyse::reparse(dialect, sql).map_err(|e| RewriteError::Verification(e.to_string()))?;
    if modifiers_again != modifiers {
        return Err(RewriteError::Verification("the final text changes the statement's modifiers".into()));
    }
    if placeholders != params {
        return Err(RewriteError::Verification(format!(
            "{placeholders} placeholders for {params} parameters"
        )));
    }
    if bind::erase_placeholders(again) != bind::erase_placeholders(statement.clone()) {
        return Err(RewriteError::Verification(
            "the final text does not mean the rewritten statement".into(),
        ));
    }
    Ok(())
}
