//! The guardrails themselves: a pure function from rules, query and clock to a decision.
//!
//! Order: every deny rule is checked and all violations are reported together (deny wins);
//! then the first matching approval rule holds the statement, unless the principal already
//! holds a live grant for this statement's fingerprint; otherwise allow.

use sluice_policy_sdk::{Decision, Query, Relation};

use crate::catalog::{is_catalog, is_catalog_function};
use crate::config::{ApprovalRule, Rules};
use crate::pattern::Case;

/// Judges `query` at `now_ms` (the host clock, milliseconds since the Unix epoch).
pub fn evaluate(rules: &Rules, query: &Query, now_ms: u64) -> Decision {
    let roles = query.effective_roles(now_ms);
    let statement = &query.statement;
    let mut violations: Vec<(&str, String)> = Vec::new();

    if rules.deny_catalogs {
        for relation in statement.relations() {
            if is_catalog(relation, query.datasource.dialect) {
                violations.push(("deny_catalogs", format!("system catalog {relation} is not accessible")));
            }
        }
        for function in &statement.functions {
            if is_catalog_function(function, query.datasource.dialect) {
                violations
                    .push(("deny_catalogs", format!("the catalog function {function} is not accessible")));
            }
        }
    }
    for function in &statement.functions {
        if rules.deny_functions.iter().any(|g| g.matches(function, Case::Insensitive)) {
            violations.push(("deny_functions", format!("function {function} is not allowed")));
        }
    }
    if rules.deny_ddl && statement.is_ddl() {
        violations.push(("deny_ddl", "DDL statements are not allowed".to_owned()));
    }
    if rules.deny_unrestricted_writes {
        for relation in &statement.unrestricted_writes {
            violations.push((
                "deny_unrestricted_writes",
                format!(
                    "{} on {relation} must have a WHERE clause restricting its rows",
                    statement.kind.as_str().to_ascii_uppercase()
                ),
            ));
        }
    }
    check_tables(rules, &roles, statement.relations(), &mut violations);
    if let Some(hours) = &rules.allowed_hours
        && !hours.allows(statement.kind, now_ms)
    {
        violations.push((
            "allowed_hours",
            format!("{} statements are allowed only {}", statement.kind.as_str(), hours.describe()),
        ));
    }

    if !violations.is_empty() {
        let mut names: Vec<&str> = violations.iter().map(|(rule, _)| *rule).collect();
        names.dedup();
        let reasons: Vec<String> = violations.into_iter().map(|(_, reason)| reason).collect();
        return Decision::deny(reasons.join("; ")).annotate("rules", names.join(","));
    }

    let matching = rules
        .require_approval
        .iter()
        .enumerate()
        .find(|(_, rule)| approval_applies(rule, rules.default_schema.as_deref(), query, &roles));
    if let Some((index, rule)) = matching {
        if let Some(grant) = query.live_fingerprint_grant(now_ms) {
            return Decision::allow()
                .annotate("approval_rule", index.to_string())
                .annotate("grant", grant.id.as_str());
        }
        let mut decision = Decision::require_approval(rule.reason.as_str())
            .approvers(rule.approvers.iter().map(String::as_str))
            .annotate("approval_rule", index.to_string());
        if let Some(seconds) = rule.duration_secs {
            decision = decision.duration_secs(seconds);
        }
        return decision;
    }
    Decision::allow()
}

/// Applies `tables`: for each relation, a deny pattern of any of the principal's rules denies
/// it; if any of those rules has an allow list, it must be on one of them.
fn check_tables<'q>(
    rules: &Rules,
    roles: &[&str],
    relations: impl Iterator<Item = &'q Relation>,
    violations: &mut Vec<(&str, String)>,
) {
    let applicable: Vec<_> =
        rules.tables.iter().filter(|t| t.role == "*" || roles.contains(&t.role.as_str())).collect();
    if applicable.is_empty() {
        return;
    }
    let default_schema = rules.default_schema.as_deref();
    let restricted = applicable.iter().any(|t| t.allow.is_some());
    for relation in relations {
        let denied = applicable
            .iter()
            .flat_map(|t| t.deny.iter())
            .find(|p| p.matches(relation, default_schema, Case::Insensitive));
        if let Some(pattern) = denied {
            violations.push(("tables", format!("{relation} is denied (matches {})", pattern.as_str())));
            continue;
        }
        let allowed = applicable
            .iter()
            .filter_map(|t| t.allow.as_ref())
            .flatten()
            .any(|p| p.matches(relation, default_schema, Case::Exact));
        if restricted && !allowed {
            violations.push(("tables", format!("{relation} is not among the tables your roles may use")));
        }
    }
}

/// Whether every condition of `rule` holds for `query`.
fn approval_applies(
    rule: &ApprovalRule,
    default_schema: Option<&str>,
    query: &Query,
    roles: &[&str],
) -> bool {
    let statement = &query.statement;
    let kind_ok = rule.kinds.as_ref().is_none_or(|kinds| kinds.contains(&statement.kind));
    let relations_ok = rule.relations.as_ref().is_none_or(|patterns| {
        statement
            .relations()
            .any(|r| patterns.iter().any(|p| p.matches(r, default_schema, Case::Insensitive)))
    });
    let has = |list: &Vec<String>| list.iter().any(|r| roles.contains(&r.as_str()));
    let with_ok = rule.roles_with.as_ref().is_none_or(has);
    let without_ok = rule.roles_without.as_ref().is_none_or(|list| !has(list));
    kind_ok && relations_ok && with_ok && without_ok
}
