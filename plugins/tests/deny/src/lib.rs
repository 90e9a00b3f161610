//! `test-deny`: denies every statement with the reason `denied by test`.

use sluice_policy_sdk::prelude::*;

/// The plugin.
struct DenyAll;

impl Policy for DenyAll {
    fn init(_config: &str) -> Result<Self, String> {
        Ok(DenyAll)
    }

    fn evaluate(&self, _query: &Query) -> Decision {
        Decision::deny("denied by test")
    }
}

sluice_policy_sdk::export_policy!(DenyAll);
