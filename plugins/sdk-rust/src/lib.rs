//! Write Sluice policy plugins in Rust.
//!
//! A plugin is a WebAssembly component implementing the world `policy` of the contract
//! `sluice:policy@0.1.0` (`wit/policy.wit`). With this crate it is one trait impl and one macro:
//!
//! ```
//! use sluice_policy_sdk::prelude::*;
//!
//! /// Denies writes to `audit_log`.
//! struct Guard {
//!     table: String,
//! }
//!
//! impl Policy for Guard {
//!     fn init(config: &str) -> Result<Self, String> {
//!         // `config` is the plugin's configuration as JSON (`""` when none is configured).
//!         let table = if config.trim().is_empty() { "audit_log".to_owned() } else { config.trim().to_owned() };
//!         Ok(Guard { table })
//!     }
//!
//!     fn evaluate(&self, query: &Query) -> Decision {
//!         if query.statement.touches(None, &self.table, Some(Access::Write)) {
//!             return Decision::deny(format!("{} is append-only for applications", self.table));
//!         }
//!         Decision::allow()
//!     }
//! }
//!
//! sluice_policy_sdk::export_policy!(Guard);
//! # fn main() {}
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2` as a `cdylib`
//! (see `plugins/README.md`).
//!
//! # Lifecycle
//!
//! Sluice instantiates a plugin afresh for every statement by default: `init` then `evaluate`
//! run once each and the instance is dropped. With warm instances enabled for the plugin,
//! several `evaluate` calls share one `init` (and any state the plugin keeps), so a plugin
//! must give the same answer either way. A trap (panic, out of memory, deadline) ends the
//! instance and denies the statement.
//!
//! # Types
//!
//! The contract's types are re-exported under their WIT names ([`Query`], [`Decision`],
//! [`Relation`], ...), with helpers in [`facts`] (reading a query) and [`decision`] (building a
//! decision). [`host`] is the host's log and clock.

pub mod bindings;
pub mod decision;
pub mod facts;
pub mod host;

// Lets the generated code refer to this crate as `::sluice_policy_sdk` from inside it.
extern crate self as sluice_policy_sdk;

use std::cell::RefCell;

pub use bindings::sluice::policy::types::{
    Access, Approval, ColumnMask, ColumnUsage, ColumnUse, Datasource, Decision, Dialect, FilterParam, Grant,
    MaskKind, ParamSource, Principal, Properties, Query, Relation, RelationAccess, Request, RowFilter,
    Statement, StatementKind, Verdict,
};

/// The contract version this SDK builds plugins for (the WIT package version).
pub const CONTRACT_VERSION: &str = "0.1.0";

/// Everything a plugin usually needs: `use sluice_policy_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::host;
    pub use crate::{
        Access, Decision, Dialect, FilterParam, MaskKind, Policy, Principal, Query, Relation, Statement,
        StatementKind, Verdict,
    };
}

/// A policy plugin: built once per instance from its configuration, then asked about statements.
pub trait Policy: Sized + 'static {
    /// Parses the plugin's configuration (JSON as written in Sluice's config; `""` when none).
    ///
    /// Called once per instance. An `Err` makes Sluice refuse every statement this plugin
    /// judges (fail closed); its text is logged for the operator, not shown to callers.
    fn init(config: &str) -> Result<Self, String>;

    /// Judges one statement. Must not panic on any input: a panic traps the instance, which
    /// Sluice treats as a deny.
    fn evaluate(&self, query: &Query) -> Decision;
}

/// Exports a [`Policy`] implementation as the component's `init` and `evaluate`.
///
/// Use it once, at the root of the plugin's `cdylib` crate: `export_policy!(MyPolicy);`.
/// The instance keeps the value `init` returned for later `evaluate` calls; `evaluate`
/// before a successful `init` denies.
#[macro_export]
macro_rules! export_policy {
    ($policy:ty) => {
        const _: () = {
            struct SluicePolicyExport;

            ::std::thread_local! {
                static SLUICE_POLICY_INSTANCE: $crate::__private::Instance<$policy> =
                    const { $crate::__private::Instance::new() };
            }

            impl $crate::bindings::Guest for SluicePolicyExport {
                fn init(config: ::std::string::String) -> ::std::result::Result<(), ::std::string::String> {
                    SLUICE_POLICY_INSTANCE.with(|instance| instance.init(&config))
                }

                fn evaluate(query: $crate::Query) -> $crate::Decision {
                    SLUICE_POLICY_INSTANCE.with(|instance| instance.evaluate(&query))
                }
            }

            // Only a component has the host to export to; native builds (unit tests) skip it.
            #[cfg(target_arch = "wasm32")]
    $crate::bindings::__export_policy_world!(SluicePolicyExport with_types_in $crate::bindings);
        };
    };
}

/// Support for [`export_policy!`]; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;

    use super::{Decision, Policy, Query, RefCell};

    /// The policy value of one component instance.
    pub struct Instance<P>(RefCell<Option<P>>);

    impl<P: Policy> Instance<P> {
        /// An instance before `init`.
        #[allow(clippy::new_without_default)]
        pub const fn new() -> Self {
            Instance(RefCell::new(None))
        }

        /// Runs [`Policy::init`] and keeps its value (a failed `init` clears an earlier one).
        pub fn init(&self, config: &str) -> Result<(), String> {
            let policy = P::init(config);
            let mut slot = self.0.borrow_mut();
            match policy {
                Ok(policy) => {
                    *slot = Some(policy);
                    Ok(())
                }
                Err(err) => {
                    *slot = None;
                    Err(err)
                }
            }
        }

        /// Runs [`Policy::evaluate`], or denies when `init` has not succeeded.
        pub fn evaluate(&self, query: &Query) -> Decision {
            match self.0.try_borrow().as_deref() {
                Ok(Some(policy)) => policy.evaluate(query),
                Ok(None) => Decision::deny("the policy plugin was not initialised"),
                Err(_) => Decision::deny("the policy plugin was re-entered"),
            }
        }
    }
}
