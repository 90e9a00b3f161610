//! A loaded plugin: one version of one plugin file, compiled once, contract checked, linked.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};

use super::bindings::sluice::policy::types as wit;
use super::bindings::{CONTRACT_PACKAGE, CONTRACT_RANGE, CONTRACT_VERSION, Policy, PolicyPre};
use super::host::truncate;
use super::outcome::{Failure, FailureKind};
use super::store::{self, StoreState};
use crate::config::{InstanceMode, PluginSettings};

/// Caches: the linker (host interface plus an empty WASI), built once per engine.
///
/// # Errors
/// When wasmtime refuses to define an import (a bug).
pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<StoreState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    Policy::add_to_linker::<StoreState, wasmtime::component::HasSelf<StoreState>>(&mut linker, |state| {
        state
    })?;
    Ok(linker)
}

/// Why a plugin file could not be loaded.
#[derive(Debug, Clone)]
pub struct LoadError {
    /// Safe for callers and `sluice check` (no paths into the host beyond the plugin's own).
    pub message: String,
}

/// An instance kept warm, with the number of evaluations it has served.
struct Warm {
    store: Store<StoreState>,
    bindings: Policy,
    uses: u32,
}

/// Caches: the compiled component and its `InstancePre` (imports resolved, contract version
/// checked), once per file version; in warm mode, also up to `warm_instances` idle instances.
/// Every evaluation otherwise gets a new store, dropped afterwards.
pub struct LoadedPlugin {
    name: Arc<str>,
    settings: Arc<PluginSettings>,
    engine: Engine,
    pre: PolicyPre<StoreState>,
    warm: Mutex<Vec<Warm>>,
}

impl LoadedPlugin {
    /// Compiles `path` (or takes it from the artifact cache), checks which contract version it
    /// was built for, and links it.
    ///
    /// # Errors
    /// A [`LoadError`] saying what is wrong, e.g. `built for contract sluice:policy@0.0.9; this
    /// Sluice supports 0.1.x`.
    pub fn load(
        settings: Arc<PluginSettings>,
        path: &Path,
        engine: &Engine,
        linker: &Linker<StoreState>,
    ) -> Result<Self, LoadError> {
        let fail = |message: String| LoadError { message };
        let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
        let component = Component::new(engine, &bytes).map_err(|e| {
            tracing::warn!(plugin = %settings.name, error = ?e, "plugin does not compile");
            fail(format!("{} is not a valid WebAssembly component", path.display()))
        })?;
        check_contract(&component, engine).map_err(fail)?;
        let pre = linker.instantiate_pre(&component).and_then(PolicyPre::new).map_err(|e| {
            tracing::warn!(plugin = %settings.name, error = ?e, "plugin does not link");
            fail(format!("it does not link against sluice:policy@{CONTRACT_VERSION}: {}", root_message(&e)))
        })?;
        Ok(LoadedPlugin {
            name: Arc::from(settings.name.as_str()),
            settings,
            engine: engine.clone(),
            pre,
            warm: Mutex::new(Vec::new()),
        })
    }

    /// Runs `query` through the plugin: in a fresh store (instantiate, `init`, `evaluate`), or on
    /// a warm instance. The plugin's whole work is bounded by its `timeout_ms`.
    ///
    /// # Errors
    /// A [`Failure`] when the plugin timed out, ran out of memory, trapped or refused to init.
    pub async fn evaluate(&self, query: &wit::Query) -> Result<wit::Decision, Failure> {
        let deadline = Instant::now() + self.settings.timeout;
        let now_ms = query.request.received_at_ms;
        let InstanceMode::Warm { max_reuse, instances } = self.settings.mode else {
            let (mut store, bindings) = self.instantiate(deadline, now_ms).await?;
            return bindings.call_evaluate(&mut store, query).await.map_err(|e| self.failure(&store, &e));
        };
        let idle = self.warm.lock().ok().and_then(|mut pool| pool.pop());
        let mut warm = match idle {
            Some(mut warm) => {
                store::rearm(&mut warm.store, deadline, now_ms);
                warm
            }
            None => {
                let (store, bindings) = self.instantiate(deadline, now_ms).await?;
                Warm { store, bindings, uses: 0 }
            }
        };
        // On failure `warm` is dropped here: a trapped instance is never entered again.
        let decision = warm
            .bindings
            .call_evaluate(&mut warm.store, query)
            .await
            .map_err(|e| self.failure(&warm.store, &e))?;
        warm.uses += 1;
        if warm.uses < max_reuse
            && let Ok(mut pool) = self.warm.lock()
            && pool.len() < instances
        {
            pool.push(warm);
        }
        Ok(decision)
    }

    async fn instantiate(
        &self,
        deadline: Instant,
        now_ms: u64,
    ) -> Result<(Store<StoreState>, Policy), Failure> {
        let mut store = store::new_store(
            &self.engine,
            Arc::clone(&self.name),
            self.settings.memory_limit_bytes,
            deadline,
            now_ms,
        );
        let bindings = self.pre.instantiate_async(&mut store).await.map_err(|e| self.failure(&store, &e))?;
        match bindings.call_init(&mut store, &self.settings.config_json).await {
            Ok(Ok(())) => Ok((store, bindings)),
            Ok(Err(message)) => Err(Failure {
                kind: FailureKind::InitFailed,
                message: format!("its init refused the configuration: {}", truncate(&message, 512)),
            }),
            Err(e) => Err(self.failure(&store, &e)),
        }
    }

    fn failure(&self, store: &Store<StoreState>, error: &wasmtime::Error) -> Failure {
        let kind = store::classify(store, error);
        tracing::warn!(plugin = %self.name, kind = kind.name(), error = ?error, "plugin failed");
        let message = match kind {
            FailureKind::Timeout => format!("it ran past its {} ms limit", self.settings.timeout.as_millis()),
            FailureKind::OutOfMemory => {
                format!("it exceeded its {} MiB memory limit", self.settings.memory_limit_bytes >> 20)
            }
            _ => match error.downcast_ref::<wasmtime::Trap>() {
                Some(trap) => format!("it trapped: {trap}"),
                None => "it trapped".to_string(),
            },
        };
        Failure { kind, message }
    }
}

/// Reads the contract version the component was built for from its imports
/// (`sluice:policy/host@X.Y.Z`), before linking, so a mismatch gets a clear message instead of
/// a type error.
fn check_contract(component: &Component, engine: &Engine) -> Result<(), String> {
    let ty = component.component_type();
    let prefix = format!("{CONTRACT_PACKAGE}/");
    let versions: Vec<&str> = ty
        .imports(engine)
        .filter_map(|(name, _)| name.strip_prefix(&prefix))
        .filter_map(|rest| rest.split_once('@').map(|(_, version)| version))
        .collect();
    let exports_evaluate = ty.exports(engine).any(|(name, _)| name == "evaluate");
    let Some(version) = versions.first() else {
        return Err(format!(
            "it imports no {CONTRACT_PACKAGE} interface; it is not a Sluice policy plugin (expected contract {CONTRACT_RANGE})"
        ));
    };
    if !versions.iter().all(|v| same_minor(v, CONTRACT_VERSION)) {
        return Err(format!(
            "built for contract {CONTRACT_PACKAGE}@{version}; this Sluice supports {CONTRACT_RANGE}"
        ));
    }
    if !exports_evaluate {
        return Err("it does not export `evaluate`; it is not a Sluice policy plugin".into());
    }
    Ok(())
}

/// Semver compatibility as the component model applies it to `0.x`: same major and minor.
fn same_minor(a: &str, b: &str) -> bool {
    let major_minor = |v: &str| v.split('.').take(2).map(str::to_string).collect::<Vec<_>>();
    major_minor(a) == major_minor(b)
}

fn root_message(error: &wasmtime::Error) -> String {
    truncate(&error.root_cause().to_string(), 300).to_string()
}
