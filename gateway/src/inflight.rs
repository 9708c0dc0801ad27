//! Calls still settling: a call's accounting outlives its HTTP request (the client may be
//! gone), so a stopping gateway waits for them before it exits.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// Counts the calls whose hold is not resolved yet.
#[derive(Debug, Clone, Default)]
pub struct Inflight {
    count: Arc<AtomicUsize>,
    idle: Arc<Notify>,
}

/// One call being accounted for; dropping it marks the call resolved.
#[derive(Debug)]
pub struct InflightGuard(Inflight);

impl Inflight {
    /// Marks a call as started.
    pub fn start(&self) -> InflightGuard {
        self.count.fetch_add(1, Ordering::SeqCst);
        InflightGuard(self.clone())
    }

    /// Calls not yet resolved.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Waits until every call is resolved, at most `limit`; returns how many are left.
    pub async fn drain(&self, limit: Duration) -> usize {
        let _ = tokio::time::timeout(limit, async {
            loop {
                let idle = self.idle.notified();
                if self.count() == 0 {
                    return;
                }
                idle.await;
            }
        })
        .await;
        self.count()
    }
}

impl Drop for InflightGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}
