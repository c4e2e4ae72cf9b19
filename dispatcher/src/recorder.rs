//! The outcome recorder: one task per process that writes delivery outcomes in batches, each batch
//! in one short transaction. Deliveries hand their outcome over a bounded channel, so when the
//! database is slow or down the channel fills and deliveries wait: outcomes are retried until
//! written, never dropped. Runs released at shutdown go back to pending in the same way.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use store::dispatch::{self, Outcome};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::clock::SharedClock;
use crate::wake::Wake;

/// Most outcomes written per transaction.
pub const RECORD_BATCH: usize = 1_000;

#[derive(Debug)]
pub enum Report {
    Outcome(Outcome),
    /// Claimed but never sent (shutdown): hand it back.
    Release(Uuid),
}

/// Writes reports until every sender is gone and the channel is drained. When `abandon` fires
/// (well after shutdown) while the database is unreachable, the unwritten batch is dropped: its
/// leases expire and the rescuer of a surviving instance re-runs it with the same webhook-id.
pub async fn run(
    pool: PgPool,
    me: String,
    clock: SharedClock,
    wake: Arc<Wake>,
    mut rx: mpsc::Receiver<Report>,
    abandon: CancellationToken,
) {
    let mut buf = Vec::with_capacity(RECORD_BATCH);
    while rx.recv_many(&mut buf, RECORD_BATCH).await > 0 {
        let mut outcomes = Vec::with_capacity(buf.len());
        let mut released = Vec::new();
        for report in buf.drain(..) {
            match report {
                Report::Outcome(o) => outcomes.push(o),
                Report::Release(id) => released.push(id),
            }
        }
        let mut backoff = Duration::from_millis(50);
        loop {
            match write(&pool, &me, &outcomes, &released, &clock).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(error = %e, pending = outcomes.len() + released.len(), "recording outcomes failed; retrying");
                    tokio::select! {
                        _ = abandon.cancelled() => {
                            tracing::error!(lost = outcomes.len() + released.len(), "gave up recording at shutdown; leases will expire and be rescued");
                            break;
                        }
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        for o in &outcomes {
            if let Outcome::Retry { run_at, .. } = o {
                wake.hint(*run_at);
            }
        }
    }
}

async fn write(pool: &PgPool, me: &str, outcomes: &[Outcome], released: &[Uuid], clock: &SharedClock) -> Result<(), store::StoreError> {
    if !outcomes.is_empty() {
        let mut tx = pool.begin().await?;
        let report = dispatch::record(&mut tx, me, outcomes).await?;
        tx.commit().await?;
        metrics::histogram!("prikke_record_batch_size").record(outcomes.len() as f64);
        if report.stale > 0 {
            tracing::warn!(stale = report.stale, "outcomes for leases that had expired were not written (the runs were rescued)");
        }
    }
    if !released.is_empty() {
        let n = dispatch::release(pool, me, released, clock.now()).await?;
        tracing::info!(released = n, "handed back runs that were claimed but not sent");
    }
    Ok(())
}
