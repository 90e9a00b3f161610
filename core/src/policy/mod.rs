//! The policy stage: WebAssembly plugins (`wit/policy.wit`) judge each statement.
//!
//! Entry point: [`PolicyRuntime::evaluate`], facts in, a combined [`ChainOutcome`] out. Lifecycle,
//! from longest-lived to shortest: [`PolicyEngine`] (engine, epoch ticker, artifact cache: once
//! per process) -> [`PolicyRuntime`] (linker, slots: once per process) -> [`LoadedPlugin`]
//! (compiled component and `InstancePre`: once per plugin file version) -> a store per
//! evaluation (dropped after it; warm mode reuses up to `max_reuse` times, never after a trap).

mod bindings;
mod chain;
mod convert;
mod engine;
mod host;
mod outcome;
mod plugin;
mod reload;
mod runtime;
mod store;
#[cfg(test)]
mod tests;

pub use bindings::{CONTRACT_RANGE, CONTRACT_VERSION};
pub use chain::{PluginResult, combine};
pub use convert::{PolicyInput, RequestMeta};
pub use engine::PolicyEngine;
pub use outcome::{
    Approval, ApprovalRequest, ChainOutcome, ChainVerdict, ColumnMask, Denial, Failure, FailureKind,
    MaskKind, ParamSource, PluginDecision, RowFilter, Verdict,
};
pub use plugin::{LoadError, LoadedPlugin};
pub use reload::spawn as spawn_reloader;
pub use runtime::{PolicyRuntime, Slot, SlotState};
