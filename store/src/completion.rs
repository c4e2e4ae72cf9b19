//! The completion window: a run of a job with `completion_window_secs` has a completion URL
//! (`/ping/c/<token>`); after its call succeeds it is `waiting` until that URL is called within
//! the window (it succeeds) or the window passes (it fails, and its job raises
//! `completion.missed` when that makes it start failing). The rule for each ping is
//! `domain::execution::completion_ping`.

use chrono::{DateTime, Utc};
use domain::execution::{CompletionPing, ExecutionStatus, completion_ping};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::error::{StoreResult, parse_column};

/// What a completion ping did, and to which run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    pub execution_id: Uuid,
    pub org_id: Uuid,
    pub outcome: CompletionPing,
}

/// Applies a ping of the completion URL `token` at `now`, in the caller's transaction (the run
/// is locked). None for an unknown token.
pub async fn complete(tx: &mut PgConnection, token: &str, now: DateTime<Utc>) -> StoreResult<Option<Completed>> {
    type Row = (Uuid, Uuid, String, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, org_id, status, completion_deadline, completed_at FROM executions WHERE completion_token = $1 FOR UPDATE",
    )
    .bind(token)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id, org_id, status, deadline, completed_at)) = row else { return Ok(None) };
    let status: ExecutionStatus = parse_column("executions.status", status)?;
    let outcome = completion_ping(status, deadline, completed_at, now);
    match outcome {
        CompletionPing::OnTime => {
            sqlx::query(
                "WITH done AS (
                     UPDATE executions SET status = 'success', completed_at = $2 WHERE id = $1 RETURNING org_id, job_id
                 ), recovered AS (
                     UPDATE jobs j SET failing = false FROM done WHERE j.id = done.job_id AND j.failing RETURNING j.id, j.org_id
                 )
                 INSERT INTO alert_events (org_id, kind, job_id) SELECT org_id, 'job_recovered', id FROM recovered",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        CompletionPing::Late => {
            fail_missed(&mut *tx, now, Some(&[id]), 1).await?;
            record_ping(&mut *tx, id, now).await?;
        }
        CompletionPing::Early | CompletionPing::Recorded => record_ping(&mut *tx, id, now).await?,
    }
    Ok(Some(Completed { execution_id: id, org_id, outcome }))
}

async fn record_ping(tx: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
    sqlx::query("UPDATE executions SET completed_at = coalesce(completed_at, $2) WHERE id = $1").bind(id).bind(now).execute(tx).await?;
    Ok(())
}

/// Fails up to `limit` waiting runs whose window passed by `now` (all of them, or those among
/// `only`), each job that this makes start failing raising one `completion_missed` alert, in one
/// statement. Returns the runs failed.
pub async fn fail_missed(db: impl PgExecutor<'_>, now: DateTime<Utc>, only: Option<&[Uuid]>, limit: i64) -> StoreResult<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "WITH due AS (
             SELECT id FROM executions
              -- (the window's last instant still counts, as in domain::execution::completion_ping)
              WHERE status = 'waiting' AND completion_deadline < $1 AND ($3::uuid[] IS NULL OR id = ANY($3))
              ORDER BY completion_deadline LIMIT $2
              FOR UPDATE SKIP LOCKED
         ), missed AS (
             UPDATE executions e
                SET status = 'failed',
                    error = 'the endpoint answered, but did not call its completion URL within the '
                            || e.completion_window_secs || ' s window'
               FROM due WHERE e.id = due.id
             RETURNING e.id, e.org_id, e.job_id, e.completion_window_secs, e.completion_deadline, e.error
         ), now_failing AS (
             UPDATE jobs j SET failing = true
              WHERE j.id = ANY(ARRAY(SELECT job_id FROM missed)) AND NOT j.failing
             RETURNING j.id
         ), alerts AS (
             INSERT INTO alert_events (org_id, kind, job_id, execution_id, details)
             SELECT DISTINCT ON (m.job_id) m.org_id, 'completion_missed', m.job_id, m.id,
                    jsonb_build_object('status', 'failed', 'error', m.error, 'window_secs', m.completion_window_secs,
                                       'expected_by', m.completion_deadline)
               FROM missed m WHERE m.job_id IN (SELECT id FROM now_failing)
         )
         SELECT id FROM missed",
    )
    .bind(now)
    .bind(limit)
    .bind(only)
    .fetch_all(db)
    .await?)
}
