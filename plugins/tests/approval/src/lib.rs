//! `test-approval`: requires approval for every statement: reason `needs a human`, approvers
//! `["dba"]`, suggested duration 3600 s.
//!
//! It does not look at grants, so it asks again on a retry; the host's approval flow decides
//! what an existing grant means.

use sluice_policy_sdk::prelude::*;

/// The plugin.
struct NeedsAHuman;

impl Policy for NeedsAHuman {
    fn init(_config: &str) -> Result<Self, String> {
        Ok(NeedsAHuman)
    }

    fn evaluate(&self, _query: &Query) -> Decision {
        Decision::require_approval("needs a human").approvers(["dba"]).duration_secs(3600)
    }
}

sluice_policy_sdk::export_policy!(NeedsAHuman);
