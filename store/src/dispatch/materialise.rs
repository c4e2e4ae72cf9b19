//! Leader-only: turning jobs whose cursor (`next_run_at`) falls within the look-ahead into
//! execution rows, and advancing the cursor in the same transaction. The unique
//! `(job_id, scheduled_for)` index makes a double tick (or a deposed leader's last tick) harmless.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::{StoreResult, parse_column};

/// A job whose next occurrence is due within the horizon, locked for this tick.
#[derive(Debug, Clone)]
pub struct DueJob {
    pub id: Uuid,
    pub org_id: Uuid,
    pub tier: domain::tier::Tier,
    pub schedule_kind: String,
    pub cron_expr: Option<String>,
    pub timezone: String,
    pub once_at: Option<DateTime<Utc>>,
    pub interval_minutes: Option<i32>,
    pub catch_up: String,
    pub catch_up_cap: i16,
    pub overlap: String,
    pub next_run_at: DateTime<Utc>,
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

/// Locks up to `limit` enabled jobs with `next_run_at <= horizon`, earliest first. Jobs locked by
/// someone else (an API edit in flight) are skipped this tick and picked up by the next.
pub async fn lock_due_jobs(tx: &mut PgConnection, horizon: DateTime<Utc>, limit: i64) -> StoreResult<Vec<DueJob>> {
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
    rows.into_iter()
        .map(|r| {
            Ok(DueJob {
                tier: parse_column("organizations.tier", r.tier)?,
                id: r.id,
                org_id: r.org_id,
                schedule_kind: r.schedule_kind,
                cron_expr: r.cron_expr,
                timezone: r.timezone,
                once_at: r.once_at,
                interval_minutes: r.interval_minutes,
                catch_up: r.catch_up,
                catch_up_cap: r.catch_up_cap,
                overlap: r.overlap,
                next_run_at: r.next_run_at,
            })
        })
        .collect()
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
        "INSERT INTO executions (id, message_id, org_id, job_id, source, scheduled_for, run_at, status, status_reason,
                                 finished_at, priority, max_attempts, retry_base_delay_secs, retry_max_delay_secs,
                                 method, url, headers, body, timeout_secs, skip_if_running)
         SELECT v.id, v.id, j.org_id, j.id, 'schedule', v.at, v.at,
                CASE WHEN v.reason IS NULL THEN 'pending' ELSE 'skipped' END, v.reason,
                CASE WHEN v.reason IS NULL THEN NULL ELSE $5 END,
                v.priority, j.retry_max_attempts, j.retry_base_delay_secs, j.retry_max_delay_secs,
                j.method, j.url, j.headers, j.body, j.timeout_secs, j.overlap = 'skip'
           FROM (SELECT gen_random_uuid() AS id, * FROM unnest($1::uuid[], $2::timestamptz[], $3::smallint[], $4::text[])
                   AS u(job_id, at, priority, reason)) v
           JOIN jobs j ON j.id = v.job_id
         ON CONFLICT (job_id, scheduled_for) WHERE source = 'schedule' DO NOTHING",
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
