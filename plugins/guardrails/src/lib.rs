//! `guardrails`: Sluice's first-party policy plugin for the mistakes and risks every
//! deployment shares.
//!
//! Configured by JSON (reference: `plugins/README.md`, types: [`config`]); with no
//! configuration it denies DDL, UPDATE/DELETE without a restricting WHERE, system catalogs
//! and dangerous functions. It can also restrict tables per role, restrict writes to office
//! hours (fixed UTC offsets only) and hold statements for human approval.
//!
//! The rule logic ([`rules::evaluate`]) is plain Rust over the SDK's types and the clock is
//! a parameter, so it is unit-tested natively:
//! `cargo test --target x86_64-unknown-linux-gnu -p guardrails` (in `plugins/`).

pub mod catalog;
pub mod config;
pub mod hours;
pub mod pattern;
pub mod rules;

#[cfg(test)]
mod tests;

use sluice_policy_sdk::prelude::*;

use crate::config::Rules;

/// The plugin: its validated rules.
pub struct Guardrails {
    rules: Rules,
}

impl Policy for Guardrails {
    fn init(config: &str) -> Result<Self, String> {
        Ok(Guardrails { rules: Rules::from_json(config)? })
    }

    fn evaluate(&self, query: &Query) -> Decision {
        rules::evaluate(&self.rules, query, host::now_ms())
    }
}

sluice_policy_sdk::export_policy!(Guardrails);
