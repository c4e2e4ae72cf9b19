//! Executions read as an organization's history across its jobs (the org-wide list and its
//! filters, the dashboard's counts and runs per hour, each job's latest run). Kept apart from
//! `executions` (writes and per-execution reads) so each file stays about one thing.
//!
//! The org-wide list walks `executions_org_scheduled_idx` (org, scheduled_for, id) newest first,
//! or `executions_org_failures_idx` when only failures are asked for (the "what failed
//! tonight" view stays fast however many successes surround them), or the job's own index.
//! Filters are written into the statement only when given, so the planner sees each query's
//! real shape rather than a generic plan full of `$n IS NULL OR …`.

use chrono::{DateTime, Utc};
use domain::execution::{ExecutionStatus, Source};
use sqlx::{PgExecutor, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::error::StoreResult;
use crate::executions::Execution;

/// Which executions of an organization to list (every field optional; all given must match).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryFilter {
    /// Any of these statuses (empty: any status).
    pub statuses: Vec<ExecutionStatus>,
    pub job_id: Option<Uuid>,
    pub source: Option<Source>,
    /// Scheduled at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Scheduled before this instant.
    pub to: Option<DateTime<Utc>>,
}

/// The statuses that count as a failed run (failed, timed out).
pub fn failures() -> Vec<ExecutionStatus> {
    ExecutionStatus::ALL.iter().copied().filter(|s| s.is_failure()).collect()
}

/// A page of `org_id`'s executions matching `filter`, latest scheduled first; `before` is the
/// (scheduled_for, id) of the last row of the previous page.
pub async fn list(db: impl PgExecutor<'_>, org_id: Uuid, filter: &HistoryFilter, before: Option<(DateTime<Utc>, Uuid)>, limit: i64) -> StoreResult<Vec<Execution>> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new("SELECT * FROM executions WHERE org_id = ");
    q.push_bind(org_id);
    if !filter.statuses.is_empty() {
        // the names are the enum's own constants: written as literals so that a failures-only
        // query matches the partial index's predicate
        let names: Vec<String> = filter.statuses.iter().map(|s| format!("'{}'", s.as_str())).collect();
        q.push(format!(" AND status IN ({})", names.join(", ")));
    }
    if let Some(job_id) = filter.job_id {
        q.push(" AND job_id = ").push_bind(job_id);
    }
    if let Some(source) = filter.source {
        q.push(" AND source = ").push_bind(source.as_str());
    }
    if let Some(from) = filter.from {
        q.push(" AND scheduled_for >= ").push_bind(from);
    }
    if let Some(to) = filter.to {
        q.push(" AND scheduled_for < ").push_bind(to);
    }
    if let Some((at, id)) = before {
        q.push(" AND (scheduled_for, id) < (").push_bind(at).push(", ").push_bind(id).push(")");
    }
    q.push(" ORDER BY scheduled_for DESC, id DESC LIMIT ").push_bind(limit);
    Ok(q.build_query_as().fetch_all(db).await?)
}

/// Runs scheduled in a window, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Counts {
    /// Runs that were called (succeeded, failed, timed out, or waiting for their completion).
    pub ran: i64,
    pub succeeded: i64,
    pub failed: i64,
}

impl Counts {
    /// Succeeded runs as a percentage of the finished ones (None when none finished).
    pub fn success_rate(&self) -> Option<f64> {
        let finished = self.succeeded + self.failed;
        (finished > 0).then(|| self.succeeded as f64 * 100.0 / finished as f64)
    }
}

/// The organization's runs scheduled in `[from, to)`, by outcome.
pub async fn counts(db: impl PgExecutor<'_>, org_id: Uuid, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<Counts> {
    Ok(sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status IN ('success', 'failed', 'timeout', 'waiting')) AS ran,
                count(*) FILTER (WHERE status = 'success') AS succeeded,
                count(*) FILTER (WHERE status IN ('failed', 'timeout')) AS failed
           FROM executions WHERE org_id = $1 AND scheduled_for >= $2 AND scheduled_for < $3",
    )
    .bind(org_id)
    .bind(from)
    .bind(to)
    .fetch_one(db)
    .await?)
}

/// One hour of the runs-per-hour chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct HourCounts {
    /// The hour's start (UTC).
    pub hour: DateTime<Utc>,
    pub succeeded: i64,
    pub failed: i64,
}

/// Succeeded and failed runs per hour scheduled in `[from, to)`, hours without runs left out.
pub async fn per_hour(db: impl PgExecutor<'_>, org_id: Uuid, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<Vec<HourCounts>> {
    Ok(sqlx::query_as(
        "SELECT date_trunc('hour', scheduled_for, 'UTC') AS hour,
                count(*) FILTER (WHERE status = 'success') AS succeeded,
                count(*) FILTER (WHERE status IN ('failed', 'timeout')) AS failed
           FROM executions WHERE org_id = $1 AND scheduled_for >= $2 AND scheduled_for < $3
          GROUP BY 1 ORDER BY 1",
    )
    .bind(org_id)
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await?)
}

/// A job's latest run that has started (or was skipped or cancelled), as the job list shows it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct LastRun {
    pub job_id: Uuid,
    pub execution_id: Uuid,
    #[sqlx(try_from = "String")]
    pub status: ExecutionStatus,
    pub scheduled_for: DateTime<Utc>,
    pub response_status: Option<i16>,
    pub error: Option<String>,
}

/// The latest non-pending run of each of `job_ids` (of `org_id`); jobs that never ran are absent.
pub async fn last_runs(db: impl PgExecutor<'_>, org_id: Uuid, job_ids: &[Uuid]) -> StoreResult<Vec<LastRun>> {
    Ok(sqlx::query_as(
        "SELECT j.id AS job_id, e.id AS execution_id, e.status, e.scheduled_for, e.response_status, e.error
           FROM unnest($2::uuid[]) AS j(id)
           CROSS JOIN LATERAL (
               SELECT id, status, scheduled_for, response_status, error FROM executions
                WHERE job_id = j.id AND org_id = $1 AND status <> 'pending'
                ORDER BY scheduled_for DESC LIMIT 1
           ) e",
    )
    .bind(org_id)
    .bind(job_ids)
    .fetch_all(db)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executions::{NewExecution, enqueue};
    use crate::organizations;
    use chrono::Duration;
    use domain::tier::Tier;
    use sqlx::PgPool;

    use crate::executions::tests::hourly_job as job;

    async fn run(pool: &PgPool, org_id: Uuid, job_id: Option<Uuid>, source: Source, at: DateTime<Utc>, status: &str) -> Uuid {
        let id = Uuid::now_v7();
        let e = enqueue(pool, &NewExecution {
            id, org_id, job_id, source, scheduled_for: at, priority: 40, max_attempts: 1, retry_base_delay_secs: 10, retry_max_delay_secs: 10,
            message_id: id, method: "POST", url: "https://example.com", headers: &[], body: None, timeout_secs: 30, redelivery_of: None, completion_window_secs: None,
        })
        .await
        .unwrap();
        sqlx::query("UPDATE executions SET status = $2, error = CASE WHEN $2 = 'failed' THEN 'boom' END WHERE id = $1").bind(e.id).bind(status).execute(pool).await.unwrap();
        e.id
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn lists_filter_page_and_stay_in_the_tenant(pool: PgPool) {
        let a = organizations::insert(&pool, "A", "a", Tier::Pro).await.unwrap();
        let b = organizations::insert(&pool, "B", "b", Tier::Pro).await.unwrap();
        let (ja, jb) = (job(&pool, a.id).await, job(&pool, b.id).await);
        let t0 = Utc::now() - Duration::hours(5);
        let ok = run(&pool, a.id, Some(ja), Source::Schedule, t0, "success").await;
        let bad = run(&pool, a.id, Some(ja), Source::Manual, t0 + Duration::hours(1), "failed").await;
        let late = run(&pool, a.id, None, Source::Queue, t0 + Duration::hours(2), "timeout").await;
        run(&pool, b.id, Some(jb), Source::Schedule, t0, "failed").await;

        let all = list(&pool, a.id, &HistoryFilter::default(), None, 10).await.unwrap();
        assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), vec![late, bad, ok], "latest first, only A's");
        let failed = HistoryFilter { statuses: failures(), ..Default::default() };
        assert_eq!(list(&pool, a.id, &failed, None, 10).await.unwrap().iter().map(|e| e.id).collect::<Vec<_>>(), vec![late, bad]);
        let by_job = HistoryFilter { job_id: Some(ja), source: Some(Source::Manual), ..Default::default() };
        assert_eq!(list(&pool, a.id, &by_job, None, 10).await.unwrap().iter().map(|e| e.id).collect::<Vec<_>>(), vec![bad]);
        let window = HistoryFilter { from: Some(t0 + Duration::minutes(30)), to: Some(t0 + Duration::minutes(90)), ..Default::default() };
        assert_eq!(list(&pool, a.id, &window, None, 10).await.unwrap().iter().map(|e| e.id).collect::<Vec<_>>(), vec![bad]);
        let other_job = HistoryFilter { job_id: Some(jb), ..Default::default() };
        assert!(list(&pool, a.id, &other_job, None, 10).await.unwrap().is_empty(), "B's job through A's filter");
        let first = list(&pool, a.id, &HistoryFilter::default(), None, 2).await.unwrap();
        let rest = list(&pool, a.id, &HistoryFilter::default(), first.last().map(|e| (e.scheduled_for, e.id)), 2).await.unwrap();
        assert_eq!(rest.iter().map(|e| e.id).collect::<Vec<_>>(), vec![ok]);

        let c = counts(&pool, a.id, t0 - Duration::hours(1), Utc::now()).await.unwrap();
        assert_eq!(c, Counts { ran: 3, succeeded: 1, failed: 2 });
        assert_eq!(c.success_rate().map(|r| r.round() as i64), Some(33));
        let hours = per_hour(&pool, a.id, t0 - Duration::hours(1), Utc::now()).await.unwrap();
        assert_eq!(hours.iter().map(|h| h.succeeded).sum::<i64>(), 1);
        assert_eq!(hours.iter().map(|h| h.failed).sum::<i64>(), 2);
        assert_eq!(hours.len(), 3);

        let last = last_runs(&pool, a.id, &[ja, jb]).await.unwrap();
        assert_eq!(last.len(), 1, "B's job is not A's to read: {last:?}");
        assert_eq!((last[0].execution_id, last[0].status, last[0].error.as_deref()), (bad, ExecutionStatus::Failed, Some("boom")));
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn failures_only_listing_uses_the_partial_index(pool: PgPool) {
        let a = organizations::insert(&pool, "A", "a", Tier::Pro).await.unwrap();
        let sql = format!("EXPLAIN SELECT * FROM executions WHERE org_id = '{}' AND status IN ('failed', 'timeout') ORDER BY scheduled_for DESC, id DESC LIMIT 21", a.id);
        let mut db = pool.acquire().await.unwrap();
        sqlx::query("SET enable_seqscan = off").execute(&mut *db).await.unwrap();
        let plan: Vec<String> = sqlx::query_scalar(&sql).fetch_all(&mut *db).await.unwrap();
        assert!(plan.join("\n").contains("executions_org_failures_idx"), "{}", plan.join("\n"));
    }
}
