//! Rust bindings of the plugin contract, generated from `wit/policy.wit` (`sluice:policy@0.1.0`).
//!
//! Exports are `async` so a plugin runs on the request's tokio task as a fiber: the epoch ticker
//! interrupts it every tick, the store's callback yields to tokio (so a slow plugin never pins a
//! worker thread) and traps it once its deadline has passed. The alternative, synchronous calls on
//! `spawn_blocking`, would cost a thread hand-off per evaluation and could not be cancelled
//! cooperatively. Imports (`host`) stay synchronous: they are cheap and never wait.

#![allow(
    missing_docs,
    clippy::all,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "policy",
    exports: { default: async },
});

/// The contract version this host implements, as written in the WIT package.
pub const CONTRACT_PACKAGE: &str = "sluice:policy";
/// Major.minor of the contract version: plugins built for any `0.1.x` link.
pub const CONTRACT_VERSION: &str = "0.1.0";
/// The version range shown in messages.
pub const CONTRACT_RANGE: &str = "0.1.x";
