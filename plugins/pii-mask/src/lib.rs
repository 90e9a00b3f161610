//! `pii-mask`: Sluice's first-party plugin that masks personal data by column classification.
//!
//! The configuration maps column patterns (`table.column`, `*.column`, `schema.table.column`)
//! to mask specs (`email`, `partial(0,4)`, ...: the contract's `mask-kind` names and their
//! arguments). For every relation a statement touches it returns a column mask for each
//! configured column of that relation, whether or not the statement names the column (`SELECT *`
//! shows only `*` in the facts, and the rewrite needs the masks to expand it), plus one for each
//! named use of a matching column in another letter case. Principals with a role in
//! `clear_roles` get no masks.
//!
//! Configured by JSON (reference: `plugins/README.md`, types: [`config`]). The logic
//! ([`rules::evaluate`]) is plain Rust over the SDK's types, unit-tested natively:
//! `cargo test --target x86_64-unknown-linux-gnu -p pii-mask` (in `plugins/`).

pub mod config;
pub mod rules;
pub mod spec;

#[cfg(test)]
mod tests;

use sluice_policy_sdk::prelude::*;

use crate::config::Rules;

/// The plugin: its validated rules.
pub struct PiiMask {
    rules: Rules,
}

impl Policy for PiiMask {
    fn init(config: &str) -> Result<Self, String> {
        Ok(PiiMask { rules: Rules::from_json(config)? })
    }

    fn evaluate(&self, query: &Query) -> Decision {
        rules::evaluate(&self.rules, query, host::now_ms())
    }
}

sluice_policy_sdk::export_policy!(PiiMask);
