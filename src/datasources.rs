//! Datasource wiring: each configured datasource gets the connector crate for its kind. This is
//! the only place that matches on the database kind; everything after it asks the connector.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context as _;
use sluice_core::config::{Config, DatasourceKind, DatasourceSettings, Target};
use sluice_core::execute::Connector;

/// Builds one connector per configured datasource. Servers are not contacted here: pools
/// connect on first use, so Sluice starts (and reports not-ready) while a database is down.
///
/// # Errors
/// When a connector cannot be set up, e.g. an SQLite bootstrap script fails.
pub async fn connect_all(config: &Config) -> anyhow::Result<BTreeMap<String, Arc<dyn Connector>>> {
    let mut connectors = BTreeMap::new();
    for (name, settings) in &config.datasources {
        let connector = connect(name, settings).await.with_context(|| format!("datasource {name}"))?;
        connectors.insert(name.clone(), connector);
    }
    Ok(connectors)
}

async fn connect(name: &str, s: &DatasourceSettings) -> anyhow::Result<Arc<dyn Connector>> {
    Ok(match (&s.kind, &s.target) {
        (DatasourceKind::Postgres, Target::Url(url)) => {
            let options = sluice_postgres::PostgresOptions {
                url: url.clone(),
                pool_size: s.pool_size,
                connect_timeout: s.connect_timeout,
                application_name: format!("sluice:{name}"),
            };
            Arc::new(sluice_postgres::PostgresConnector::new(options)?)
        }
        (DatasourceKind::Mysql, Target::Url(url)) => {
            let options = sluice_mysql::MySqlOptions {
                url: url.clone(),
                pool_size: s.pool_size,
                connect_timeout: s.connect_timeout,
            };
            Arc::new(sluice_mysql::MySqlConnector::new(options)?)
        }
        (DatasourceKind::Sqlite, Target::Sqlite { path, bootstrap }) => {
            let options = sluice_sqlite::SqliteOptions {
                path: path.clone(),
                pool_size: s.pool_size,
                bootstrap: bootstrap.clone(),
                read_only: false,
                acquire_timeout: s.connect_timeout,
            };
            // Bootstrapping runs SQL files on the blocking file system.
            let connector = tokio::task::spawn_blocking(move || sluice_sqlite::SqliteConnector::new(options))
                .await
                .context("bootstrap task")??;
            Arc::new(connector)
        }
        (kind, _) => anyhow::bail!("{kind:?} datasource with a mismatched target (a config validation bug)"),
    })
}
