//! `test-allow`: allows every statement and adds nothing.

use sluice_policy_sdk::prelude::*;

/// The plugin.
struct AllowAll;

impl Policy for AllowAll {
    fn init(_config: &str) -> Result<Self, String> {
        Ok(AllowAll)
    }

    fn evaluate(&self, _query: &Query) -> Decision {
        Decision::allow()
    }
}

sluice_policy_sdk::export_policy!(AllowAll);
