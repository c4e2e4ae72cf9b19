//! Periodic housekeeping: the heartbeat (every instance), the rescuer of expired leases (every
//! instance; SKIP LOCKED keeps them out of each other's way), and retention, late heartbeat
//! monitors, missed completion windows and queue-depth metrics (leader only).

use std::sync::Arc;
use std::time::Duration;

use chrono::{Datelike, Utc};
use domain::tier::Tier;
use sqlx::PgPool;
use store::dispatch;
use store::dispatch::retention::Expiring;
use store::status::Heartbeat;
use tokio_util::sync::CancellationToken;

use crate::clock::SharedClock;
use crate::status::Status;
use crate::wake::Wake;

/// Rows per retention DELETE: small enough to keep each transaction short.
const RETENTION_BATCH: i64 = 5_000;
/// Monitors taken down per chores round (every 5 s at most).
const MONITOR_BATCH: i64 = 1_000;

pub async fn heartbeat(
    pool: PgPool,
    clock: SharedClock,
    instance_id: String,
    version: String,
    status: Arc<Status>,
    every: Duration,
    shutdown: CancellationToken,
) {
    loop {
        let now = clock.now();
        let beat = Heartbeat {
            instance_id: &instance_id,
            version: &version,
            is_leader: status.is_leader(),
            last_tick_at: if status.is_leader() { status.last_tick() } else { None },
            fire_lag_ms: status.take_max_lag().map(|l| l.min(i64::from(i32::MAX)) as i32),
            now,
        };
        let ok = store::status::beat(&pool, &beat).await.is_ok();
        status.set_db_ok(ok);
        if !ok {
            tracing::warn!("heartbeat failed: Postgres unreachable");
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(every) => {}
        }
    }
    if let Err(e) = store::status::forget(&pool, &instance_id, clock.now()).await {
        tracing::warn!(error = %e, "could not remove this instance's heartbeat row");
    }
}

pub async fn rescuer(pool: PgPool, clock: SharedClock, wake: Arc<Wake>, every: Duration, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        match dispatch::rescue_expired(&pool, clock.now(), 1_000).await {
            Ok(rescued) => {
                if !rescued.retried.is_empty() {
                    tracing::warn!(count = rescued.retried.len(), "rescued executions whose lease expired");
                    metrics::counter!("prikke_rescued_total").increment(rescued.retried.len() as u64);
                    wake.now();
                }
                if !rescued.failed.is_empty() {
                    metrics::counter!("prikke_rescued_exhausted_total").increment(rescued.failed.len() as u64);
                }
            }
            Err(e) => tracing::warn!(error = %e, "rescuer failed; retrying"),
        }
    }
}

/// Leader-only chores, run every `every` while `status.is_leader()`.
pub async fn leader_chores(
    pool: PgPool,
    keyring: Arc<store::keyring::Keyring>,
    clock: SharedClock,
    status: Arc<Status>,
    every: Duration,
    alerts_raised: Arc<tokio::sync::Notify>,
    shutdown: CancellationToken,
) {
    let mut last_retention = None::<std::time::Instant>;
    let mut jobs_sealed = false;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(5).min(every)) => {}
        }
        if !status.is_leader() {
            continue;
        }
        queue_depth(&pool, clock.now()).await;
        if monitors_overdue(&pool, clock.now()).await + completions_missed(&pool, clock.now()).await > 0 {
            alerts_raised.notify_one();
        }
        if last_retention.is_none_or(|t| t.elapsed() >= every) {
            last_retention = Some(std::time::Instant::now());
            if let Err(e) = retention(&pool, clock.now(), RETENTION_BATCH, &shutdown).await {
                tracing::warn!(error = %e, "retention failed; will retry");
            }
            if let Err(e) = crate::erasure::purge(&pool, clock.now(), RETENTION_BATCH, &shutdown).await {
                tracing::warn!(error = %e, "purging deleted organizations failed; will retry");
            }
            match key_upkeep(&pool, &keyring, !jobs_sealed, &shutdown).await {
                Ok(()) => jobs_sealed = true,
                Err(e) => tracing::warn!(error = %e, "rewrapping data keys or sealing plain values failed; will retry"),
            }
        }
    }
}

/// Keeps secrets at rest as configured (see `store::keyring`): rewraps the data keys still
/// wrapped by an older master key with the current one (after which the older key can be
/// removed from `PRIKKE_ENCRYPTION_KEYS`), and seals signing secrets and, when `jobs` (once per
/// leadership), job header values that a release before encryption stored in plain text.
/// Bounded batches; stops early on shutdown.
pub async fn key_upkeep(pool: &PgPool, keyring: &store::keyring::Keyring, jobs: bool, shutdown: &CancellationToken) -> Result<(), store::StoreError> {
    // batches until one finds nothing left to do
    let rewrapped = drain(shutdown, 1, || keyring.rewrap(pool, KEY_BATCH)).await?;
    let secrets = drain(shutdown, 1, || keyring.seal_plain_secrets(pool, KEY_BATCH)).await?;
    let mut headers = 0;
    let mut after = None;
    while jobs && !shutdown.is_cancelled() {
        let (last, n) = keyring.seal_plain_job_headers(pool, after, KEY_BATCH).await?;
        headers += n;
        match last {
            Some(id) => after = Some(id),
            None => break,
        }
    }
    if rewrapped + secrets + headers > 0 {
        tracing::info!(rewrapped, secrets, jobs = headers, current_master_key = keyring.master().current().0, "secrets at rest brought up to date");
    }
    Ok(())
}

/// Runs `batch` until one does fewer than `full` rows (it found the end) or `shutdown` fires
/// (after a batch); how many rows all of them did.
async fn drain<F: std::future::Future<Output = Result<u64, store::StoreError>>>(shutdown: &CancellationToken, full: u64, mut batch: impl FnMut() -> F) -> Result<u64, store::StoreError> {
    let mut total = 0;
    loop {
        let n = batch().await?;
        total += n;
        if n < full || shutdown.is_cancelled() {
            return Ok(total);
        }
    }
}

/// Rows per statement of [`key_upkeep`].
const KEY_BATCH: i64 = 500;

/// Heartbeat monitors whose ping is late go down and raise `monitor_down` (bounded per round).
/// Heartbeat monitors whose ping is late or whose run hung go down; returns how many.
async fn monitors_overdue(pool: &PgPool, now: chrono::DateTime<Utc>) -> usize {
    match store::monitors::mark_overdue(pool, now, MONITOR_BATCH).await {
        Ok(ids) => {
            if !ids.is_empty() {
                tracing::warn!(count = ids.len(), "heartbeat monitors went down: expected ping is late");
                metrics::counter!("prikke_monitors_down_total").increment(ids.len() as u64);
            }
            ids.len()
        }
        Err(e) => {
            tracing::warn!(error = %e, "checking heartbeat monitors failed; retrying");
            0
        }
    }
}

/// Runs waiting for a completion ping whose window passed fail (bounded per round); returns how
/// many.
async fn completions_missed(pool: &PgPool, now: chrono::DateTime<Utc>) -> usize {
    match store::completion::fail_missed(pool, now, None, MONITOR_BATCH).await {
        Ok(ids) => {
            if !ids.is_empty() {
                tracing::warn!(count = ids.len(), "runs failed: their completion URL was not called within the window");
                metrics::counter!("prikke_completions_missed_total").increment(ids.len() as u64);
            }
            ids.len()
        }
        Err(e) => {
            tracing::warn!(error = %e, "checking completion windows failed; retrying");
            0
        }
    }
}

async fn queue_depth(pool: &PgPool, now: chrono::DateTime<Utc>) {
    match dispatch::queue_depth(pool, now).await {
        Ok(d) => metrics::gauge!("prikke_queue_depth").set(d as f64),
        Err(e) => tracing::warn!(error = %e, "reading the queue depth failed"),
    }
}

/// The cutoff for `what` as of `now`: rows past it have outlived their lifetime.
fn expiry_cutoff(what: Expiring, now: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    use domain::lifetimes as l;
    match what {
        Expiring::IdempotencyKeys => now - l::IDEMPOTENCY_KEY,
        Expiring::Sessions | Expiring::EmailTokens => now,
        Expiring::AlertEvents | Expiring::TestNotifications => now - l::ALERT_EVENT,
        Expiring::SentMail => now - l::SENT_MAIL,
        Expiring::Invites => now - l::ENDED_INVITE,
        Expiring::Waitlist => now - l::WAITLIST_ENTRY,
        Expiring::AuditLog => now - l::AUDIT_ENTRY,
        Expiring::UsageCounters => {
            let first = now.date_naive().with_day(1).unwrap_or_else(|| now.date_naive());
            let month = first.checked_sub_months(chrono::Months::new(l::USAGE_MONTHS)).unwrap_or(chrono::NaiveDate::MIN);
            month.and_time(chrono::NaiveTime::MIN).and_utc()
        }
        Expiring::BillingEvents => now - l::BILLING_EVENT,
    }
}

/// Deletes history past each tier's retention, and every record past its lifetime
/// ([`domain::lifetimes`]) as of `now`, `batch` rows per statement (so no
/// transaction is long), until none is left or `shutdown` fires. Returns how many rows went.
pub async fn retention(pool: &PgPool, now: chrono::DateTime<Utc>, batch: i64, shutdown: &CancellationToken) -> Result<u64, store::StoreError> {
    let mut total = 0;
    let full = batch.max(0) as u64;
    for tier in Tier::ALL {
        let cutoff = now - chrono::Duration::days(i64::from(tier.limits().history_days));
        total += drain(shutdown, full, || dispatch::retention::delete_old_executions(pool, tier, cutoff, batch)).await?;
        total += drain(shutdown, full, || dispatch::retention::delete_old_pings(pool, tier, cutoff, batch)).await?;
    }
    for what in Expiring::ALL {
        let cutoff = expiry_cutoff(what, now);
        total += drain(shutdown, full, || dispatch::retention::delete_expired(pool, what, cutoff, batch)).await?;
        if shutdown.is_cancelled() {
            break;
        }
    }
    if total > 0 {
        tracing::info!(deleted = total, "retention");
    }
    Ok(total)
}
