//! Leader election with a Postgres session advisory lock held on a dedicated connection.
//!
//! State machine (one per process):
//!
//! ```text
//!   Disconnected ──connect ok──► Follower ──pg_try_advisory_lock = true──► Leader
//!        ▲                          │  ▲                                      │
//!        └──── any query error ─────┘  └──── (never: the lock is held until) ─┘
//!        ▲                                    the session ends)               │
//!        └──────────────── any query error / connection lost ─────────────────┘
//! ```
//!
//! The lock belongs to the session, so losing the connection is losing leadership: Postgres
//! releases it when the backend exits, and a follower (polling every `poll`) takes over within
//! about one poll interval plus the time Postgres needs to notice the dead peer (immediate for a
//! killed process, whose socket is closed by the kernel). The leader checks its own connection
//! every `poll` and steps down at the first error. A deposed leader may finish the tick it is in:
//! ticks are idempotent (unique `(job_id, scheduled_for)`, `SKIP LOCKED`), so overlap is harmless.

use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use store::StoreError;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Runs until `shutdown`; publishes leadership changes on `tx`.
pub async fn run(options: PgConnectOptions, poll: Duration, tx: watch::Sender<bool>, shutdown: CancellationToken) {
    let options = options.application_name("prikke-dispatcher-leader");
    while !shutdown.is_cancelled() {
        let mut conn = match options.connect().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "leader election: cannot connect; retrying");
                tokio::select! { _ = shutdown.cancelled() => break, _ = tokio::time::sleep(poll) => continue }
            }
        };
        let result = hold_or_wait(&mut conn, poll, &tx, &shutdown).await;
        let was_leader = *tx.borrow();
        tx.send_replace(false);
        match result {
            Ok(()) => {
                if was_leader {
                    // clean shutdown: let a follower take over now rather than at our disconnect
                    let _ = store::leader::step_down(&mut conn).await;
                    tracing::info!("leadership released");
                }
                let _ = conn.close().await;
                break;
            }
            Err(e) => {
                if was_leader {
                    tracing::warn!(error = %e, "lost the leader connection; stepping down");
                } else {
                    tracing::warn!(error = %e, "leader election connection failed; reconnecting");
                }
            }
        }
    }
    tx.send_replace(false);
}

/// Polls for the lock (as follower) or checks the connection (as leader) until shutdown
/// (`Ok`) or a database error (`Err`).
async fn hold_or_wait(
    conn: &mut PgConnection,
    poll: Duration,
    tx: &watch::Sender<bool>,
    shutdown: &CancellationToken,
) -> Result<(), StoreError> {
    loop {
        if *tx.borrow() {
            store::leader::check(conn).await?;
        } else if store::leader::try_lead(conn).await? {
            tracing::info!("became leader");
            tx.send_replace(true);
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(poll) => {}
        }
    }
}
