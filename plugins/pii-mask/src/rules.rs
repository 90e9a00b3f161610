//! The masking itself: a pure function from rules, query and clock to a decision.

use sluice_policy_sdk::{ColumnMask, Decision, Query, Relation};

use crate::config::Rules;

/// Judges `query` at `now_ms` (for temporary role grants).
///
/// Clear roles: allow, no masks. Otherwise, for every relation the statement touches (read or
/// write, so `RETURNING` is covered), a mask for each configured column of that relation (the
/// most specific pattern wins), whether or not the statement names it: `SELECT *` shows only `*`
/// in the facts and the rewrite needs the masks to expand it. A named use of a matching column
/// spelled in another case (a quoted `"Email"`) gets its own mask too. Each (relation, column)
/// once; the annotation `columns` lists them.
pub fn evaluate(rules: &Rules, query: &Query, now_ms: u64) -> Decision {
    let roles = query.effective_roles(now_ms);
    if rules.clear_roles.iter().any(|r| roles.contains(&r.as_str())) {
        return Decision::allow().annotate("clear", "true");
    }
    let touched: Vec<&Relation> = query.statement.relations().collect();
    let mut masks: Vec<ColumnMask> = Vec::new();
    let push = |relation: &Relation, column: &str, masks: &mut Vec<ColumnMask>| {
        if masks.iter().any(|m| m.relation == *relation && m.column == column) {
            return;
        }
        if let Some(rule) = rules.rule_for(relation, column) {
            masks.push(ColumnMask {
                relation: relation.clone(),
                column: column.to_owned(),
                mask: rule.mask.kind,
                args: rule.mask.args.clone(),
            });
        }
    };
    for relation in &touched {
        for rule in &rules.columns {
            if rule.matches_relation(relation) {
                push(relation, &rule.column, &mut masks);
            }
        }
    }
    for used in &query.statement.columns {
        let Some(relation) = &used.relation else { continue };
        if used.column != "*" && touched.contains(&relation) {
            push(relation, &used.column, &mut masks);
        }
    }
    if masks.is_empty() {
        return Decision::allow();
    }
    let names: Vec<String> = masks.iter().map(|m| format!("{}.{}", m.relation, m.column)).collect();
    let mut decision = Decision::allow().annotate("columns", names.join(","));
    decision.column_masks = masks;
    decision
}
