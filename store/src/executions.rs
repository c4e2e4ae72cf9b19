//! Executions as history: inserting on-demand runs (trigger now, queue, redelivery) and reading
//! them back per tenant. The dispatcher's queue operations (materialise, claim, record, rescue)
//! live in `crate::dispatch`.

use chrono::{DateTime, Utc};
use domain::execution::{ExecutionStatus, MessageId};
use domain::job::HttpMethod;
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

pub use domain::execution::Source;

use crate::error::StoreResult;
use crate::notify::due_channel;

/// One execution as the history shows it (a stored name that is not a domain value fails the
/// read, naming the column and the value).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Execution {
    pub id: Uuid,
    pub org_id: Uuid,
    pub job_id: Option<Uuid>,
    #[sqlx(try_from = "String")]
    pub source: Source,
    pub scheduled_for: DateTime<Utc>,
    pub run_at: DateTime<Utc>,
    #[sqlx(try_from = "String")]
    pub status: ExecutionStatus,
    pub status_reason: Option<String>,
    pub priority: i16,
    pub attempt: i16,
    pub max_attempts: i16,
    pub message_id: Uuid,
    #[sqlx(try_from = "String")]
    pub method: HttpMethod,
    pub url: String,
    pub headers: sqlx::types::Json<Vec<(String, String)>>,
    pub body: Option<String>,
    pub timeout_secs: i32,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i32>,
    pub response_status: Option<i16>,
    pub response_headers: Option<sqlx::types::Json<Vec<(String, String)>>>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub redelivery_of: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// A job's completion window: set, the call's success is not enough (see `waiting`).
    pub completion_window_secs: Option<i32>,
    /// When the window ends (set when the call is sent).
    pub completion_deadline: Option<DateTime<Utc>>,
    /// When the completion URL was first called.
    pub completed_at: Option<DateTime<Utc>>,
}

impl Execution {
    /// The Standard Webhooks message this execution delivers (`webhook-id`).
    pub fn webhook_id(&self) -> MessageId {
        MessageId::new(self.message_id)
    }
}

/// Every statement reads whole rows (`*`): [`Execution`] takes the columns it names.
const SELECT: &str = "SELECT * FROM executions";

/// A run to enqueue now or later (trigger, queue call, redelivery).
#[derive(Debug, Clone)]
pub struct NewExecution<'a> {
    pub id: Uuid,
    pub org_id: Uuid,
    pub job_id: Option<Uuid>,
    pub source: Source,
    pub scheduled_for: DateTime<Utc>,
    pub priority: i16,
    pub max_attempts: u8,
    pub retry_base_delay_secs: u32,
    pub retry_max_delay_secs: u32,
    /// Equal to `id` for a new message; the original's for a redelivery.
    pub message_id: Uuid,
    pub method: &'a str,
    pub url: &'a str,
    pub headers: &'a [(String, String)],
    pub body: Option<&'a str>,
    pub timeout_secs: u32,
    pub redelivery_of: Option<Uuid>,
    /// The job's completion window: the run gets a completion URL and waits for it after its call.
    pub completion_window_secs: Option<u32>,
}

/// A fresh completion token for a run whose window is `$window` (NULL without one): the
/// capability in its completion URL.
macro_rules! completion_token {
    ($window:literal) => {
        concat!("CASE WHEN ", $window, " IS NULL THEN NULL ELSE replace(gen_random_uuid()::text, '-', '') END")
    };
}
pub(crate) use completion_token;

/// Inserts a pending execution and wakes the dispatchers (NOTIFY is delivered at commit, so
/// inside a transaction nobody is woken for a row that may still roll back).
pub async fn enqueue(db: impl PgExecutor<'_>, e: &NewExecution<'_>) -> StoreResult<Execution> {
    Ok(sqlx::query_as(concat!(
        "WITH inserted AS (
             INSERT INTO executions (id, org_id, job_id, source, scheduled_for, run_at, priority, max_attempts,
                                     retry_base_delay_secs, retry_max_delay_secs, message_id, method, url, headers,
                                     body, timeout_secs, redelivery_of, completion_window_secs, completion_token)
             VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, ",
        completion_token!("$17"),
        ")
             RETURNING *
         ), woken AS (SELECT pg_notify('",
        due_channel!(),
        "', '') FROM inserted)
         SELECT inserted.* FROM inserted, (SELECT count(*) FROM woken) w"
    ))
    .bind(e.id)
    .bind(e.org_id)
    .bind(e.job_id)
    .bind(e.source.as_str())
    .bind(e.scheduled_for)
    .bind(e.priority)
    .bind(i16::from(e.max_attempts))
    .bind(e.retry_base_delay_secs as i32)
    .bind(e.retry_max_delay_secs as i32)
    .bind(e.message_id)
    .bind(e.method)
    .bind(e.url)
    .bind(sqlx::types::Json(e.headers))
    .bind(e.body)
    .bind(e.timeout_secs as i32)
    .bind(e.redelivery_of)
    .bind(e.completion_window_secs.map(|s| s as i32))
    .fetch_one(db)
    .await?)
}

/// Enqueues a run of `spec`'s request with its retry policy (a job triggered now, a queued call):
/// a new message whose id is `id`, due at `at`.
pub async fn enqueue_spec(
    db: impl PgExecutor<'_>,
    id: Uuid,
    org_id: Uuid,
    job_id: Option<Uuid>,
    source: Source,
    at: DateTime<Utc>,
    priority: i16,
    spec: &domain::job::JobSpec,
) -> StoreResult<Execution> {
    let headers: Vec<(String, String)> = spec.headers.iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
    enqueue(
        db,
        &NewExecution {
            id,
            org_id,
            job_id,
            source,
            scheduled_for: at,
            priority,
            max_attempts: spec.retry.max_attempts(),
            retry_base_delay_secs: spec.retry.base_delay().as_secs() as u32,
            retry_max_delay_secs: spec.retry.max_delay().as_secs() as u32,
            message_id: id,
            method: spec.method.as_str(),
            url: spec.url.as_str(),
            headers: &headers,
            body: spec.body.as_ref().map(|b| b.as_str()),
            timeout_secs: u32::from(spec.timeout.secs()),
            redelivery_of: None,
            completion_window_secs: spec.completion_window.map(|w| w.secs()),
        },
    )
    .await
}

pub async fn get(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid) -> StoreResult<Option<Execution>> {
    Ok(sqlx::query_as(&format!("{SELECT} WHERE org_id = $1 AND id = $2"))
        .bind(org_id)
        .bind(id)
        .fetch_optional(db)
        .await?)
}

/// A page of a job's executions, latest scheduled first; `before` is the (scheduled_for, id) of
/// the last row of the previous page.
pub async fn list_for_job(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    job_id: Uuid,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> StoreResult<Vec<Execution>> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE org_id = $1 AND job_id = $2 AND ($3::timestamptz IS NULL OR (scheduled_for, id) < ($3, $4))
          ORDER BY scheduled_for DESC, id DESC LIMIT $5"
    ))
    .bind(org_id)
    .bind(job_id)
    .bind(before.map(|b| b.0))
    .bind(before.map(|b| b.1))
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// The names of the statuses `include` selects, for an `= ANY($n)` filter.
fn statuses(include: fn(ExecutionStatus) -> bool) -> Vec<&'static str> {
    ExecutionStatus::ALL.iter().filter(|s| include(**s)).map(|s| s.as_str()).collect()
}

/// The INSERT … SELECT that copies a finished execution as a new pending redelivery (same
/// message id, request snapshot, priority and retry policy), waking the dispatchers. `$6` is the
/// statuses that may be redelivered.
macro_rules! redeliver_sql {
    ($filter:literal) => {
        concat!(
            "WITH inserted AS (
                 INSERT INTO executions (id, org_id, job_id, source, scheduled_for, run_at, priority, max_attempts,
                                         retry_base_delay_secs, retry_max_delay_secs, message_id, method, url, headers,
                                         body, timeout_secs, redelivery_of, completion_window_secs, completion_token)
                 SELECT coalesce($3, gen_random_uuid()), e.org_id, e.job_id, 'redelivery', $4, $4, e.priority, e.max_attempts,
                        e.retry_base_delay_secs, e.retry_max_delay_secs, e.message_id, e.method, e.url, e.headers,
                        e.body, e.timeout_secs, e.id, e.completion_window_secs, ",
            completion_token!("e.completion_window_secs"),
            "
                   FROM executions e
                  WHERE e.org_id = $1 AND e.status = ANY($6) AND ",
            $filter,
            "
                  ORDER BY e.scheduled_for, e.id
                  LIMIT $5
                 RETURNING *
             ), woken AS (SELECT pg_notify('",
            due_channel!(),
            "', '') FROM inserted)
             SELECT i.* FROM inserted i JOIN executions o ON o.id = i.redelivery_of, (SELECT count(*) FROM woken) w
              ORDER BY o.scheduled_for, o.id"
        )
    };
}

/// Enqueues a redelivery of the finished execution `id` of `org_id` as `new_id`, due at `now`.
/// None when there is no such finished execution in that organization.
pub async fn redeliver(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
    new_id: Uuid,
    now: DateTime<Utc>,
) -> StoreResult<Option<Execution>> {
    Ok(sqlx::query_as(redeliver_sql!("e.id = $2"))
        .bind(org_id)
        .bind(id)
        .bind(Some(new_id))
        .bind(now)
        .bind(1_i64)
        .bind(statuses(ExecutionStatus::is_final))
        .fetch_optional(db)
        .await?)
}

/// Enqueues redeliveries of the failed (or timed-out) executions of job `job_id` scheduled in
/// `[from, to)`, oldest first, at most `limit`. Executions already redelivered are skipped, so
/// repeating the call does not deliver a message twice, even when two calls race: the first
/// statement locks the job's row until the caller's transaction ends (call it inside one), so a
/// second call waits and then sees the first one's copies.
pub async fn redeliver_failed(
    tx: &mut PgConnection,
    org_id: Uuid,
    job_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<Execution>> {
    let job: Option<Uuid> = sqlx::query_scalar("SELECT id FROM jobs WHERE org_id = $1 AND id = $2 FOR NO KEY UPDATE")
        .bind(org_id)
        .bind(job_id)
        .fetch_optional(&mut *tx)
        .await?;
    if job.is_none() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_as(redeliver_sql!(
        "e.job_id = $2 AND e.scheduled_for >= $7 AND e.scheduled_for < $8
            AND NOT EXISTS (SELECT 1 FROM executions r WHERE r.redelivery_of = e.id)"
    ))
    .bind(org_id)
    .bind(job_id)
    .bind(None::<Uuid>)
    .bind(now)
    .bind(limit)
    .bind(statuses(ExecutionStatus::is_failure))
    .bind(from)
    .bind(to)
    .fetch_all(&mut *tx)
    .await?)
}

/// The attempts of one execution that finished before the current one (each retry keeps one).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Attempt {
    pub attempt: i16,
    #[sqlx(try_from = "String")]
    pub status: ExecutionStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub duration_ms: i32,
    pub response_status: Option<i16>,
    pub error: Option<String>,
}

pub async fn attempts(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid) -> StoreResult<Vec<Attempt>> {
    Ok(sqlx::query_as(
        "SELECT a.attempt, a.status, a.started_at, a.finished_at, a.duration_ms, a.response_status, a.error
           FROM execution_attempts a JOIN executions e ON e.id = a.execution_id
          WHERE e.org_id = $1 AND a.execution_id = $2 ORDER BY a.attempt",
    )
    .bind(org_id)
    .bind(id)
    .fetch_all(db)
    .await?)
}

/// The finished earlier attempts of the organization's executions `ids` (one query for a page of
/// history), by execution then attempt.
pub async fn attempts_of(db: impl PgExecutor<'_>, org_id: Uuid, ids: &[Uuid]) -> StoreResult<Vec<(Uuid, Attempt)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        execution_id: Uuid,
        #[sqlx(flatten)]
        attempt: Attempt,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT a.execution_id, a.attempt, a.status, a.started_at, a.finished_at, a.duration_ms, a.response_status, a.error
           FROM execution_attempts a JOIN executions e ON e.id = a.execution_id
          WHERE e.org_id = $1 AND a.execution_id = ANY($2) ORDER BY a.execution_id, a.attempt",
    )
    .bind(org_id)
    .bind(ids)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.execution_id, r.attempt)).collect())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::organizations;
    use domain::tier::Tier;
    use sqlx::PgPool;

    fn new<'a>(org_id: Uuid, headers: &'a [(String, String)], at: DateTime<Utc>) -> NewExecution<'a> {
        let id = Uuid::now_v7();
        NewExecution {
            id,
            org_id,
            job_id: None,
            source: Source::Queue,
            scheduled_for: at,
            priority: 40,
            max_attempts: 5,
            retry_base_delay_secs: 10,
            retry_max_delay_secs: 3600,
            message_id: id,
            method: "POST",
            url: "https://example.com/in",
            headers,
            body: Some("{}"),
            timeout_secs: 30,
            redelivery_of: None,
            completion_window_secs: None,
        }
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn enqueue_notifies_and_reads_back_per_tenant(pool: PgPool) {
        let a = organizations::insert(&pool, "A", "a", Tier::Free).await.unwrap();
        let b = organizations::insert(&pool, "B", "b", Tier::Free).await.unwrap();
        let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await.unwrap();
        listener.listen(crate::notify::DUE_CHANNEL).await.unwrap();

        let headers = vec![("X-Trace".to_owned(), "1".to_owned())];
        let now = Utc::now();
        let e = enqueue(&pool, &new(a.id, &headers, now)).await.unwrap();
        assert_eq!((e.status.as_str(), e.attempt, e.run_at), ("pending", 0, e.scheduled_for));
        assert_eq!(e.headers.0, headers);
        let note = listener.recv().await.unwrap();
        assert_eq!(note.channel(), crate::notify::DUE_CHANNEL);

        assert_eq!(get(&pool, a.id, e.id).await.unwrap(), Some(e.clone()));
        assert_eq!(get(&pool, b.id, e.id).await.unwrap(), None);
        assert!(attempts(&pool, a.id, e.id).await.unwrap().is_empty());
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn job_history_pages_latest_first(pool: PgPool) {
        let org = organizations::insert(&pool, "A", "a", Tier::Free).await.unwrap();
        let job_id = hourly_job(&pool, org.id).await;
        let t0 = Utc::now();
        for i in 0..5 {
            let mut n = new(org.id, &[], t0 + chrono::Duration::minutes(i));
            n.job_id = Some(job_id);
            n.source = Source::Manual;
            enqueue(&pool, &n).await.unwrap();
        }
        let first = list_for_job(&pool, org.id, job_id, None, 2).await.unwrap();
        assert_eq!(first.len(), 2);
        assert!(first[0].scheduled_for > first[1].scheduled_for);
        let cursor = first.last().map(|e| (e.scheduled_for, e.id));
        let rest = list_for_job(&pool, org.id, job_id, cursor, 10).await.unwrap();
        assert_eq!(rest.len(), 3);
        assert!(rest.iter().all(|e| e.scheduled_for < first[1].scheduled_for));
    }

    /// A job row of `org_id` (hourly, one attempt), straight into the table.
    pub(crate) async fn hourly_job(pool: &PgPool, org_id: Uuid) -> Uuid {
        sqlx::query_scalar(
            "INSERT INTO jobs (org_id, name, url, method, schedule_kind, cron_expr, retry_max_attempts, retry_base_delay_secs, retry_max_delay_secs)
             VALUES ($1, 'j', 'https://example.com', 'POST', 'cron', '0 * * * *', 1, 10, 10) RETURNING id",
        )
        .bind(org_id)
        .fetch_one(pool)
        .await
        .unwrap()
    }

    async fn finish(pool: &PgPool, id: Uuid, status: &str) {
        sqlx::query("UPDATE executions SET status = $2, attempt = 1, finished_at = now() WHERE id = $1")
            .bind(id)
            .bind(status)
            .execute(pool)
            .await
            .unwrap();
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn redelivery_copies_the_message_and_only_for_finished_runs_of_the_tenant(pool: PgPool) {
        let a = organizations::insert(&pool, "A", "a", Tier::Free).await.unwrap();
        let b = organizations::insert(&pool, "B", "b", Tier::Free).await.unwrap();
        let headers = vec![("X-A".to_owned(), "1".to_owned())];
        let now = Utc::now();
        let original = enqueue(&pool, &new(a.id, &headers, now)).await.unwrap();
        assert_eq!(redeliver(&pool, a.id, original.id, Uuid::now_v7(), now).await.unwrap(), None, "still pending");
        finish(&pool, original.id, "failed").await;
        assert_eq!(redeliver(&pool, b.id, original.id, Uuid::now_v7(), now).await.unwrap(), None, "another tenant");
        let new_id = Uuid::now_v7();
        let copy = redeliver(&pool, a.id, original.id, new_id, now).await.unwrap().unwrap();
        assert_eq!(copy.id, new_id);
        assert_eq!((copy.source.as_str(), copy.status.as_str(), copy.attempt), ("redelivery", "pending", 0));
        assert_eq!((copy.message_id, copy.redelivery_of), (original.message_id, Some(original.id)));
        assert_eq!((copy.url, copy.headers.0, copy.body), (original.url, original.headers.0, original.body));
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn bulk_redelivery_takes_failed_runs_in_range_once(pool: PgPool) {
        let org = organizations::insert(&pool, "A", "a", Tier::Free).await.unwrap();
        let job_id = hourly_job(&pool, org.id).await;
        let t0 = Utc::now() - chrono::Duration::hours(10);
        let mut ids = Vec::new();
        for (i, status) in ["failed", "success", "timeout", "failed", "cancelled"].iter().enumerate() {
            let mut n = new(org.id, &[], t0 + chrono::Duration::hours(i as i64));
            n.job_id = Some(job_id);
            let e = enqueue(&pool, &n).await.unwrap();
            finish(&pool, e.id, status).await;
            ids.push(e.id);
        }
        let now = Utc::now();
        let mut db = pool.acquire().await.unwrap();
        // [t0, t0+3h): failed #0 and timeout #2
        let batch = redeliver_failed(&mut db, org.id, job_id, t0, t0 + chrono::Duration::hours(3), now, 100).await.unwrap();
        assert_eq!(batch.iter().map(|e| e.redelivery_of.unwrap()).collect::<Vec<_>>(), vec![ids[0], ids[2]]);
        assert!(batch.iter().all(|e| e.job_id == Some(job_id) && e.source == "redelivery"));
        let again = redeliver_failed(&mut db, org.id, job_id, t0, t0 + chrono::Duration::hours(3), now, 100).await.unwrap();
        assert!(again.is_empty(), "already redelivered");
        let capped = redeliver_failed(&mut db, org.id, job_id, t0, now, now, 1).await.unwrap();
        assert_eq!(capped.iter().map(|e| e.redelivery_of.unwrap()).collect::<Vec<_>>(), vec![ids[3]]);
        let other = organizations::insert(&pool, "B", "b", Tier::Free).await.unwrap();
        assert!(redeliver_failed(&mut db, other.id, job_id, t0, now, now, 100).await.unwrap().is_empty());
    }

    /// Two bulk redeliveries of one job at the same moment: the second waits for the first and
    /// copies nothing it copied, so no message goes out twice.
    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn racing_bulk_redeliveries_copy_each_failed_run_once(pool: PgPool) {
        let org = organizations::insert(&pool, "A", "a", Tier::Free).await.unwrap();
        let job_id = hourly_job(&pool, org.id).await;
        let t0 = Utc::now() - chrono::Duration::hours(10);
        for i in 0..3 {
            let mut n = new(org.id, &[], t0 + chrono::Duration::hours(i));
            n.job_id = Some(job_id);
            let e = enqueue(&pool, &n).await.unwrap();
            finish(&pool, e.id, "failed").await;
        }
        let now = Utc::now();
        let mut first = pool.begin().await.unwrap();
        assert_eq!(redeliver_failed(&mut first, org.id, job_id, t0, now, now, 100).await.unwrap().len(), 3);
        let (p, o) = (pool.clone(), org.id);
        let second = tokio::spawn(async move {
            let mut tx = p.begin().await.unwrap();
            let copies = redeliver_failed(&mut tx, o, job_id, t0, now, now, 100).await.unwrap();
            tx.commit().await.unwrap();
            copies.len()
        });
        // the second call is waiting for the job's row (the signal: Postgres says it waits on a lock)
        loop {
            let waiting: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
                .fetch_one(&pool).await.unwrap();
            if waiting > 0 || second.is_finished() {
                break;
            }
            tokio::task::yield_now().await;
        }
        first.commit().await.unwrap();
        assert_eq!(second.await.unwrap(), 0, "the second call copies nothing the first one copied");
        let copies: i64 = sqlx::query_scalar("SELECT count(*) FROM executions WHERE redelivery_of IS NOT NULL").fetch_one(&pool).await.unwrap();
        assert_eq!(copies, 3);
    }
}
