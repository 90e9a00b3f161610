//! The isolation itself: a pure function from rules, query and clock to a decision.

use sluice_policy_sdk::{Decision, FilterParam, Query, Relation};

use crate::config::Rules;

/// The predicate parameter bound to the tenant attribute.
pub const PARAM: &str = "tenant";

/// Judges `query` at `now_ms` (for temporary role grants).
///
/// Exempt roles: allow, no filters. Otherwise every touched relation with a tenant column gets
/// `<column> = :tenant` (once per relation, whatever its access modes); if there is at least one
/// and the principal lacks the attribute, deny. The annotation `tables` lists the filtered
/// relations.
pub fn evaluate(rules: &Rules, query: &Query, now_ms: u64) -> Decision {
    let roles = query.effective_roles(now_ms);
    if rules.exempt_roles.iter().any(|r| roles.contains(&r.as_str())) {
        return Decision::allow().annotate("exempt", "true");
    }
    let mut seen: Vec<&Relation> = Vec::new();
    let mut filters: Vec<(&Relation, &str)> = Vec::new();
    for relation in query.statement.relations() {
        if seen.iter().any(|r| r.schema == relation.schema && r.name == relation.name) {
            continue;
        }
        seen.push(relation);
        if let Some(column) = rules.column_for(relation) {
            filters.push((relation, column));
        }
    }
    if filters.is_empty() {
        return Decision::allow();
    }
    if query.principal.attribute(&rules.attribute).is_none() {
        let attribute = &rules.attribute;
        return Decision::deny(format!("no {attribute} attribute: tenant-scoped tables need one"));
    }
    let names: Vec<String> = filters.iter().map(|(r, _)| r.to_string()).collect();
    let mut decision = Decision::allow();
    for (relation, column) in filters {
        decision = decision.with_row_filter(
            relation.clone(),
            format!("{column} = :{PARAM}"),
            [FilterParam::attribute(PARAM, rules.attribute.as_str())],
        );
    }
    decision.annotate("tables", names.join(","))
}
