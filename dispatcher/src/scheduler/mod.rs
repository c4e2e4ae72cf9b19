//! The leader's scheduling loop: materialise runs for jobs coming due within the look-ahead,
//! advance their cursors in the same transaction, and wake the workers for the earliest run.
//!
//! Cost of a tick is proportional to the due jobs (an index range scan on `next_run_at`), not to
//! all jobs. Between ticks the loop sleeps until the earliest cursor minus the look-ahead, but at
//! most one second, so newly created jobs are picked up promptly.

pub mod plan;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use store::dispatch::{self, DueJob, PlannedRun};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::clock::{SharedClock, until};
use crate::status::Status;

/// Jobs locked and planned per transaction.
const TICK_BATCH: i64 = 1_000;
/// Longest sleep between ticks.
const MAX_IDLE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    pub jobs: usize,
    pub runs: usize,
    pub skipped: usize,
}

#[derive(Debug, Clone, Copy)]
pub struct TickSettings {
    pub lookahead: chrono::Duration,
    pub missed_grace: chrono::Duration,
}

/// Runs ticks while this process is the leader, until shutdown.
pub async fn run(
    pool: PgPool,
    clock: SharedClock,
    settings: TickSettings,
    mut leader: watch::Receiver<bool>,
    status: Arc<Status>,
    shutdown: CancellationToken,
) {
    loop {
        // wait for leadership
        while !*leader.borrow_and_update() {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                changed = leader.changed() => if changed.is_err() { return },
            }
        }
        while *leader.borrow() && !shutdown.is_cancelled() {
            let now = clock.now();
            let sleep = match tick(&pool, now, settings).await {
                Ok(report) => {
                    status.ticked(now);
                    if report.jobs > 0 {
                        tracing::debug!(jobs = report.jobs, runs = report.runs, skipped = report.skipped, "scheduled");
                    }
                    match dispatch::next_cursor(&pool).await {
                        Ok(Some(next)) => until(clock.now(), next - settings.lookahead).min(MAX_IDLE),
                        Ok(None) => MAX_IDLE,
                        Err(e) => {
                            tracing::warn!(error = %e, "scheduler: reading the next cursor failed");
                            MAX_IDLE
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "scheduler tick failed; retrying");
                    MAX_IDLE
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = leader.changed() => {}
                _ = tokio::time::sleep(sleep) => {}
            }
        }
    }
}

/// One tick at `now`: materialises everything due up to `now + lookahead`.
pub async fn tick(pool: &PgPool, now: DateTime<Utc>, settings: TickSettings) -> Result<TickReport, store::StoreError> {
    let started = Instant::now();
    let horizon = now + settings.lookahead;
    let mut report = TickReport::default();
    loop {
        let mut tx = pool.begin().await?;
        // jobs whose rows do not decode are recorded as failed and parked by the store
        let due = dispatch::lock_due_jobs(&mut tx, now, horizon, TICK_BATCH).await?;
        let batch_len = due.len();
        let mut runs = Vec::new();
        let mut cursors = Vec::with_capacity(due.len());
        for job in &due {
            let priority = domain::priority::priority(job.tier, job.interval_minutes);
            let p = plan::plan(&plan::PlanInput {
                schedule: &job.schedule,
                cursor: job.next_run_at,
                now,
                horizon,
                missed_grace: settings.missed_grace,
                catch_up: job.catch_up,
                refused_by_plan: refused_by_plan(job),
            });
            for (at, skipped) in p.occurrences {
                report.skipped += usize::from(skipped.is_some());
                report.runs += usize::from(skipped.is_none());
                runs.push(PlannedRun { job_id: job.id, scheduled_for: at, priority, skipped });
            }
            cursors.push((job.id, p.next_cursor));
        }
        dispatch::insert_runs(&mut tx, &runs, now).await?;
        dispatch::advance_cursors(&mut tx, &cursors).await?;
        if let Some(earliest) = runs.iter().filter(|r| r.skipped.is_none()).map(|r| r.scheduled_for).min() {
            // delivered at commit: workers wake for the earliest new run
            store::notify::notify_due(&mut *tx, earliest).await?;
        }
        tx.commit().await?;
        report.jobs += batch_len;
        if (batch_len as i64) < TICK_BATCH {
            break;
        }
    }
    metrics::histogram!("prikke_scheduler_tick_seconds").record(started.elapsed().as_secs_f64());
    metrics::counter!("prikke_runs_materialised_total").increment(report.runs as u64);
    Ok(report)
}

/// Plan limits at dispatch: a cron more frequent than the plan allows (after a downgrade) is
/// recorded as skipped with the reason, never silently dropped.
fn refused_by_plan(job: &DueJob) -> Option<String> {
    let min = job.tier.limits().min_interval_minutes;
    job.interval_minutes.filter(|m| *m < min).map(|m| {
        format!(
            "not run: this job runs every {m} minute(s) but the {} plan allows at most one run every {min} minutes; edit the schedule or upgrade",
            job.tier.display_name()
        )
    })
}
