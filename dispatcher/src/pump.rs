//! The claim loop and the firing of claimed runs.
//!
//! ```text
//!  claim (≤ free hold slots, horizon = now + prefetch) ──► its lane (organization × site,
//!     see crate::lanes): a task now if the lane has fewer than the per-host limit, else the run
//!     waits there as a row and becomes a task when one of the lane's finishes. A task:
//!     prepare: build and sign the request for the second of run_at
//!         │
//!     wait until run_at ──(shutdown first)──► Release
//!         │
//!     take a delivery permit (adaptive limit; grows when runs wait)
//!         │
//!     overlap policy: another run of the job still running? ──► Finished(skipped)
//!         │
//!     send (outside any transaction; signed again if now in a later second) ──(hard stop first)──► Release
//!         │
//!     retry decision (domain::retry) ──► Finished(success/failed/timeout) or Retry(run_at)
//!         │
//!     hand the outcome to the recorder, free the permit and the hold slot
//! ```
//!
//! A claim takes `claim_batch` rows; while claims come back full (the queue is deeper than one
//! claim) the next one takes twice as many, up to `claim_batch_max`, and one that does not fill
//! goes back to `claim_batch` ([`ClaimSize`]): a deep queue is worked in few large transactions,
//! a shallow one in small ones.
//!
//! Claiming slightly ahead (`prefetch`) takes the claim round trip off the critical path, so a
//! run fires at its instant rather than at the next claim after it. Claimed runs wait in memory
//! (at most `held` of them) without holding a delivery permit, so a burst of thousands of runs
//! due at the same second is claimed before that second; those beyond what their host takes at
//! once wait as rows in their lane, not as tasks. After a claim that did not fill, the
//! loop sleeps in [`Wake::wait`] until a notification, a hinted instant or the poll.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::execution::ExecutionStatus;
use domain::retry::{AttemptOutcome, RetryDecision, decide};
use sqlx::PgPool;
use store::dispatch::{AttemptRecord, Claimed, Finished, Outcome};
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::{SharedClock, until};
use crate::delivery::{Deliverer, Delivery, DeliveryRequest};
use crate::lanes::{LaneKey, Lanes};
use crate::limit::AdaptiveLimit;
use crate::recorder::Report;
use crate::secrets::SecretCache;
use crate::status::Status;
use crate::wake::Wake;

/// The header carrying a run's completion URL.
pub const COMPLETION_HEADER: &str = "Prikke-Completion-Url";

#[derive(Debug, Clone, Copy)]
pub struct PumpSettings {
    pub claim_batch: usize,
    pub claim_batch_max: usize,
    pub prefetch: Duration,
    pub poll: Duration,
    pub lease_margin: Duration,
}

/// Everything a firing task needs; cheap to clone.
#[derive(Clone)]
pub struct Ctx {
    pub pool: PgPool,
    pub me: Arc<str>,
    pub clock: SharedClock,
    pub deliverer: Deliverer,
    pub secrets: Arc<SecretCache>,
    pub reports: mpsc::Sender<Report>,
    pub wake: Arc<Wake>,
    pub status: Arc<Status>,
    pub limit: Arc<AdaptiveLimit>,
    /// Claimed runs not yet reported (waiting for their instant or in flight).
    pub held: Arc<tokio::sync::Semaphore>,
    pub held_capacity: usize,
    /// The request-body KiB (plus one per run) the held runs may weigh (`PRIKKE_PREFETCH_BYTES`).
    pub held_bytes: Arc<tokio::sync::Semaphore>,
    pub held_bytes_capacity: usize,
    /// Stop claiming; runs not yet started are handed back.
    pub shutdown: CancellationToken,
    /// Stop waiting for in-flight deliveries; they are handed back too.
    pub hard_stop: CancellationToken,
    /// `<public URL>/ping/c/`: a run's completion URL is this and its token.
    pub completion_base: Arc<str>,
    /// What a claim adds to a lease beyond the run's instant and timeout.
    pub lease_margin: Duration,
    /// Deliveries in flight per organization, capped by its plan's share of the permits.
    pub org_shares: crate::delivery::HostLimiter,
    /// The most delivery permits there can be (`PRIKKE_CONCURRENCY_MAX`): the shares are of it.
    pub concurrency_max: usize,
    /// Organizations being deleted: their held runs are not sent.
    pub deleting: Arc<crate::erasure::Deleting>,
}

/// The share of the delivery permits one organization may hold: a quarter on Free, three
/// quarters on Pro. Whatever one organization sends, and to however many hosts, the others keep
/// at least a quarter of the permits.
pub fn org_share(tier: domain::tier::Tier, concurrency_max: usize) -> usize {
    let share = match tier {
        domain::tier::Tier::Free => concurrency_max / 4,
        domain::tier::Tier::Pro => concurrency_max * 3 / 4,
    };
    share.max(1)
}

/// How many rows the next claim asks for; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimSize {
    base: usize,
    max: usize,
    next: usize,
}

impl ClaimSize {
    pub fn new(base: usize, max: usize) -> Self {
        let base = base.max(1);
        ClaimSize { base, max: max.max(base), next: base }
    }

    pub fn next(&self) -> usize {
        self.next
    }

    /// After a claim that asked for `wanted` rows and got `got`.
    pub fn observe(&mut self, wanted: usize, got: usize) {
        if got < wanted {
            self.next = self.base;
        } else if wanted == self.next {
            self.next = (self.next * 2).min(self.max);
        }
    }
}

pub async fn run(ctx: Ctx, settings: PumpSettings, tracker: TaskTracker) {
    let lanes = Arc::new(Lanes::new(ctx.deliverer.host_limiter().per_host(), ctx.limit.clone()));
    let mut backoff = Duration::from_millis(100);
    let mut size = ClaimSize::new(settings.claim_batch, settings.claim_batch_max);
    while !ctx.shutdown.is_cancelled() {
        let free = ctx.held.available_permits();
        if free == 0 {
            tokio::select! {
                _ = ctx.shutdown.cancelled() => break,
                p = ctx.held.clone().acquire_owned() => { drop(p); continue }
            }
        }
        let free_kib = ctx.held_bytes.available_permits();
        if free_kib == 0 {
            tokio::select! {
                _ = ctx.shutdown.cancelled() => break,
                p = ctx.held_bytes.clone().acquire_owned() => { drop(p); continue }
            }
        }
        let wanted = free.min(size.next());
        let now = ctx.clock.now();
        let horizon = now + chrono::Duration::from_std(settings.prefetch).unwrap_or_default();
        let all_free = free_kib >= ctx.held_bytes_capacity;
        let (claimed, cut) = match claim(&ctx, now, horizon, wanted, free_kib as i64, all_free, settings.lease_margin).await {
            Ok(c) => {
                backoff = Duration::from_millis(100);
                c
            }
            Err(e) => {
                tracing::warn!(error = %e, "claim failed; retrying");
                tokio::select! {
                    _ = ctx.shutdown.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        let got = claimed.len();
        // a claim the byte budget cut short was not short of due runs
        size.observe(wanted, if cut { wanted } else { got });
        if got == 0 && cut {
            // nothing more fits until held runs are reported: wait for the budget to grow
            let more = (free_kib + 1).min(ctx.held_bytes_capacity) as u32;
            tokio::select! {
                _ = ctx.shutdown.cancelled() => break,
                p = ctx.held_bytes.clone().acquire_many_owned(more) => { drop(p); continue }
            }
        }
        metrics::histogram!("prikke_claim_batch_size").record(got as f64);
        for row in claimed {
            let Ok(slot) = ctx.held.clone().try_acquire_owned() else {
                // cannot happen: only this loop takes hold slots and it took at most `free`
                let _ = ctx.reports.send(Report::Release(row.id, row.attempt)).await;
                continue;
            };
            // its weight, held until the run is reported (a run larger than the whole budget
            // takes all of it); the claim took no more than is free, so this does not wait
            let kib = store::dispatch::held_kib(row.body.as_ref().map_or(0, String::len) as i64).min(ctx.held_bytes_capacity as i64) as u32;
            let bytes = match ctx.held_bytes.clone().try_acquire_many_owned(kib) {
                Ok(p) => p,
                Err(_) => tokio::select! {
                    p = ctx.held_bytes.clone().acquire_many_owned(kib) => p.expect("the byte budget is never closed"),
                    _ = ctx.shutdown.cancelled() => {
                        let _ = ctx.reports.send(Report::Release(row.id, row.attempt)).await;
                        drop(slot);
                        continue;
                    }
                },
            };
            // a task now if its lane has room, else it waits in the lane as a row
            let key = (row.org_id, crate::delivery::site_key(&row.url));
            let (priority, run_at) = (row.priority, row.run_at);
            if let Some(held) = lanes.admit(key.clone(), priority, run_at, Held { row, slot, bytes }) {
                start(&ctx, &tracker, &lanes, key, held);
            }
        }
        metrics::gauge!("prikke_runs_held").set((ctx.held_capacity - ctx.held.available_permits()) as f64);
        if got < wanted && !cut {
            ctx.limit.shrink_if_idle();
            tokio::select! {
                _ = ctx.shutdown.cancelled() => break,
                _ = ctx.wake.wait(settings.poll) => {}
            }
        }
    }
    // runs still waiting in a lane were never started: handed back as a waiting task hands back its run
    for held in lanes.drain() {
        report(&ctx, Report::Release(held.row.id, held.row.attempt), held.slot).await;
    }
}

/// A claimed run with its hold slot and its weight in the byte budget, in a lane or a task.
pub struct Held {
    row: Claimed,
    slot: OwnedSemaphorePermit,
    bytes: OwnedSemaphorePermit,
}

/// Starts a run's task; when it finishes, the next run waiting in its lane starts.
fn start(ctx: &Ctx, tracker: &TaskTracker, lanes: &Arc<Lanes<Held>>, key: LaneKey, held: Held) {
    let (ctx, next_tracker, lanes) = (ctx.clone(), tracker.clone(), lanes.clone());
    tracker.spawn(async move {
        fire(&ctx, held.row, held.slot, held.bytes).await;
        if let Some(next) = lanes.done(&key) {
            start(&ctx, &next_tracker, &lanes, key, next);
        }
    });
}

async fn claim(
    ctx: &Ctx,
    now: DateTime<Utc>,
    horizon: DateTime<Utc>,
    wanted: usize,
    budget_kib: i64,
    first_anyway: bool,
    lease_margin: Duration,
) -> Result<(Vec<Claimed>, bool), store::StoreError> {
    let margin = chrono::Duration::from_std(lease_margin).unwrap_or(chrono::Duration::seconds(30));
    let mut tx = ctx.pool.begin().await?;
    ctx.deleting.refresh(&mut *tx).await?;
    let (claimed, cut) = store::dispatch::claim_within(&mut tx, &ctx.me, now, horizon, wanted as i64, budget_kib, first_anyway, margin).await?;
    tx.commit().await?;
    if !claimed.is_empty() {
        if let Err(e) = ctx.secrets.refresh(&ctx.pool, claimed.iter().map(|c| c.org_id), now).await {
            // Without secrets nothing can be signed: hand the runs back and let the loop back off.
            for c in &claimed {
                let _ = ctx.reports.send(Report::Release(c.id, c.attempt)).await;
            }
            return Err(e);
        }
    }
    Ok((claimed, cut))
}

/// Fires one claimed run at its instant and reports the outcome. `slot` is its hold slot, `bytes`
/// its weight in the byte budget (both given back when the run is done).
fn fire(ctx: &Ctx, mut row: Claimed, slot: OwnedSemaphorePermit, bytes: OwnedSemaphorePermit) -> impl std::future::Future<Output = ()> + '_ {
    // An async block, not an `async fn`: an async fn's future keeps its arguments twice (as
    // arguments and as the locals they are moved into), 440 bytes more for each held run.
    async move {
        let _bytes = bytes;
        let now = ctx.clock.now();
        let secrets = ctx.secrets.get(row.org_id);
        // credential header values are stored sealed: opened here, for the request only
        match ctx.secrets.open_headers(row.org_id, &row.headers.0) {
            None => {}
            Some(Ok(opened)) => row.headers.0 = opened,
            Some(Err(e)) => {
                tracing::error!(execution_id = %row.id, org_id = %row.org_id, error = %e, "a stored header does not open; the run fails unsent");
                let failed = Outcome::Finished(Finished {
                    record: AttemptRecord::never_sent(row.id, row.attempt, now, None),
                    status: ExecutionStatus::Failed,
                    reason: Some("a stored credential header could not be decrypted; write the job's headers again".to_owned()),
                });
                report(ctx, outcome_report(&row, failed), slot).await;
                return;
            }
        }
        // Built and signed now, while the run waits, for the second it is due in. The body is
        // taken out of the row: from here on it lives only in the request, not twice per held run.
        let body = row.body.take();
        // a run with a completion window tells its endpoint where to report completion
        if let Some(token) = &row.completion_token {
            row.headers.0.push((COMPLETION_HEADER.to_owned(), format!("{}{token}", ctx.completion_base)));
        }
        let prepared = ctx.deliverer.prepare(&DeliveryRequest {
            message_id: &row.message_id.to_string(),
            method: &row.method,
            url: &row.url,
            headers: &row.headers.0,
            body: body.as_deref(),
            timeout: row.timeout,
            secrets: &secrets,
            timestamp: row.run_at.max(now).timestamp(),
        });
        drop(body);
        let wait = until(now, row.run_at);
        if !wait.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = ctx.shutdown.cancelled() => {}
            }
        }
        if ctx.shutdown.is_cancelled() {
            report(ctx, Report::Release(row.id, row.attempt), slot).await;
            return;
        }
        // The slot to the run's host first (within the run's timeout), then the shared permit: runs
        // aimed at a slow host wait for that host without holding what runs to other hosts need.
        // (a due run waiting for its host is part of the firing backlog, as one waiting for a permit)
        let waiting = ctx.limit.waiting();
        // then the organization's share, then a permit; shutdown hands the run back at any of them
        let org_key = format!("org:{}", row.org_id);
        // Boxed: these waits are the largest state of the task (2.7 KB of its 5.9 KB, and a task's
        // size is that of its largest state from the start), while many tasks wait for their
        // instant (up to the per-host limit per lane); boxed, the waits cost their memory only once
        // the run is due.
        let acquired = tokio::select! {
            a = Box::pin(async {
                let slotted = ctx.deliverer.take_slot(prepared).await?;
                let org_slot = ctx.org_shares.acquire_capped(&org_key, org_share(row.tier, ctx.concurrency_max)).await;
                let permit = ctx.limit.acquire().await;
                Ok::<_, crate::delivery::Delivery>((slotted, org_slot, permit))
            }) => a,
            _ = ctx.shutdown.cancelled() => {
                report(ctx, Report::Release(row.id, row.attempt), slot).await;
                return;
            }
        };
        let (mut slotted, org_slot, permit) = match acquired {
            Ok(acquired) => acquired,
            Err(delivery) => {
                // refused, or no slot to its host within the timeout: an outcome without a send
                observe_lag(ctx, &row, ctx.clock.now());
                metrics::counter!("prikke_deliveries_total", "outcome" => outcome_label(&delivery.outcome)).increment(1);
                let outcome = classify(&row, delivery, rand::random::<f64>());
                report(ctx, outcome_report(&row, outcome), slot).await;
                return;
            }
        };
        drop(waiting);
        // The lease was sized for the run to be sent at its instant; a wait for the permit (a
        // backlog) may have eaten into it. With less left than the request may take, extend it first;
        // a run that is no longer ours (rescued and handed to another worker meanwhile) is not sent.
        let now = ctx.clock.now();
        let needed = chrono::Duration::from_std(row.timeout + ctx.lease_margin / 2).unwrap_or_default();
        if now + needed > row.lease_expires_at {
            let until = now + chrono::Duration::from_std(row.timeout + ctx.lease_margin).unwrap_or_default();
            match store::dispatch::extend_lease(&ctx.pool, &ctx.me, row.id, row.attempt, until).await {
                Ok(true) => {
                    metrics::counter!("prikke_leases_extended_total").increment(1);
                    row.lease_expires_at = until;
                }
                Ok(false) => {
                    tracing::warn!(execution_id = %row.id, attempt = row.attempt, "a run waited past its lease and is no longer ours; not sent");
                    metrics::counter!("prikke_leases_lost_total").increment(1);
                    drop(permit);
                    drop(slot);
                    return;
                }
                Err(e) => {
                    // cannot tell whether it is still ours: hand it back (release checks that), unsent
                    tracing::warn!(execution_id = %row.id, error = %e, "could not extend a lease; handed back, not sent");
                    drop(permit);
                    report(ctx, Report::Release(row.id, row.attempt), slot).await;
                    return;
                }
            }
        }
        if let (true, Some(job_id)) = (row.skip_if_running, row.job_id) {
            match store::dispatch::previous_still_running(&ctx.pool, job_id, row.id, row.scheduled_for).await {
                Ok(Some(previous)) => {
                    let now = ctx.clock.now();
                    let skipped = Outcome::Finished(Finished {
                        record: AttemptRecord::never_sent(row.id, row.attempt, now, None),
                        status: ExecutionStatus::Skipped,
                        reason: Some(format!(
                            "overlap: the run scheduled for {} was still running, and this job's overlap policy is to skip",
                            previous.format("%Y-%m-%d %H:%M:%S UTC")
                        )),
                    });
                    drop(permit);
                    report(ctx, outcome_report(&row, skipped), slot).await;
                    return;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(execution_id = %row.id, error = %e, "overlap check failed; delivering anyway"),
            }
        }
        if ctx.deleting.contains(row.org_id) {
            // the deletion cancelled the run in the database already; this only keeps the record straight
            tracing::info!(execution_id = %row.id, org_id = %row.org_id, "the organization is being deleted; run not sent");
            let not_sent = Outcome::Finished(Finished {
                record: AttemptRecord::never_sent(row.id, row.attempt, ctx.clock.now(), None),
                status: ExecutionStatus::Skipped,
                reason: Some(store::erasure::NOT_SENT.to_owned()),
            });
            drop(permit);
            report(ctx, outcome_report(&row, not_sent), slot).await;
            return;
        }
        let sent_at = ctx.clock.now();
        observe_lag(ctx, &row, sent_at);
        if slotted.timestamp() != sent_at.timestamp() {
            // Sent in a later second than it was signed for: `webhook-timestamp` is the send time.
            slotted.resign(&secrets, sent_at.timestamp());
        }
        // Boxed: the HTTP exchange is most of this task's state (2.4 KB of 2.4 KB), and many
        // tasks wait for their instant; unboxed, each task's memory is first written at its
        // instant, so a burst page-faulted its way through tens of megabytes while firing.
        let delivery = tokio::select! {
            d = Box::pin(ctx.deliverer.send_slotted(slotted)) => d,
            _ = ctx.hard_stop.cancelled() => {
                drop(permit);
                // The request is on the wire: the receiver may have it. It is an attempt, in the
                // history with what happened, and the run goes again (same webhook-id) while the
                // attempts a stopped worker allows last.
                let stopped = interrupted(&row, sent_at, ctx.clock.now());
                report(ctx, Report::Prompt(stopped), slot).await;
                return;
            }
        };
        drop(permit);
        drop(org_slot);
        metrics::counter!("prikke_deliveries_total", "outcome" => outcome_label(&delivery.outcome)).increment(1);
        tracing::debug!(execution_id = %row.id, job_id = ?row.job_id, org_id = %row.org_id, attempt = row.attempt,
                        status = ?delivery.response_status, "delivered");
        let outcome = classify(&row, delivery, rand::random::<f64>());
        report(ctx, outcome_report(&row, outcome), slot).await;
    }
}

/// Fire lag (first attempts only): from the instant a run was scheduled for to its send.
fn observe_lag(ctx: &Ctx, row: &Claimed, sent_at: DateTime<Utc>) {
    if row.attempt == 1 {
        let lag_ms = (sent_at - row.scheduled_for).num_milliseconds().max(0);
        ctx.status.observe_lag(lag_ms);
        metrics::histogram!("prikke_fire_lag_seconds").record(lag_ms as f64 / 1000.0);
    }
}

/// The outcome of an attempt cut off by a hard stop while its request was in flight.
pub fn interrupted(row: &Claimed, sent_at: DateTime<Utc>, now: DateTime<Utc>) -> Outcome {
    let record = AttemptRecord {
        id: row.id,
        attempt: row.attempt,
        started_at: Some(sent_at),
        finished_at: now,
        duration_ms: Some((now - sent_at).num_milliseconds().clamp(0, i64::from(i32::MAX)) as i32),
        response_status: None,
        response_headers: None,
        response_body: None,
        error: Some("the dispatcher stopped while this request was in flight; the receiver may have got it (the retry has the same webhook-id)".to_owned()),
    };
    if row.attempt < store::dispatch::attempt_cap(i16::from(row.retry.max_attempts())) {
        Outcome::Retry { record, failed_as: ExecutionStatus::Failed, run_at: now }
    } else {
        Outcome::Finished(Finished { record, status: ExecutionStatus::Failed, reason: None })
    }
}

/// A run of a job that skips on overlap stays `running` until its outcome is written, and the
/// job's next run checks exactly that: such outcomes are written at once, never deferred.
fn outcome_report(row: &Claimed, outcome: Outcome) -> Report {
    if row.skip_if_running { Report::Prompt(outcome) } else { Report::Outcome(outcome) }
}

/// Hands a report to the recorder, then frees the run's hold slot.
async fn report(ctx: &Ctx, r: Report, slot: OwnedSemaphorePermit) {
    if ctx.reports.send(r).await.is_err() {
        tracing::error!("the recorder is gone; an outcome was not recorded (its lease will expire and be rescued)");
    }
    drop(slot);
}

/// Turns a delivery into what the recorder writes, applying the execution's retry policy.
pub fn classify(row: &Claimed, d: Delivery, jitter: f64) -> Outcome {
    let finished_at = d.started_at + chrono::Duration::from_std(d.duration).unwrap_or_default();
    let mut record = AttemptRecord {
        id: row.id,
        attempt: row.attempt,
        started_at: Some(d.started_at),
        finished_at,
        duration_ms: Some(d.duration.as_millis().min(i32::MAX as u128) as i32),
        response_status: d.response_status.map(|s| s as i16),
        response_headers: (!d.response_headers.is_empty()).then_some(d.response_headers),
        response_body: d.response_body,
        error: d.error.clone(),
    };
    let failed_as = if matches!(d.outcome, AttemptOutcome::Timeout) { ExecutionStatus::Timeout } else { ExecutionStatus::Failed };
    let attempt = u8::try_from(row.attempt).unwrap_or(u8::MAX);
    match decide(&row.retry, attempt, &d.outcome, jitter) {
        RetryDecision::Succeeded => Outcome::Finished(Finished { record, status: ExecutionStatus::Success, reason: None }),
        RetryDecision::RetryAfter(delay) => {
            let run_at = finished_at + chrono::Duration::from_std(delay).unwrap_or_default();
            Outcome::Retry { record, failed_as, run_at }
        }
        RetryDecision::GiveUp { reason } => {
            record.error = Some(match &d.error {
                Some(detail) if !reason.to_string().contains(detail.as_str()) => format!("{reason} ({detail})"),
                _ => reason.to_string(),
            });
            Outcome::Finished(Finished { record, status: failed_as, reason: None })
        }
    }
}

fn outcome_label(o: &AttemptOutcome) -> &'static str {
    match o {
        AttemptOutcome::Success { .. } => "success",
        AttemptOutcome::HttpStatus { .. } => "http_error",
        AttemptOutcome::Timeout => "timeout",
        AttemptOutcome::Network { .. } => "network_error",
        AttemptOutcome::Refused { .. } => "refused",
    }
}

#[cfg(test)]
mod tests {
    use super::ClaimSize;

    #[test]
    fn claims_grow_while_full_and_start_over_when_not() {
        let mut size = ClaimSize::new(200, 1000);
        assert_eq!(size.next(), 200);
        size.observe(200, 200);
        assert_eq!(size.next(), 400);
        size.observe(400, 400);
        size.observe(800, 800);
        assert_eq!(size.next(), 1000, "capped at the maximum");
        size.observe(1000, 1000);
        assert_eq!(size.next(), 1000);
        size.observe(1000, 999);
        assert_eq!(size.next(), 200, "a claim that did not fill: the queue is shallow again");
        // a claim cut short by free hold slots says nothing about the queue
        size.observe(50, 50);
        assert_eq!(size.next(), 200);
        assert_eq!(ClaimSize::new(300, 100).next(), 300, "a maximum below the base is the base");
    }
}
