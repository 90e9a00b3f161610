//! Catalog introspection data: the tables and views a datasource exposes, with their columns.
//!
//! Connectors build a [`Catalog`] with [`super::Connector::catalog`]; later stages use it to
//! resolve names as the database would (search path, case rules) and to expand `*`.

use std::collections::BTreeMap;

use crate::analyse::RelationName;

/// Whether a relation is a table or a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RelationKind {
    /// A base table (also foreign and partitioned tables).
    Table,
    /// A view.
    View,
}

/// One column of a relation, in the relation's column order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogColumn {
    /// The column's name as the database stores it.
    pub name: String,
    /// Sluice's normalised type name (as in [`super::Column::type_name`]) when the database
    /// type maps to one, otherwise the database's own name for the type.
    pub type_name: String,
    /// Whether the column may hold NULL as far as the database declares (view columns are
    /// usually reported nullable).
    pub nullable: bool,
}

/// One table or view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationInfo {
    /// Table or view.
    pub kind: RelationKind,
    /// Its columns, in order.
    pub columns: Vec<CatalogColumn>,
}

/// How [`Catalog::resolve`] folds the name it is asked for before comparing it with the keys,
/// which connectors store already folded the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NameFolding {
    /// Names compare exactly (PostgreSQL after the analyser's folding; MySQL with
    /// `lower_case_table_names = 0`).
    #[default]
    Exact,
    /// Names compare lower-cased (MySQL / MariaDB with `lower_case_table_names` 1 or 2).
    Lower,
    /// Names compare ASCII-lower-cased (SQLite).
    AsciiLower,
}

impl NameFolding {
    /// `name` folded by this rule.
    pub fn fold(self, name: &str) -> String {
        match self {
            NameFolding::Exact => name.to_owned(),
            NameFolding::Lower => name.to_lowercase(),
            NameFolding::AsciiLower => name.to_ascii_lowercase(),
        }
    }
}

/// Every table and view a datasource exposes to Sluice's connection. Plain data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Catalog {
    /// Relations by schema-qualified name (the schema is always `Some`), names stored as the
    /// database compares them (see [`Catalog::folding`]).
    pub relations: BTreeMap<RelationName, RelationInfo>,
    /// The schemas unqualified names resolve in, in order.
    pub search_path: Vec<String>,
    /// How names are folded before they are compared with the keys of `relations`.
    pub folding: NameFolding,
}

impl Catalog {
    /// The relation `name` denotes: looked up directly when it names a schema, otherwise in
    /// each schema of the search path in turn. `None` when no such relation is visible.
    pub fn resolve(&self, name: &RelationName) -> Option<(&RelationName, &RelationInfo)> {
        let relation = self.folding.fold(&name.name);
        match &name.schema {
            Some(schema) => {
                let key = RelationName { schema: Some(self.folding.fold(schema)), name: relation };
                self.relations.get_key_value(&key)
            }
            None => self.search_path.iter().find_map(|schema| {
                let key = RelationName { schema: Some(self.folding.fold(schema)), name: relation.clone() };
                self.relations.get_key_value(&key)
            }),
        }
    }

    /// The columns `*` expands to for `name`, in order, or `None` if it does not resolve.
    pub fn columns_of(&self, name: &RelationName) -> Option<&[CatalogColumn]> {
        self.resolve(name).map(|(_, info)| info.columns.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(schema: Option<&str>, name: &str) -> RelationName {
        RelationName { schema: schema.map(str::to_owned), name: name.to_owned() }
    }

    fn catalog(folding: NameFolding) -> Catalog {
        let info = |n: &str| RelationInfo {
            kind: RelationKind::Table,
            columns: vec![CatalogColumn { name: n.into(), type_name: "int4".into(), nullable: false }],
        };
        let mut relations = BTreeMap::new();
        relations.insert(rel(Some("a"), "t"), info("from_a"));
        relations.insert(rel(Some("b"), "t"), info("from_b"));
        relations.insert(rel(Some("b"), "u"), info("u"));
        Catalog { relations, search_path: vec!["a".into(), "b".into()], folding }
    }

    #[test]
    fn resolves_through_the_search_path_in_order() {
        let c = catalog(NameFolding::Exact);
        assert_eq!(c.resolve(&rel(None, "t")).map(|(k, _)| k.clone()), Some(rel(Some("a"), "t")));
        assert_eq!(c.resolve(&rel(None, "u")).map(|(k, _)| k.clone()), Some(rel(Some("b"), "u")));
        assert_eq!(c.columns_of(&rel(Some("b"), "t")).map(|c| c.len()), Some(1));
        assert!(c.resolve(&rel(None, "T")).is_none());
        assert!(c.resolve(&rel(Some("c"), "t")).is_none());
        assert!(c.resolve(&rel(None, "missing")).is_none());
    }

    #[test]
    fn folds_names_when_the_database_does() {
        let c = catalog(NameFolding::Lower);
        assert_eq!(c.resolve(&rel(Some("B"), "U")).map(|(k, _)| k.clone()), Some(rel(Some("b"), "u")));
        assert!(catalog(NameFolding::AsciiLower).resolve(&rel(None, "T")).is_some());
    }
}
