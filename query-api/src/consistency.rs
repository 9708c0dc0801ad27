//! Read-your-writes: waiting, bounded, until the view has applied a given event.

use std::time::{Duration, Instant};

use schemas::ConsistencyToken;
use serde::Serialize;
use sqlx::PgPool;

/// How fresh an answer is relative to the token the caller sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Freshness {
    /// The token the caller sent.
    pub requested: ConsistencyToken,
    /// False when the view has applied the token's event: the answer includes that write.
    /// True when the wait ran out first: the answer is older than the caller's write.
    pub stale: bool,
    /// The next offset the view applies on the token's partition.
    pub view_next_offset: i64,
    /// How long the request waited for the view.
    pub waited_ms: u64,
}

/// How often the position is looked at while waiting: small next to a projector's commit
/// interval, cheap for Postgres (one primary-key read).
const POLL: Duration = Duration::from_millis(10);

/// Waits until `projection` has applied the event at `token` or `wait` has passed.
pub async fn wait_for(
    db: &PgPool,
    projection: &str,
    token: ConsistencyToken,
    wait: Duration,
) -> Result<Freshness, sqlx::Error> {
    let start = Instant::now();
    loop {
        let next = quotaview::position(db, projection, token.partition).await?;
        let reached = next > token.offset;
        if reached || start.elapsed() >= wait {
            return Ok(Freshness {
                requested: token,
                stale: !reached,
                view_next_offset: next,
                waited_ms: start.elapsed().as_millis() as u64,
            });
        }
        tokio::time::sleep(POLL.min(wait.saturating_sub(start.elapsed()))).await;
    }
}
