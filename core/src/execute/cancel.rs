//! Stopping a running statement from outside: the grant it runs under was revoked.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// A one-way signal that a running statement must stop now, before its timeout. Connectors
/// stop the statement on the server exactly as at the timeout, discard the connection, and
/// answer [`ExecError::Cancelled`](super::ExecError::Cancelled). [`Cancel::NEVER`] never fires.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Option<Arc<Signal>>);

#[derive(Debug, Default)]
struct Signal {
    fired: AtomicBool,
    notify: Notify,
}

impl Cancel {
    /// A signal that never fires: statements that only their timeout stops.
    pub const NEVER: Cancel = Cancel(None);

    /// A signal that fires when [`Cancel::fire`] is called on it or a clone.
    pub fn new() -> Self {
        Cancel(Some(Arc::default()))
    }

    /// Fires the signal; every waiter wakes, now and later.
    pub fn fire(&self) {
        if let Some(signal) = &self.0 {
            signal.fired.store(true, Ordering::Release);
            signal.notify.notify_waiters();
        }
    }

    /// True once fired: for code that polls, such as SQLite's progress handler.
    pub fn is_fired(&self) -> bool {
        self.0.as_ref().is_some_and(|s| s.fired.load(Ordering::Acquire))
    }

    /// Completes once fired; never for [`Cancel::NEVER`].
    pub async fn fired(&self) {
        let Some(signal) = &self.0 else { return std::future::pending().await };
        loop {
            // Registered before the check, so a fire between the two is not missed.
            let notified = signal.notify.notified();
            if signal.fired.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_fire_before_or_during_the_wait_is_seen() {
        let cancel = Cancel::new();
        let clone = cancel.clone();
        let waiter = tokio::spawn(async move { clone.fired().await });
        tokio::task::yield_now().await;
        cancel.fire();
        waiter.await.unwrap();
        assert!(cancel.is_fired());
        cancel.fired().await;
        assert!(!Cancel::NEVER.is_fired());
        let never = tokio::time::timeout(std::time::Duration::from_millis(20), Cancel::NEVER.fired()).await;
        assert!(never.is_err());
    }
}
