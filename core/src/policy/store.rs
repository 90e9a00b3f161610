//! One evaluation's sandbox: a [`Store`] with an empty WASI context, memory and instance
//! limits, and a deadline. Fresh stores are dropped after one evaluation; a store that trapped
//! is never entered again.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, ResourceLimiter, Store, Trap, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::outcome::FailureKind;

/// Tables a plugin may grow to, in elements.
const MAX_TABLE_ELEMENTS: usize = 200_000;
/// Instances (core and component) per store: componentize-py components hold dozens.
const MAX_INSTANCES: usize = 256;

/// The data of one plugin store: what the host interface and WASI see, and the limits.
pub struct StoreState {
    /// The plugin's name, for logs.
    pub plugin: Arc<str>,
    /// Lines logged in the current evaluation.
    pub log_lines: u32,
    /// What `now-ms` answers: the time the request was received, so every plugin judging a
    /// request sees one instant and `sluice plugin test` cases can fix the clock.
    pub now_ms: u64,
    wasi: WasiCtx,
    table: ResourceTable,
    limits: Limits,
    deadline: Instant,
    timed_out: bool,
}

/// Memory and table limits; remembers whether the plugin hit the memory limit, so the failure
/// is reported as `out_of_memory` however the guest reacts to a failed `memory.grow`.
struct Limits {
    memory_bytes: usize,
    memory_exceeded: bool,
}

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let ok = desired <= self.memory_bytes;
        self.memory_exceeded |= !ok;
        Ok(ok)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_INSTANCES
    }

    fn memories(&self) -> usize {
        MAX_INSTANCES
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// The WASI context every plugin gets: nothing. No preopened directories, no environment
/// variables, no arguments, stdin closed, stdout/stderr discarded, no sockets or name lookups.
/// Plugins import WASI even when pure (and Python asks for its environment on the first call),
/// so the interfaces are linked, but they reach nothing.
pub fn empty_wasi() -> WasiCtx {
    WasiCtx::builder().allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false).build()
}

/// Creates a store for `plugin` with `memory_bytes` of linear memory and a deadline.
pub fn new_store(
    engine: &Engine,
    plugin: Arc<str>,
    memory_bytes: usize,
    deadline: Instant,
    now_ms: u64,
) -> Store<StoreState> {
    let state = StoreState {
        plugin,
        log_lines: 0,
        now_ms,
        wasi: empty_wasi(),
        table: ResourceTable::new(),
        limits: Limits { memory_bytes, memory_exceeded: false },
        deadline,
        timed_out: false,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limits);
    // The ticker advances the epoch every tick; at each tick the callback yields to tokio, or
    // traps once the deadline has passed.
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut ctx| {
        if Instant::now() >= ctx.data().deadline {
            let state = ctx.data_mut();
            state.timed_out = true;
            Ok(UpdateDeadline::Interrupt)
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });
    store
}

/// Starts a new evaluation on a (possibly reused) store: new deadline and clock, fresh log budget.
pub fn rearm(store: &mut Store<StoreState>, deadline: Instant, now_ms: u64) {
    let state = store.data_mut();
    state.deadline = deadline;
    state.now_ms = now_ms;
    state.log_lines = 0;
    store.set_epoch_deadline(1);
}

/// Why a call into the plugin failed, from the store's records first (deadline, memory
/// limit), then from the error itself.
pub fn classify(store: &Store<StoreState>, error: &wasmtime::Error) -> FailureKind {
    let state = store.data();
    if state.timed_out {
        FailureKind::Timeout
    } else if state.limits.memory_exceeded {
        FailureKind::OutOfMemory
    } else if matches!(error.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
        FailureKind::Timeout
    } else {
        FailureKind::Trap
    }
}
