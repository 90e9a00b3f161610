//! Role templates: configured bundles of access ("Debug Read", "Migration Writer") that people
//! ask for by name. A live grant of a template covers every statement of the template's kinds
//! over the template's relations on its datasources, runs them as the template's database
//! role, and adds the template's name to the principal's roles as plugins see them.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::analyse::{RelationName, StatementFacts, StatementKind};

/// One `[[access.templates]]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleTemplate {
    /// What people ask for.
    pub name: String,
    /// Shown to requesters and approvers.
    pub description: String,
    /// Datasources it applies to.
    pub datasources: BTreeSet<String>,
    /// Statement kinds it permits.
    pub statements: BTreeSet<StatementKind>,
    /// Relations it permits; a statement is covered only if every relation it touches matches.
    pub relations: Vec<RelationPattern>,
    /// The database role statements run as (PostgreSQL `SET LOCAL ROLE`, MySQL/MariaDB
    /// `SET ROLE`), if any.
    pub role: Option<String>,
    /// The longest grant of it.
    pub max_duration: Duration,
    /// Roles whose holders approve it.
    pub approvers: Vec<String>,
    /// Distinct approvals it needs.
    pub min_approvals: u32,
    /// One approval per approver group as well.
    pub approval_per_group: bool,
}

impl RoleTemplate {
    /// Whether a grant of this template covers the statement described by `facts` on
    /// `datasource`.
    pub fn covers(&self, datasource: &str, facts: &StatementFacts) -> bool {
        self.datasources.contains(datasource)
            && self.statements.contains(&facts.kind)
            && facts.relations.iter().all(|r| self.relations.iter().any(|p| p.matches(&r.relation)))
    }
}

/// `name`, `schema.name`, with `*` standing for a whole part: `orders` (any schema),
/// `public.*`, `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationPattern {
    schema: Option<String>,
    name: String,
}

impl RelationPattern {
    /// Parses a pattern.
    ///
    /// # Errors
    /// What is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split('.').collect();
        let (schema, name) = match parts.as_slice() {
            [name] => (None, *name),
            [schema, name] => (Some(*schema), *name),
            _ => return Err(format!("{text:?} is not `name`, `schema.name` or a `*` pattern of them")),
        };
        if name.is_empty() || schema.is_some_and(str::is_empty) {
            return Err(format!("{text:?} has an empty part"));
        }
        Ok(RelationPattern { schema: schema.map(str::to_owned), name: name.to_owned() })
    }

    /// Whether `relation` matches. Names compare as the analyser normalised them.
    pub fn matches(&self, relation: &RelationName) -> bool {
        let part = |pattern: &str, value: &str| pattern == "*" || pattern == value;
        let schema = match (&self.schema, &relation.schema) {
            (None, _) => true,
            (Some(pattern), Some(schema)) => part(pattern, schema),
            // A pattern with a schema matches only relations named with one.
            (Some(pattern), None) => pattern == "*",
        };
        schema && part(&self.name, &relation.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relation(schema: Option<&str>, name: &str) -> RelationName {
        RelationName { schema: schema.map(str::to_owned), name: name.to_owned() }
    }

    #[test]
    fn patterns_match_whole_parts() {
        let p = |t: &str| RelationPattern::parse(t).unwrap();
        assert!(p("orders").matches(&relation(None, "orders")));
        assert!(p("orders").matches(&relation(Some("public"), "orders")));
        assert!(!p("orders").matches(&relation(None, "orders_archive")));
        assert!(p("public.*").matches(&relation(Some("public"), "x")));
        assert!(!p("public.*").matches(&relation(Some("private"), "x")));
        assert!(!p("public.*").matches(&relation(None, "x")));
        assert!(p("*").matches(&relation(Some("any"), "thing")));
        assert!(p("*.*").matches(&relation(None, "thing")));
        for bad in ["", "a..b", "a.b.c", ".x", "x."] {
            assert!(RelationPattern::parse(bad).is_err(), "{bad:?}");
        }
    }
}
