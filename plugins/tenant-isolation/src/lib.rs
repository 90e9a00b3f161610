//! `tenant-isolation`: Sluice's first-party plugin that confines every statement to the
//! caller's tenant.
//!
//! For every relation a statement touches (read or write) that has a configured tenant column,
//! it returns the row filter `<column> = :tenant`, with `tenant` bound to the principal's
//! attribute (`tenant_id` by default). A principal without the attribute is denied when the
//! statement touches a tenant-scoped table; principals with an exempt role get no filter.
//!
//! Configured by JSON (reference: `plugins/README.md`, types: [`config`]). The logic
//! ([`rules::evaluate`]) is plain Rust over the SDK's types, unit-tested natively:
//! `cargo test --target x86_64-unknown-linux-gnu -p tenant-isolation` (in `plugins/`).

pub mod config;
pub mod rules;

#[cfg(test)]
mod tests;

use sluice_policy_sdk::prelude::*;

use crate::config::Rules;

/// The plugin: its validated rules.
pub struct TenantIsolation {
    rules: Rules,
}

impl Policy for TenantIsolation {
    fn init(config: &str) -> Result<Self, String> {
        Ok(TenantIsolation { rules: Rules::from_json(config)? })
    }

    fn evaluate(&self, query: &Query) -> Decision {
        rules::evaluate(&self.rules, query, host::now_ms())
    }
}

sluice_policy_sdk::export_policy!(TenantIsolation);
