//! `test-trap`: panics in `evaluate` (or in `init` when its configuration is the JSON string
//! `"init"`); plugins are built with `panic = "abort"`, so the panic is a wasm trap
//! (`unreachable`) after the panic message is written to the (empty) WASI stderr.

use sluice_policy_sdk::prelude::*;

/// The plugin.
struct Crash;

impl Policy for Crash {
    fn init(config: &str) -> Result<Self, String> {
        if config.trim() == "\"init\"" {
            panic!("test-trap: deliberate panic in init");
        }
        Ok(Crash)
    }

    fn evaluate(&self, _query: &Query) -> Decision {
        panic!("test-trap: deliberate panic in evaluate")
    }
}

sluice_policy_sdk::export_policy!(Crash);
