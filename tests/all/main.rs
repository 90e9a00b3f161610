//! End-to-end tests: the real HTTP application, real PostgreSQL, MariaDB and SQLite.
//!
//! One binary, one harness (`harness.rs`); a module per feature. Each test gets its own
//! PostgreSQL schema / MySQL database / SQLite file, so tests run in parallel.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic, missing_docs)]

mod harness;

mod access;
mod api;
mod audit;
mod audit_requests;
mod auth;
mod cli;
mod config;
mod console;
mod errors;
mod fidelity;
mod literal_forms;
mod masks;
mod metrics;
mod mysql;
mod native_rls;
mod noninterference;
mod otlp;
mod plugin_cli;
mod plugins;
mod plugins_guardrails;
mod plugins_languages;
mod plugins_protect;
mod postgres;
mod protect_adversarial;
mod protect_differential;
mod quickstart;
mod readme;
mod recovery;
mod rewrite;
mod statements;
mod telemetry;
