//! What Sluice offers a plugin: its log and its clock. Nothing else is reachable (no files,
//! network, environment or WASI clock: the host grants an empty WASI context).
//!
//! These functions call into the host, so they only work inside a component; native unit
//! tests should take the time as a parameter instead of calling [`now_ms`].

pub use crate::bindings::sluice::policy::host::Level;

/// Writes `message` to Sluice's log at `level`, under the plugin's name (rate-limited by the host).
pub fn log(level: Level, message: &str) {
    crate::bindings::sluice::policy::host::log(level, message);
}

/// [`log`] at `debug`.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// [`log`] at `info`.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// [`log`] at `warn`.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// [`log`] at `error`.
pub fn error(message: &str) {
    log(Level::Error, message);
}

/// The host's clock: milliseconds since the Unix epoch, UTC.
pub fn now_ms() -> u64 {
    crate::bindings::sluice::policy::host::now_ms()
}
