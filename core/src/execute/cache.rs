//! A datasource's catalog, cached: read once, re-read when it is older than its refresh
//! interval, and re-read on demand when a statement names a relation it does not list (a table
//! created since), at most once per [`MIN_RELOAD`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;

use super::{Catalog, Connector, ExecError};

/// The shortest time between two on-demand reloads, so that statements naming relations that do
/// not exist cannot make Sluice read the catalog on every request.
pub const MIN_RELOAD: Duration = Duration::from_secs(1);

struct Loaded {
    catalog: Arc<Catalog>,
    at: Instant,
}

/// A cached [`Catalog`]. Readers never wait for each other; one reload runs at a time.
pub struct CatalogCache {
    current: ArcSwapOption<Loaded>,
    reload: tokio::sync::Mutex<()>,
    max_age: Duration,
}

impl CatalogCache {
    /// An empty cache whose catalog is re-read once it is older than `max_age`.
    pub fn new(max_age: Duration) -> Self {
        CatalogCache { current: ArcSwapOption::empty(), reload: tokio::sync::Mutex::new(()), max_age }
    }

    /// The catalog, read from the database first if the cache is empty or stale.
    ///
    /// # Errors
    /// The connector's error when the catalog has to be read and cannot be.
    pub async fn get(&self, connector: &dyn Connector) -> Result<Arc<Catalog>, ExecError> {
        match self.current.load_full() {
            Some(loaded) if loaded.at.elapsed() < self.max_age => Ok(Arc::clone(&loaded.catalog)),
            _ => self.reload(connector, Duration::ZERO).await,
        }
    }

    /// Re-reads the catalog unless it was read less than `min_age` ago (then returns that one).
    ///
    /// # Errors
    /// The connector's error.
    pub async fn reload(
        &self,
        connector: &dyn Connector,
        min_age: Duration,
    ) -> Result<Arc<Catalog>, ExecError> {
        let asked = Instant::now();
        let _one_at_a_time = self.reload.lock().await;
        // Fresh enough, or reloaded by someone else while this caller waited for the lock.
        if let Some(loaded) = self.current.load_full()
            && (loaded.at >= asked || loaded.at.elapsed() < min_age)
        {
            return Ok(Arc::clone(&loaded.catalog));
        }
        let catalog = Arc::new(connector.catalog().await?);
        self.current.store(Some(Arc::new(Loaded { catalog: Arc::clone(&catalog), at: Instant::now() })));
        Ok(catalog)
    }

    /// Forgets the cached catalog (after a schema change through Sluice).
    pub fn invalidate(&self) {
        self.current.store(None);
    }
}
