//! What policy asked for, resolved against the catalog: per relation, its columns, its row
//! filters and its masks.
//!
//! Plugins name relations as the statement wrote them (`orders`, `public.orders`); two such
//! names can denote one table. Protections are therefore keyed by the catalog's schema-qualified
//! name, so a filter asked for `orders` also applies to `public.orders` and the other way round.

use std::collections::{BTreeMap, BTreeSet};

use crate::analyse::{Dialect, RelationName};
use crate::execute::{Catalog, CatalogColumn};
use crate::policy::{ChainOutcome, ColumnMask, RowFilter};

use super::error::RewriteError;
use super::mask::ColumnType;

/// One protected relation.
#[derive(Debug, Clone)]
pub(crate) struct Protected {
    /// The catalog's schema-qualified name.
    pub(crate) relation: RelationName,
    /// Its columns, in order.
    pub(crate) columns: Vec<CatalogColumn>,
    /// Row filters, ANDed.
    pub(crate) filters: Vec<RowFilter>,
    /// Masks by column index.
    pub(crate) masks: BTreeMap<usize, ColumnMask>,
    /// Indices of masked columns the operator lets callers write.
    pub(crate) writable: BTreeSet<usize>,
}

impl Protected {
    /// The mask of the column named `name` (compared as the dialect compares column names).
    pub(crate) fn mask_of(&self, dialect: Dialect, name: &str) -> Option<&ColumnMask> {
        let index = self.columns.iter().position(|c| same_column(dialect, &c.name, name))?;
        self.masks.get(&index)
    }

    /// The names of the masked columns.
    pub(crate) fn masked_columns(&self) -> impl Iterator<Item = &str> {
        self.masks.keys().filter_map(|index| self.columns.get(*index)).map(|c| c.name.as_str())
    }

    /// Whether a write may set the column named `name`: it is unmasked, or the operator made
    /// it writable.
    pub(crate) fn is_writable(&self, dialect: Dialect, name: &str) -> bool {
        let Some(index) = self.columns.iter().position(|c| same_column(dialect, &c.name, name)) else {
            return true;
        };
        !self.masks.contains_key(&index) || self.writable.contains(&index)
    }
}

/// Protected relations by catalog name.
pub(crate) type Plan = BTreeMap<RelationName, Protected>;

/// Resolves the chain's filters and masks against `catalog`.
///
/// A mask for a column the relation does not have is ignored: classification plugins such as
/// `pii-mask` ask for `*.email` on every relation, and a column that does not exist holds
/// nothing to hide. Mask columns compare case-insensitively in every dialect, so that a mask
/// never misses a column over spelling (masking more is the safe side).
///
/// `writable` lists the masked columns the operator lets callers write, as `(relation,
/// column)`; an entry for a relation the catalog lacks is ignored (the configuration may
/// name a table before it exists).
pub(crate) fn plan(
    dialect: Dialect,
    outcome: &ChainOutcome,
    catalog: &Catalog,
    writable: &[(RelationName, String)],
) -> Result<Plan, RewriteError> {
    let mut plan = Plan::new();
    fn entry<'p>(
        plan: &'p mut Plan,
        catalog: &Catalog,
        relation: &RelationName,
    ) -> Result<&'p mut Protected, RewriteError> {
        let (key, info) =
            catalog.resolve(relation).ok_or_else(|| RewriteError::UnknownRelation(relation.to_string()))?;
        Ok(plan.entry(key.clone()).or_insert_with(|| Protected {
            relation: key.clone(),
            columns: info.columns.clone(),
            filters: Vec::new(),
            masks: BTreeMap::new(),
            writable: BTreeSet::new(),
        }))
    }
    for (relation, filters) in &outcome.row_filters {
        entry(&mut plan, catalog, relation)?.filters.extend(filters.iter().cloned());
    }
    for ((relation, column), mask) in &outcome.column_masks {
        let protected = entry(&mut plan, catalog, relation)?;
        let matching: Vec<usize> = protected
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.name.to_lowercase() == column.to_lowercase())
            .map(|(i, _)| i)
            .collect();
        for index in matching {
            let stricter = protected.masks.get(&index).is_none_or(|existing| mask.kind > existing.kind);
            if stricter {
                protected.masks.insert(index, mask.clone());
            }
        }
    }
    for (relation, column) in writable {
        let Some((key, _)) = catalog.resolve(relation) else {
            continue;
        };
        if let Some(protected) = plan.get_mut(key) {
            let index = protected.columns.iter().position(|c| same_column(dialect, &c.name, column));
            protected.writable.extend(index);
        }
    }
    // A relation whose masks all named missing columns and that has no filter needs nothing.
    plan.retain(|_, p| !p.filters.is_empty() || !p.masks.is_empty());
    Ok(plan)
}

/// Whether two column names denote the same column in `dialect`.
pub(crate) fn same_column(dialect: Dialect, a: &str, b: &str) -> bool {
    dialect.column_key(a) == dialect.column_key(b)
}

/// The mask renderer's type class for a catalog type name.
pub(crate) fn column_type(type_name: &str) -> ColumnType {
    match type_name {
        "text" => ColumnType::Text,
        "int2" | "int4" | "int8" => ColumnType::Integer,
        "numeric" | "money" => ColumnType::Decimal,
        "float4" | "float8" => ColumnType::Float,
        "date" => ColumnType::Date,
        "timestamp" | "timestamptz" => ColumnType::Timestamp,
        "json" => ColumnType::Json,
        "jsonb" => ColumnType::Jsonb,
        "bool" => ColumnType::Bool,
        "bytes" => ColumnType::Bytes,
        _ => ColumnType::Other,
    }
}
