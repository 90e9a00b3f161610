//! The `sluice` binary's library half: it connects the configured datasources to their
//! connector crates and runs the server, and holds the client commands (`sluice access`,
//! `sluice audit`, `sluice plugin`). `main.rs` only parses the command line.

pub mod access;
pub mod audit;
pub mod datasources;
pub mod plugin;
pub mod server;
pub mod telemetry;

use std::sync::Arc;

use sluice_core::config::Config;
use sluice_core::gateway::Gateway;

/// Builds a ready [`Gateway`] from a validated configuration: one connector per datasource.
/// Connecting is lazy, so this succeeds while databases are down; `/readyz` tells. Policy
/// plugins are compiled here, and their hot-reload task starts (it ends with the gateway).
///
/// # Errors
/// When a connector cannot be set up (e.g. an SQLite bootstrap script fails).
pub async fn build_gateway(config: Config) -> anyhow::Result<Arc<Gateway>> {
    let connectors = datasources::connect_all(&config).await?;
    // Compiling plugins can take seconds (Python, JavaScript): off the async workers.
    let gateway = tokio::task::spawn_blocking(move || Gateway::new(config, connectors)).await??;
    if let Some(policy) = &gateway.policy {
        sluice_core::policy::spawn_reloader(policy);
    }
    Ok(Arc::new(gateway))
}
