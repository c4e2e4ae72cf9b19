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
//!
//! A leader whose host vanishes, or whose traffic is silently dropped, closes nothing: Postgres
//! would keep its session, and the lock, until TCP gives up (hours). So the lock's session ends
//! itself on the server once it has been idle for [`idle_session_timeout`] (a healthy leader
//! checks in every `poll`), with TCP keepalives for a vanished host as well, and every check is
//! time-boxed ([`check_timeout`]): a leader that cannot hear back steps down.

use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use store::StoreError;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Runs until `shutdown`; publishes leadership changes on `tx`.
pub async fn run(options: PgConnectOptions, poll: Duration, tx: watch::Sender<bool>, shutdown: CancellationToken) {
    let idle = format!("{}ms", idle_session_timeout(poll).as_millis());
    let statement = format!("{}ms", check_timeout(poll).as_millis());
    let options = options.application_name("prikke-dispatcher-leader").options([
        ("idle_session_timeout", idle.as_str()),
        ("statement_timeout", statement.as_str()),
        ("tcp_keepalives_idle", "5"),
        ("tcp_keepalives_interval", "2"),
        ("tcp_keepalives_count", "3"),
        ("tcp_user_timeout", "10000"),
    ]);
    while !shutdown.is_cancelled() {
        let connect_limit = check_timeout(poll) * 5;
        let connected = match tokio::time::timeout(connect_limit, options.connect()).await {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(_) => Err(format!("no answer within {connect_limit:?}")),
        };
        let mut conn = match connected {
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

/// The server ends the lock's session after this long without a statement (it frees the lock
/// for a follower): ten polls, and never under 10 s.
pub fn idle_session_timeout(poll: Duration) -> Duration {
    (poll * 10).max(Duration::from_secs(10))
}

/// The longest a lock check may take before the connection counts as lost: two polls, and never
/// under 2 s.
pub fn check_timeout(poll: Duration) -> Duration {
    (poll * 2).max(Duration::from_secs(2))
}

/// Why the lock's connection is given up.
#[derive(Debug, thiserror::Error)]
enum LeaderError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no answer within {0:?}")]
    Silent(Duration),
}

/// Polls for the lock (as follower) or checks the connection (as leader) until shutdown
/// (`Ok`) or a database error or silence (`Err`).
async fn hold_or_wait(
    conn: &mut PgConnection,
    poll: Duration,
    tx: &watch::Sender<bool>,
    shutdown: &CancellationToken,
) -> Result<(), LeaderError> {
    let limit = check_timeout(poll);
    loop {
        if *tx.borrow() {
            tokio::time::timeout(limit, store::leader::check(conn)).await.map_err(|_| LeaderError::Silent(limit))??;
        } else if tokio::time::timeout(limit, store::leader::try_lead(conn)).await.map_err(|_| LeaderError::Silent(limit))?? {
            tracing::info!("became leader");
            tx.send_replace(true);
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(poll) => {}
        }
    }
}
