//! [`PolicyRuntime`]: the engine, the linker and one slot per configured plugin.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::Semaphore;
use wasmtime::component::Linker;

use super::chain::{self, PluginResult};
use super::convert::{self, PolicyInput};
use super::engine::PolicyEngine;
use super::outcome::{ChainOutcome, Failure, FailureKind};
use super::plugin::{self, LoadedPlugin};
use super::reload::FileVersion;
use super::store::StoreState;
use crate::config::{PluginSettings, PolicySettings};

/// What a slot currently serves.
pub enum SlotState {
    /// A loaded plugin.
    Ready(LoadedPlugin),
    /// The file could not be loaded: every statement the plugin judges is denied.
    Unavailable(String),
}

/// One configured plugin. Readers take the current state with one atomic load and keep that
/// `Arc` for the whole evaluation, so a reload never waits for them and never changes a
/// plugin under a running request.
pub struct Slot {
    /// The plugin's configuration.
    pub settings: Arc<PluginSettings>,
    /// What it serves now.
    pub state: ArcSwap<SlotState>,
    /// The file version `state` was loaded from (or last failed to load from).
    pub seen: std::sync::Mutex<Option<FileVersion>>,
}

/// Caches: the engine and the linker for the life of the process, and each plugin's current
/// [`LoadedPlugin`] (swapped by hot reload). Stores are per evaluation (see [`LoadedPlugin`]).
pub struct PolicyRuntime {
    engine: PolicyEngine,
    linker: Linker<StoreState>,
    slots: Vec<Slot>,
    permits: Semaphore,
    reload_interval: Option<Duration>,
}

impl PolicyRuntime {
    /// Builds the engine and loads every plugin. A plugin that fails to load does not stop
    /// Sluice: its slot is unavailable (see [`PolicyRuntime::problems`]) and denies.
    ///
    /// # Errors
    /// When the engine cannot be created.
    pub fn new(settings: &PolicySettings) -> wasmtime::Result<Self> {
        let engine = PolicyEngine::new(settings)?;
        let linker = plugin::linker(engine.engine())?;
        let mut runtime = PolicyRuntime {
            engine,
            linker,
            slots: Vec::new(),
            permits: Semaphore::new(settings.max_concurrent_evaluations),
            reload_interval: settings.reload_interval,
        };
        for plugin in &settings.plugins {
            let settings = Arc::new(plugin.clone());
            let version = FileVersion::of(&settings.path);
            let state = runtime.load(&settings);
            if let SlotState::Unavailable(why) = &state {
                tracing::error!(plugin = %settings.name, reason = %why, "policy plugin unavailable; it denies every statement it judges");
            }
            runtime.slots.push(Slot {
                settings,
                state: ArcSwap::from_pointee(state),
                seen: std::sync::Mutex::new(version),
            });
        }
        Ok(runtime)
    }

    /// Loads (compiles, checks, links) `settings.path` as it is now.
    pub(super) fn load(&self, settings: &Arc<PluginSettings>) -> SlotState {
        match LoadedPlugin::load(Arc::clone(settings), &settings.path, self.engine.engine(), &self.linker) {
            Ok(plugin) => SlotState::Ready(plugin),
            Err(e) => SlotState::Unavailable(e.message),
        }
    }

    /// The slots, in chain order.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// How often plugin files are polled for changes; `None` when hot reload is off.
    pub fn reload_interval(&self) -> Option<Duration> {
        self.reload_interval
    }

    /// Plugins that cannot serve now, with the reason: `(name, reason)`.
    pub fn problems(&self) -> Vec<(String, String)> {
        self.slots
            .iter()
            .filter_map(|slot| match &**slot.state.load() {
                SlotState::Unavailable(why) => Some((slot.settings.name.clone(), why.clone())),
                SlotState::Ready(_) => None,
            })
            .collect()
    }

    /// Whether any plugin judges statements on `datasource`.
    pub fn judges(&self, datasource: &str) -> bool {
        self.slots.iter().any(|slot| slot.settings.judges(datasource))
    }

    /// Runs the chain for `input`: every plugin that judges its datasource, in order.
    pub async fn evaluate(&self, input: &PolicyInput<'_>) -> ChainOutcome {
        chain::combine(self.evaluate_each(input).await)
    }

    /// Each plugin's own validated decision (or failure), in chain order, before they are
    /// combined. `sluice plugin test` reports these, so a plugin's row filters and masks can be
    /// tested as data rather than as the gateway's fail-closed deny.
    pub async fn evaluate_each(&self, input: &PolicyInput<'_>) -> Vec<PluginResult> {
        let query = convert::query(input);
        let mut results = Vec::new();
        for slot in self.slots.iter().filter(|slot| slot.settings.judges(input.datasource)) {
            let state = slot.state.load_full();
            let result = match &*state {
                SlotState::Unavailable(why) => Err(Failure {
                    kind: FailureKind::Unavailable,
                    message: format!("it is unavailable: {why}"),
                }),
                SlotState::Ready(plugin) => {
                    // The semaphore is never closed; a closed one would only skip the bound.
                    let _permit = self.permits.acquire().await.ok();
                    match plugin.evaluate(&query).await {
                        Ok(decision) => convert::decision(&slot.settings.name, decision, input.facts).map_err(|why| {
                            tracing::warn!(plugin = %slot.settings.name, why, "malformed plugin decision");
                            Failure { kind: FailureKind::MalformedVerdict, message: format!("its decision is malformed: {why}") }
                        }),
                        Err(failure) => Err(failure),
                    }
                }
            };
            results.push(PluginResult {
                plugin: slot.settings.name.clone(),
                fail_open: slot.settings.fail_open,
                result,
            });
        }
        results
    }
}
