//! Leader-only: turning jobs whose cursor (`next_run_at`) falls within the look-ahead into
//! execution rows, and advancing the cursor in the same transaction. The unique
//! `(job_id, scheduled_for)` index makes a double tick (or a deposed leader's last tick) harmless.

use chrono::{DateTime, Utc};
use domain::job::{CatchUp, Overlap};
use domain::schedule::Schedule;
use domain::tier::Tier;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::StoreResult;
use crate::job_columns::{catch_up_of, overlap_of, schedule_of};

/// A job whose next occurrence is due within the horizon, locked for this tick, decoded.
#[derive(Debug, Clone)]
pub struct DueJob {
    pub id: Uuid,
    pub org_id: Uuid,
    pub tier: Tier,
    pub schedule: Schedule,
    /// The schedule's interval (cron jobs), which sets the run's priority and the plan's floor.
    pub interval_minutes: Option<u32>,
    pub catch_up: CatchUp,
    pub overlap: Overlap,
    pub next_run_at: DateTime<Utc>,
}

/// A locked due job whose row does not decode: what is wrong, and the occurrence it was due for.
struct UndecodableJob {
    id: Uuid,
    next_run_at: DateTime<Utc>,
    reason: String,
}

#[derive(sqlx::FromRow)]
struct DueJobRow {
    id: Uuid,
    org_id: Uuid,
    tier: String,
    schedule_kind: String,
    cron_expr: Option<String>,
    timezone: String,
    once_at: Option<DateTime<Utc>>,
    interval_minutes: Option<i32>,
    catch_up: String,
    catch_up_cap: i16,
    overlap: String,
    next_run_at: DateTime<Utc>,
}

impl DueJobRow {
    fn decode(self) -> Result<DueJob, UndecodableJob> {
        let decoded = (|| {
            Ok::<_, String>(DueJob {
                id: self.id,
                org_id: self.org_id,
                tier: self.tier.parse().map_err(|e: domain::tier::UnknownTier| e.to_string())?,
                schedule: schedule_of(&self.schedule_kind, self.cron_expr.as_deref(), &self.timezone, self.once_at)?,
                interval_minutes: self
                    .interval_minutes
                    .map(|m| u32::try_from(m).map_err(|_| format!("interval_minutes {m}")))
                    .transpose()?,
                catch_up: catch_up_of(&self.catch_up, self.catch_up_cap)?,
                overlap: overlap_of(&self.overlap)?,
                next_run_at: self.next_run_at,
            })
        })();
        decoded.map_err(|what| UndecodableJob {
            id: self.id,
            next_run_at: self.next_run_at,
            reason: format!("the job's stored settings cannot be read ({what}); edit the job to fix them"),
        })
    }
}

/// Locks up to `limit` enabled jobs with `next_run_at <= horizon`, earliest first, decoded. Jobs
/// locked by someone else (an API edit in flight) are skipped this tick and picked up by the next.
/// Schedules are parsed here, once per process for each (expression, zone) (see
/// `domain::schedule`). A job whose row does not decode is not returned: its due occurrence is
/// recorded as a failed run saying what could not be read, and the job is parked (`next_run_at`
/// NULL) until it is edited; logged once, here.
pub async fn lock_due_jobs(tx: &mut PgConnection, now: DateTime<Utc>, horizon: DateTime<Utc>, limit: i64) -> StoreResult<Vec<DueJob>> {
    let rows: Vec<DueJobRow> = sqlx::query_as(
        "SELECT j.id, j.org_id, o.tier, j.schedule_kind, j.cron_expr, j.timezone, j.once_at, j.interval_minutes,
                j.catch_up, j.catch_up_cap, j.overlap, j.next_run_at
           FROM jobs j JOIN organizations o ON o.id = j.org_id
          WHERE j.enabled AND j.next_run_at <= $1
          ORDER BY j.next_run_at
          LIMIT $2
          FOR UPDATE OF j SKIP LOCKED",
    )
    .bind(horizon)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let mut due = Vec::with_capacity(rows.len());
    let mut undecodable = Vec::new();
    for row in rows {
        match row.decode() {
            Ok(job) => due.push(job),
            Err(bad) => {
                tracing::error!(job_id = %bad.id, reason = %bad.reason, "a due job does not decode; its run is recorded as failed and the job parked");
                undecodable.push(bad);
            }
        }
    }
    fail_undecodable(tx, &undecodable, now).await?;
    Ok(due)
}

/// Records each undecodable job's due occurrence as a failed run carrying the reason (with a
/// `job_failed` alert, as any final failure) and parks the job.
async fn fail_undecodable(tx: &mut PgConnection, jobs: &[UndecodableJob], now: DateTime<Utc>) -> StoreResult<()> {
    if jobs.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = jobs.iter().map(|j| j.id).collect();
    let at: Vec<DateTime<Utc>> = jobs.iter().map(|j| j.next_run_at).collect();
    let reasons: Vec<&str> = jobs.iter().map(|j| j.reason.as_str()).collect();
    sqlx::query(
        "WITH failed AS (
             INSERT INTO executions (id, message_id, org_id, job_id, source, scheduled_for, run_at, status, error,
                                     finished_at, priority, max_attempts, retry_base_delay_secs, retry_max_delay_secs,
                                     method, url, headers, body, timeout_secs)
             SELECT v.id, v.id, j.org_id, j.id, 'schedule', v.at, v.at, 'failed', v.reason, $4, 0,
                    j.retry_max_attempts, j.retry_base_delay_secs, j.retry_max_delay_secs,
                    j.method, j.url, j.headers, j.body, j.timeout_secs
               FROM (SELECT gen_random_uuid() AS id, * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[]) AS u(job_id, at, reason)) v
               JOIN jobs j ON j.id = v.job_id
             ON CONFLICT (job_id, scheduled_for) WHERE source = 'schedule' DO NOTHING
             RETURNING id, org_id, job_id, error
         ), parked AS (
             UPDATE jobs SET next_run_at = NULL, failing = true WHERE id = ANY($1)
         )
         INSERT INTO alert_events (org_id, kind, job_id, execution_id, details)
         SELECT org_id, 'job_failed', job_id, id, jsonb_build_object('status', 'failed', 'attempts', 0, 'error', error)
           FROM failed",
    )
    .bind(&ids)
    .bind(&at)
    .bind(&reasons)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// One occurrence to record: a run to deliver, or a skipped occurrence with its reason.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRun {
    pub job_id: Uuid,
    pub scheduled_for: DateTime<Utc>,
    pub priority: i16,
    /// `None` for a run to deliver; `Some(reason)` for an occurrence recorded as skipped.
    pub skipped: Option<String>,
}

/// Inserts the planned occurrences, copying each job's request (method, URL, headers, body,
/// timeout, retry policy, overlap policy) onto the row. Returns how many rows were new.
pub async fn insert_runs(tx: &mut PgConnection, runs: &[PlannedRun], now: DateTime<Utc>) -> StoreResult<u64> {
    if runs.is_empty() {
        return Ok(0);
    }
    let job_ids: Vec<Uuid> = runs.iter().map(|r| r.job_id).collect();
    let at: Vec<DateTime<Utc>> = runs.iter().map(|r| r.scheduled_for).collect();
    let priority: Vec<i16> = runs.iter().map(|r| r.priority).collect();
    let skipped: Vec<Option<String>> = runs.iter().map(|r| r.skipped.clone()).collect();
    let inserted = sqlx::query(
        concat!(
            "INSERT INTO executions (id, message_id, org_id, job_id, source, scheduled_for, run_at, status, status_reason,
                                 finished_at, priority, max_attempts, retry_base_delay_secs, retry_max_delay_secs,
                                 method, url, headers, body, timeout_secs, skip_if_running, completion_window_secs,
                                 completion_token)
         SELECT v.id, v.id, j.org_id, j.id, 'schedule', v.at, v.at,
                CASE WHEN v.reason IS NULL THEN 'pending' ELSE 'skipped' END, v.reason,
                CASE WHEN v.reason IS NULL THEN NULL ELSE $5 END,
                v.priority, j.retry_max_attempts, j.retry_base_delay_secs, j.retry_max_delay_secs,
                j.method, j.url, j.headers, j.body, j.timeout_secs, j.overlap = 'skip', j.completion_window_secs, ",
            crate::executions::completion_token!("j.completion_window_secs"),
            "
           FROM (SELECT gen_random_uuid() AS id, * FROM unnest($1::uuid[], $2::timestamptz[], $3::smallint[], $4::text[])
                   AS u(job_id, at, priority, reason)) v
           JOIN jobs j ON j.id = v.job_id
         ON CONFLICT (job_id, scheduled_for) WHERE source = 'schedule' DO NOTHING"
        ),
    )
    .bind(&job_ids)
    .bind(&at)
    .bind(&priority)
    .bind(&skipped)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok(inserted)
}

/// Moves each job's cursor (`None` = nothing left to schedule, e.g. a fired one-time job).
pub async fn advance_cursors(tx: &mut PgConnection, cursors: &[(Uuid, Option<DateTime<Utc>>)]) -> StoreResult<()> {
    if cursors.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = cursors.iter().map(|c| c.0).collect();
    let next: Vec<Option<DateTime<Utc>>> = cursors.iter().map(|c| c.1).collect();
    sqlx::query(
        "UPDATE jobs j SET next_run_at = v.next
           FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, next)
          WHERE j.id = v.id",
    )
    .bind(&ids)
    .bind(&next)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The earliest cursor among enabled jobs: when the scheduler next has work.
pub async fn next_cursor(db: impl sqlx::PgExecutor<'_>) -> StoreResult<Option<DateTime<Utc>>> {
    Ok(sqlx::query_scalar("SELECT min(next_run_at) FROM jobs WHERE enabled AND next_run_at IS NOT NULL")
        .fetch_one(db)
        .await?)
}
