//! `test-counter`: allows, annotating `count` (evaluations so far in this instance, this one
//! included) and `inits` (how many times this instance ran `init`).
//!
//! With a fresh instance per statement both are always `1`; with warm instances `count`
//! grows, which is how a host test sees reuse (and state leaking between statements).

use std::sync::atomic::{AtomicU64, Ordering};

use sluice_policy_sdk::prelude::*;

/// Evaluations in this instance.
static EVALUATIONS: AtomicU64 = AtomicU64::new(0);
/// Initialisations of this instance.
static INITS: AtomicU64 = AtomicU64::new(0);

/// The plugin.
struct Counter;

impl Policy for Counter {
    fn init(_config: &str) -> Result<Self, String> {
        INITS.fetch_add(1, Ordering::Relaxed);
        Ok(Counter)
    }

    fn evaluate(&self, _query: &Query) -> Decision {
        let count = EVALUATIONS.fetch_add(1, Ordering::Relaxed) + 1;
        Decision::allow()
            .annotate("count", count.to_string())
            .annotate("inits", INITS.load(Ordering::Relaxed).to_string())
    }
}

sluice_policy_sdk::export_policy!(Counter);
