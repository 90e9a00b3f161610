//! The one wasmtime [`Engine`] of a Sluice process, and the epoch ticker that makes deadlines fire.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Cache, CacheConfig, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::config::{InstanceMode, PolicySettings};

/// How often the engine's epoch advances: the granularity of plugin deadlines.
pub const TICK: Duration = Duration::from_millis(1);

/// Memory pages kept resident (not returned to the OS) per pooled linear memory: resetting them
/// is a `memset` instead of a page fault storm on the next instantiation.
const KEEP_RESIDENT: usize = 1 << 20;

/// Caches: the engine (compiler settings, instance pool, artifact cache) for the process's life.
/// A ticker thread advances the epoch every `TICK` (1 ms) and stops when this is dropped.
pub struct PolicyEngine {
    engine: Engine,
    ticker: Option<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
}

impl PolicyEngine {
    /// Builds the engine for `settings`: epoch interruption, async support, the on-disk artifact
    /// cache, and a pooling allocator sized for the configured concurrency and memory limits
    /// (falling back to on-demand allocation where the pool cannot be reserved).
    ///
    /// # Errors
    /// When wasmtime rejects the configuration.
    pub fn new(settings: &PolicySettings) -> wasmtime::Result<Self> {
        let pooled = Engine::new(&config(settings, true)?);
        let engine = match pooled {
            Ok(engine) => engine,
            Err(e) => {
                tracing::warn!(error = %e, "cannot reserve the plugin instance pool; allocating on demand");
                Engine::new(&config(settings, false)?)?
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let (engine, stop) = (engine.weak(), Arc::clone(&stop));
            std::thread::Builder::new().name("sluice-epoch".into()).spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    match engine.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })?
        };
        Ok(PolicyEngine { engine, ticker: Some(ticker), stop })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

impl Drop for PolicyEngine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
    }
}

fn config(settings: &PolicySettings, pooling: bool) -> wasmtime::Result<Config> {
    let mut config = Config::new();
    config.epoch_interruption(true).wasm_component_model(true);
    if let Some(dir) = &settings.cache_dir {
        let mut cache = CacheConfig::new();
        cache.with_directory(dir);
        match Cache::new(cache) {
            Ok(cache) => {
                config.cache(Some(cache));
            }
            Err(e) => tracing::warn!(dir = %dir.display(), error = %e, "plugin artifact cache disabled"),
        }
    }
    if pooling {
        // Every evaluation holds one component instance; idle warm instances hold theirs too.
        let warm: usize = settings
            .plugins
            .iter()
            .map(|p| match p.mode {
                InstanceMode::Warm { instances, .. } => instances,
                InstanceMode::Fresh => 0,
            })
            .sum();
        let slots = u32::try_from(settings.max_concurrent_evaluations + warm).unwrap_or(u32::MAX);
        let max_memory = settings.plugins.iter().map(|p| p.memory_limit_bytes).max().unwrap_or(32 << 20);
        let mut pool = PoolingAllocationConfig::new();
        // Components built by componentize-py/-js hold dozens of core instances, several
        // memories and tables with tens of thousands of entries; the counts are only address
        // space reservations, so they are generous, and never sized for fewer than 16
        // evaluations: one Python component alone outgrows the share of a single slot.
        let reserve = slots.max(16);
        pool.total_component_instances(slots)
            .total_core_instances(reserve.saturating_mul(32))
            .total_memories(reserve.saturating_mul(4))
            .total_tables(reserve.saturating_mul(8))
            .total_stacks(slots)
            .max_memory_size(max_memory)
            .table_elements(200_000)
            .max_component_instance_size(4 << 20)
            .max_core_instance_size(4 << 20)
            .linear_memory_keep_resident(KEEP_RESIDENT);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    Ok(config)
}
