//! The `host` interface: what a plugin may call. Logging and a clock, nothing else.

use super::bindings::sluice::policy::{host, types};
use super::store::StoreState;

/// Lines a plugin may log per evaluation; the rest are counted and reported once.
pub const MAX_LOG_LINES: u32 = 32;
/// Bytes kept of one log message.
pub const MAX_LOG_BYTES: usize = 1024;

impl types::Host for StoreState {}

impl host::Host for StoreState {
    fn log(&mut self, level: host::Level, message: String) {
        self.log_lines = self.log_lines.saturating_add(1);
        if self.log_lines > MAX_LOG_LINES {
            if self.log_lines == MAX_LOG_LINES + 1 {
                tracing::warn!(plugin = %self.plugin, "plugin log rate limit reached; further lines dropped");
            }
            return;
        }
        let message = truncate(&message, MAX_LOG_BYTES);
        let plugin = &*self.plugin;
        match level {
            host::Level::Debug => tracing::debug!(plugin, message, "plugin log"),
            host::Level::Info => tracing::info!(plugin, message, "plugin log"),
            host::Level::Warn => tracing::warn!(plugin, message, "plugin log"),
            host::Level::Error => tracing::error!(plugin, message, "plugin log"),
        }
    }

    fn now_ms(&mut self) -> u64 {
        self.now_ms
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}
