//! Organizations being deleted, as this process knows them (`store::erasure`), and the leader's
//! purge of those whose grace period ended.
//!
//! A deletion request cancels the organization's unfinished runs in the database, but runs this
//! process already claimed are held in memory until their instant. Each is checked against
//! [`Deleting`] just before it is sent. The set learns a deletion from `prikke_org_deleted` (at
//! the request's commit) and is read afresh from the database before every claim, which also
//! covers a notification lost while the listener reconnected, and forgets restored ones.

use std::collections::HashSet;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use store::erasure::PurgeStep;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[derive(Debug, Default)]
pub struct Deleting {
    ids: RwLock<HashSet<Uuid>>,
    /// Bumped by every notification, so a refresh read before one does not forget it.
    notified: AtomicU64,
}

impl Deleting {
    pub fn contains(&self, org_id: Uuid) -> bool {
        let ids = self.ids.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        ids.contains(&org_id)
    }

    /// A deletion announced on the channel.
    pub fn notified(&self, org_id: Uuid) {
        self.ids.write().unwrap_or_else(std::sync::PoisonError::into_inner).insert(org_id);
        self.notified.fetch_add(1, Ordering::SeqCst);
    }

    /// Reads the set afresh (restored organizations leave it). A notification that arrived while
    /// the query ran is kept.
    pub async fn refresh(&self, db: impl sqlx::PgExecutor<'_>) -> Result<(), store::StoreError> {
        let before = self.notified.load(Ordering::SeqCst);
        let fresh: HashSet<Uuid> = store::erasure::deleting(db).await?.into_iter().collect();
        let mut ids = self.ids.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.notified.load(Ordering::SeqCst) == before {
            *ids = fresh;
        } else {
            ids.extend(fresh);
        }
        Ok(())
    }
}

/// Erases every organization whose grace period ended by `now`, `batch` rows per statement,
/// stopping early on shutdown (the next round carries on). Returns how many it finished.
pub async fn purge(pool: &PgPool, now: DateTime<Utc>, batch: i64, shutdown: &CancellationToken) -> Result<u64, store::StoreError> {
    let mut done = 0;
    let mut conn = pool.acquire().await?;
    for org_id in store::erasure::due_for_purge(&mut *conn, now, 100).await? {
        let mut rows = 0;
        loop {
            if shutdown.is_cancelled() {
                return Ok(done);
            }
            match store::erasure::purge_step(&mut conn, org_id, now, batch).await? {
                PurgeStep::Deleted(_, n) => rows += n,
                PurgeStep::Done => {
                    tracing::info!(org_id = %org_id, rows, "organization purged after its deletion grace period");
                    done += 1;
                    break;
                }
                PurgeStep::NotDue => break,
            }
        }
    }
    Ok(done)
}
