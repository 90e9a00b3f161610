//! Scope-aware name resolution: which base relations a statement reads and writes, and which
//! columns it uses where.
//!
//! The walk is explicit over statements, queries, FROM items and joins, because only there do
//! names get their meaning (CTEs, aliases, derived tables). Expressions are handed to a
//! sqlparser visitor ([`expr`]) that records columns and functions and hands every nested query
//! back to this walk. Whatever the walk does not understand is refused, never skipped.

mod dml;
mod expr;
mod from;
mod query;
mod restrict;
mod scope;

use std::collections::BTreeSet;

use sqlparser::ast::{ObjectName, ObjectNamePart, Statement};

use super::shape;
use super::{
    Access, AnalyseError, ColumnUsage, ColumnUse, Dialect, References, RelationAccess, RelationName,
    StatementFacts, StatementKind,
};
pub(crate) use from::join_constraint;
use scope::Scopes;

/// The walk's state: the scopes in force and everything recorded so far.
pub(crate) struct Resolver {
    dialect: Dialect,
    scopes: Scopes,
    relations: BTreeSet<RelationAccess>,
    columns: BTreeSet<ColumnUse>,
    functions: BTreeSet<String>,
    /// The data-modifying statements met anywhere, including inside CTEs.
    effects: BTreeSet<StatementKind>,
    /// UPDATE / DELETE targets whose WHERE does not restrict their rows.
    unrestricted_writes: BTreeSet<RelationName>,
    /// Where base relations are named, for the rewrite stage.
    references: References,
    /// The nodes the walk judged, for the coverage check.
    visited: Visited,
}

/// The queries and expressions the walk visited, by address. [`super::coverage`] compares
/// them with every node of the statement, so a clause the walk does not know (one a parser
/// upgrade adds, or `TABLESAMPLE (<subquery>)`) is refused instead of passing unjudged.
/// Addresses are stable: the walk and the check borrow the same statement.
#[derive(Debug, Default)]
pub(crate) struct Visited {
    /// Queries walked with their own scopes.
    pub(crate) queries: std::collections::HashSet<usize>,
    /// Expressions whose names were resolved.
    pub(crate) exprs: std::collections::HashSet<usize>,
}

impl Resolver {
    /// A resolver with empty scopes.
    pub(crate) fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            scopes: Scopes::default(),
            relations: BTreeSet::new(),
            columns: BTreeSet::new(),
            functions: BTreeSet::new(),
            effects: BTreeSet::new(),
            unrestricted_writes: BTreeSet::new(),
            references: References::default(),
            visited: Visited::default(),
        }
    }

    /// The statement's kind given its outermost form: a query that hides a data-modifying CTE
    /// takes that statement's kind, so that a datasource allowing only reads refuses it.
    /// Several different effects in one statement are refused, since one kind cannot describe
    /// them to a datasource's `statements` allow-list.
    pub(crate) fn effective_kind(&self, outer: StatementKind) -> Result<StatementKind, AnalyseError> {
        let mut kinds = self.effects.clone();
        if outer != StatementKind::Read {
            kinds.insert(outer);
        }
        let mut iter = kinds.into_iter();
        match (iter.next(), iter.next()) {
            (None, _) => Ok(outer),
            (Some(kind), None) if outer == StatementKind::Read || outer == kind => Ok(kind),
            (Some(kind), None) => Err(AnalyseError::Unsupported(format!(
                "a {} statement inside a {} statement",
                kind.name(),
                outer.name()
            ))),
            (Some(_), Some(_)) => Err(AnalyseError::Unsupported(
                "data-modifying statements of several kinds in one statement".into(),
            )),
        }
    }

    /// The facts recorded, sorted and de-duplicated, and where base relations are named.
    pub(crate) fn finish(
        self,
        kind: StatementKind,
        statement: &Statement,
        placeholders: usize,
    ) -> (StatementFacts, References, Visited) {
        let facts = StatementFacts {
            kind,
            relations: self.relations.into_iter().collect(),
            columns: self.columns.into_iter().collect(),
            functions: self.functions.into_iter().collect(),
            unrestricted_writes: self.unrestricted_writes.into_iter().collect(),
            limit: shape::outer_limit(statement),
            fingerprint: shape::fingerprint(statement),
            placeholders,
        };
        (facts, self.references, self.visited)
    }

    /// The relation an object name denotes.
    ///
    /// Three-part names (`catalog.schema.table`) are refused: PostgreSQL accepts them only for
    /// the current database and the others not at all, and a name the facts cannot hold
    /// faithfully must not reach policy.
    pub(crate) fn relation_name(&self, name: &ObjectName) -> Result<RelationName, AnalyseError> {
        let parts = self.relation_parts(name)?;
        match parts.as_slice() {
            [name] => Ok(RelationName { schema: None, name: name.clone() }),
            [schema, name] => Ok(RelationName { schema: Some(schema.clone()), name: name.clone() }),
            _ => Err(AnalyseError::Unsupported(format!("relation name with {} parts", parts.len()))),
        }
    }

    fn relation_parts(&self, name: &ObjectName) -> Result<Vec<String>, AnalyseError> {
        name.0
            .iter()
            .map(|part| match part {
                ObjectNamePart::Identifier(ident) => Ok(self.dialect.normalise_relation_ident(ident)),
                ObjectNamePart::Function(_) => Err(AnalyseError::Unsupported("computed object name".into())),
            })
            .collect()
    }

    /// Whether `name` denotes a CTE in force here: only an unqualified name can.
    pub(crate) fn is_cte(&self, name: &ObjectName) -> bool {
        match name.0.as_slice() {
            [ObjectNamePart::Identifier(ident)] => {
                self.scopes.is_cte(&self.dialect.normalise_relation_ident(ident))
            }
            _ => false,
        }
    }

    pub(crate) fn record_relation(&mut self, relation: RelationName, access: Access) {
        self.relations.insert(RelationAccess { relation, access });
    }

    /// Records a FROM item naming a base relation. A name without a source position (never the
    /// case for parsed text) could not be found again, so it counts as unwrappable.
    pub(crate) fn record_read_reference(&mut self, name: &ObjectName, relation: RelationName) {
        match References::position(name) {
            Some(at) => {
                self.references.reads.insert(at, relation);
            }
            None => {
                self.references.unwrappable.insert(relation);
            }
        }
    }

    /// Records a relation read where no FROM item could be wrapped (`TABLE t`, DDL).
    pub(crate) fn record_unwrappable(&mut self, relation: RelationName) {
        self.references.unwrappable.insert(relation);
    }

    /// Records select-list aliases, which some dialects let WHERE / HAVING name like columns.
    pub(crate) fn record_output_aliases(&mut self, aliases: &[String]) {
        self.references.output_aliases.extend(aliases.iter().cloned());
    }

    /// Records the position of a data-modifying statement's target.
    pub(crate) fn record_target(&mut self, name: &ObjectName) {
        if let Some(at) = References::position(name) {
            self.references.targets.insert(at);
        }
    }

    pub(crate) fn record_column(
        &mut self,
        relation: Option<RelationName>,
        column: String,
        usage: ColumnUsage,
    ) {
        self.columns.insert(ColumnUse { relation, column, usage });
    }

    pub(crate) fn record_function(&mut self, name: &ObjectName) {
        let parts: Vec<String> = name
            .0
            .iter()
            .map(|part| match part {
                ObjectNamePart::Identifier(ident) => ident.value.to_lowercase(),
                ObjectNamePart::Function(f) => f.to_string().to_lowercase(),
            })
            .collect();
        self.functions.insert(parts.join("."));
    }

    pub(crate) fn record_effect(&mut self, kind: StatementKind) {
        self.effects.insert(kind);
    }
}
