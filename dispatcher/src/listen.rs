//! LISTEN on the wake-up channels (`store::notify`): turns due-work notifications from the API
//! and the leader into wake-ups of the claim loop, and account-mail notifications into a wake-up
//! of the sender. On any connection loss it reconnects and wakes the claim loop once,
//! since notifications sent while disconnected are lost (the poll would catch them too, only
//! later).

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use store::notify::parse_due_payload;
use tokio_util::sync::CancellationToken;

use crate::wake::Wake;

pub async fn run(pool: PgPool, wake: Arc<Wake>, mail: Arc<tokio::sync::Notify>, deleting: Arc<crate::erasure::Deleting>, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        let mut listener = match store::notify::listen_due(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "listener: cannot connect or LISTEN; retrying");
                tokio::select! { _ = shutdown.cancelled() => return, _ = tokio::time::sleep(Duration::from_secs(1)) => continue }
            }
        };
        wake.now();
        mail.notify_one();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                msg = listener.try_recv() => match msg {
                    Ok(Some(n)) if n.channel() == store::notify::MAIL_CHANNEL => mail.notify_one(),
                    Ok(Some(n)) if n.channel() == store::erasure::DELETED_CHANNEL => match n.payload().parse() {
                        Ok(org_id) => deleting.notified(org_id),
                        Err(_) => tracing::warn!(payload = n.payload(), "listener: a deletion notice without an organization id"),
                    },
                    Ok(Some(n)) => match parse_due_payload(n.payload()) {
                        Some(at) => wake.hint(at),
                        None => wake.now(),
                    },
                    // the connection dropped; try_recv reconnects on the next call
                    Ok(None) => wake.now(),
                    Err(e) => {
                        tracing::warn!(error = %e, "listener: connection failed; reconnecting");
                        break;
                    }
                }
            }
        }
    }
}
