//! `test-old-contract`: an allow-everything plugin built against `wit/` beside this crate, a
//! copy of the contract as `sluice:policy@0.0.9` whose `principal` record has an extra field.
//!
//! Its component imports `sluice:policy/types@0.0.9` (and `sluice:policy/host@0.0.9`, since it
//! logs), so a host that links `sluice:policy@0.1.0` must refuse to load it with a clear
//! "unsupported contract version" error, never call it.

#![allow(missing_docs, unsafe_op_in_unsafe_fn)]

mod bindings {
    wit_bindgen::generate!({ path: "wit", world: "policy" });
}

use bindings::sluice::policy::host::{Level, log};
use bindings::sluice::policy::types::{Decision, Query, Verdict};

/// The plugin.
struct Old;

impl bindings::Guest for Old {
    fn init(_config: String) -> Result<(), String> {
        log(Level::Info, "test-old-contract: init");
        Ok(())
    }

    fn evaluate(query: Query) -> Decision {
        Decision {
            verdict: Verdict::Allow,
            row_filters: Vec::new(),
            column_masks: Vec::new(),
            session_settings: Vec::new(),
            role: None,
            annotations: vec![("department".to_owned(), query.principal.department)],
        }
    }
}

bindings::export!(Old with_types_in bindings);
