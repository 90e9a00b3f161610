//! `test-filter-mask`: allows, with, on every relation the statement reads, the row filter
//! `tenant_id = :tenant` (`:tenant` bound to the principal's attribute `tenant_id`) and the
//! `email` mask on its column `email`.

use sluice_policy_sdk::prelude::*;

/// The plugin.
struct TenantIsolation;

impl Policy for TenantIsolation {
    fn init(_config: &str) -> Result<Self, String> {
        Ok(TenantIsolation)
    }

    fn evaluate(&self, query: &Query) -> Decision {
        let mut decision = Decision::allow();
        for relation in query.statement.reads() {
            decision = decision
                .with_row_filter(
                    relation.clone(),
                    "tenant_id = :tenant",
                    [FilterParam::attribute("tenant", "tenant_id")],
                )
                .with_mask(relation.clone(), "email", MaskKind::Email, &[]);
        }
        decision
    }
}

sluice_policy_sdk::export_policy!(TenantIsolation);
