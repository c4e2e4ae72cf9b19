//! Jobs: what to call and when. Rows are written from a validated `domain::job::JobSpec` and read
//! back through `domain::job::restore`, so a stored job always obeys the field rules.
//! `next_run_at` is the scheduler's cursor: callers compute it with the domain schedule
//! (NULL when disabled or when a one-time job has fired).

use chrono::{DateTime, Utc};
use domain::job::{CatchUp, HeaderInput, HeadersInput, JobDraft, JobSpec, restore};
use domain::retry::RetryPolicyInput;
use domain::schedule::{Schedule, ScheduleSpec};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::error::{StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: Uuid,
    pub org_id: Uuid,
    pub spec: JobSpec,
    pub next_run_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The columns as stored.
#[derive(Debug, sqlx::FromRow)]
struct JobRow {
    id: Uuid,
    org_id: Uuid,
    key: Option<String>,
    name: String,
    url: String,
    method: String,
    headers: sqlx::types::Json<Vec<(String, String)>>,
    body: Option<String>,
    timeout_secs: i32,
    enabled: bool,
    schedule_kind: String,
    cron_expr: Option<String>,
    timezone: String,
    once_at: Option<DateTime<Utc>>,
    retry_max_attempts: i16,
    retry_base_delay_secs: i32,
    retry_max_delay_secs: i32,
    catch_up: String,
    catch_up_cap: i16,
    overlap: String,
    completion_window_secs: Option<i32>,
    next_run_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT id, org_id, key, name, url, method, headers, body, timeout_secs, enabled, schedule_kind,
        cron_expr, timezone, once_at, retry_max_attempts, retry_base_delay_secs, retry_max_delay_secs,
        catch_up, catch_up_cap, overlap, completion_window_secs, next_run_at, created_at, updated_at
   FROM jobs";

impl TryFrom<JobRow> for Job {
    type Error = StoreError;

    fn try_from(r: JobRow) -> StoreResult<Job> {
        let corrupt = |what: &str| StoreError::Corrupt { column: "jobs", value: format!("job {}: {what}", r.id) };
        let schedule = match (r.schedule_kind.as_str(), &r.cron_expr, r.once_at) {
            ("cron", Some(expr), _) => ScheduleSpec::Cron { expr: expr.clone(), timezone: Some(r.timezone.clone()) },
            ("once", _, Some(at)) => ScheduleSpec::Once { at },
            _ => return Err(corrupt("schedule columns")),
        };
        let catch_up = serde_json::from_value::<CatchUp>(match r.catch_up.as_str() {
            "run_all" => serde_json::json!({"mode": "run_all", "cap": r.catch_up_cap}),
            mode => serde_json::json!({"mode": mode}),
        })
        .map_err(|_| corrupt("catch_up"))?;
        let overlap = serde_json::from_value(serde_json::Value::String(r.overlap.clone())).map_err(|_| corrupt("overlap"))?;
        let draft = JobDraft {
            name: r.name,
            key: r.key,
            url: r.url,
            method: Some(r.method),
            headers: HeadersInput(r.headers.0.into_iter().map(|(name, value)| HeaderInput { name, value }).collect()),
            body: r.body,
            timeout_secs: u32::try_from(r.timeout_secs).ok(),
            enabled: Some(r.enabled),
            retry: Some(RetryPolicyInput {
                max_attempts: u8::try_from(r.retry_max_attempts).map_err(|_| corrupt("retry_max_attempts"))?,
                base_delay_secs: u32::try_from(r.retry_base_delay_secs).ok(),
                max_delay_secs: u32::try_from(r.retry_max_delay_secs).ok(),
            }),
            catch_up: Some(catch_up.into()),
            overlap: Some(overlap),
            completion_window_secs: r.completion_window_secs.and_then(|s| u32::try_from(s).ok()),
            schedule: Some(schedule),
        };
        let spec = restore(&draft).map_err(|e| corrupt(&e.to_string()))?;
        Ok(Job { id: r.id, org_id: r.org_id, spec, next_run_at: r.next_run_at, created_at: r.created_at, updated_at: r.updated_at })
    }
}

/// The values bound for the writable columns, in this order:
/// $3 key … $21 completion_window_secs, $22 next_run_at (after $1 org_id / $2 id).
fn bind_spec<'q, O>(
    q: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    spec: &JobSpec,
    next_run_at: Option<DateTime<Utc>>,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
    let headers: Vec<(String, String)> = spec.headers.iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
    let (cron_expr, timezone, once_at) = match &spec.schedule {
        Schedule::Cron(c) => (Some(c.expr().to_owned()), c.timezone().name().to_owned(), None),
        Schedule::Once(at) => (None, "UTC".to_owned(), Some(*at)),
    };
    let (max_attempts, base, max) = RetryPolicyInput::from(spec.retry).resolved();
    let (catch_up, cap) = match spec.catch_up {
        CatchUp::RunOnce => ("run_once", 10),
        CatchUp::RunAll { cap } => ("run_all", cap.get() as i16),
        CatchUp::Skip => ("skip", 10),
    };
    let overlap = match spec.overlap {
        domain::job::Overlap::Allow => "allow",
        domain::job::Overlap::Skip => "skip",
    };
    q.bind(spec.key.as_ref().map(|k| k.as_str().to_owned()))
        .bind(spec.name.as_str().to_owned())
        .bind(spec.url.as_str().to_owned())
        .bind(spec.method.as_str())
        .bind(sqlx::types::Json(headers))
        .bind(spec.body.as_ref().map(|b| b.as_str().to_owned()))
        .bind(i32::from(spec.timeout.secs()))
        .bind(spec.enabled)
        .bind(spec.schedule.kind())
        .bind(cron_expr)
        .bind(timezone)
        .bind(once_at)
        .bind(spec.interval_minutes.map(|m| m as i32))
        .bind(i16::from(max_attempts))
        .bind(base as i32)
        .bind(max as i32)
        .bind(catch_up)
        .bind(cap)
        .bind(overlap)
        .bind(spec.completion_window.map(|w| w.secs() as i32))
        .bind(next_run_at)
}

/// Creates a job. A duplicate sync key is `StoreError::Conflict { constraint: "jobs_org_key" }`.
pub async fn insert(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
    spec: &JobSpec,
    next_run_at: Option<DateTime<Utc>>,
) -> StoreResult<Job> {
    let q = sqlx::query_as::<_, JobRow>(
        "INSERT INTO jobs (org_id, id, key, name, url, method, headers, body, timeout_secs, enabled, schedule_kind,
                           cron_expr, timezone, once_at, interval_minutes, retry_max_attempts, retry_base_delay_secs,
                           retry_max_delay_secs, catch_up, catch_up_cap, overlap, completion_window_secs, next_run_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
         RETURNING id, org_id, key, name, url, method, headers, body, timeout_secs, enabled, schedule_kind,
                   cron_expr, timezone, once_at, retry_max_attempts, retry_base_delay_secs, retry_max_delay_secs,
                   catch_up, catch_up_cap, overlap, completion_window_secs, next_run_at, created_at, updated_at",
    )
    .bind(org_id)
    .bind(id);
    bind_spec(q, spec, next_run_at).fetch_one(db).await?.try_into()
}

/// Creates a job like [`insert`], but returns it built from `spec` itself rather than parsed
/// back from the row (the spec is what was stored): the API's create path, where parsing the
/// schedule a second time is measurable.
pub async fn insert_spec(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
    spec: &JobSpec,
    next_run_at: Option<DateTime<Utc>>,
) -> StoreResult<Job> {
    let q = sqlx::query_as::<_, (DateTime<Utc>, DateTime<Utc>)>(
        "INSERT INTO jobs (org_id, id, key, name, url, method, headers, body, timeout_secs, enabled, schedule_kind,
                           cron_expr, timezone, once_at, interval_minutes, retry_max_attempts, retry_base_delay_secs,
                           retry_max_delay_secs, catch_up, catch_up_cap, overlap, completion_window_secs, next_run_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
         RETURNING created_at, updated_at",
    )
    .bind(org_id)
    .bind(id);
    let (created_at, updated_at) = bind_spec(q, spec, next_run_at).fetch_one(db).await?;
    Ok(Job { id, org_id, spec: spec.clone(), next_run_at, created_at, updated_at })
}

/// Replaces every writable field of a job of `org_id`. None when it does not exist there.
pub async fn update(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
    spec: &JobSpec,
    next_run_at: Option<DateTime<Utc>>,
) -> StoreResult<Option<Job>> {
    let q = sqlx::query_as::<_, JobRow>(
        "UPDATE jobs SET key = $3, name = $4, url = $5, method = $6, headers = $7, body = $8, timeout_secs = $9,
                enabled = $10, schedule_kind = $11, cron_expr = $12, timezone = $13, once_at = $14,
                interval_minutes = $15, retry_max_attempts = $16, retry_base_delay_secs = $17,
                retry_max_delay_secs = $18, catch_up = $19, catch_up_cap = $20, overlap = $21,
                completion_window_secs = $22, next_run_at = $23, updated_at = now()
          WHERE org_id = $1 AND id = $2
         RETURNING id, org_id, key, name, url, method, headers, body, timeout_secs, enabled, schedule_kind,
                   cron_expr, timezone, once_at, retry_max_attempts, retry_base_delay_secs, retry_max_delay_secs,
                   catch_up, catch_up_cap, overlap, completion_window_secs, next_run_at, created_at, updated_at",
    )
    .bind(org_id)
    .bind(id);
    bind_spec(q, spec, next_run_at).fetch_optional(db).await?.map(TryInto::try_into).transpose()
}

pub async fn get(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid) -> StoreResult<Option<Job>> {
    let row: Option<JobRow> = sqlx::query_as(&format!("{SELECT} WHERE org_id = $1 AND id = $2"))
        .bind(org_id)
        .bind(id)
        .fetch_optional(db)
        .await?;
    row.map(TryInto::try_into).transpose()
}

pub async fn by_key(db: impl PgExecutor<'_>, org_id: Uuid, key: &str) -> StoreResult<Option<Job>> {
    let row: Option<JobRow> = sqlx::query_as(&format!("{SELECT} WHERE org_id = $1 AND key = $2"))
        .bind(org_id)
        .bind(key)
        .fetch_optional(db)
        .await?;
    row.map(TryInto::try_into).transpose()
}

/// A page of an organization's jobs, newest first. `before` is the (created_at, id) of the last
/// job of the previous page (cursor pagination: stable under concurrent inserts).
pub async fn list(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> StoreResult<Vec<Job>> {
    let rows: Vec<JobRow> = sqlx::query_as(&format!(
        "{SELECT} WHERE org_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
          ORDER BY created_at DESC, id DESC LIMIT $4"
    ))
    .bind(org_id)
    .bind(before.map(|b| b.0))
    .bind(before.map(|b| b.1))
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(TryInto::try_into).collect()
}

/// Every job of an organization (declarative sync compares against the whole set).
pub async fn all(db: impl PgExecutor<'_>, org_id: Uuid) -> StoreResult<Vec<Job>> {
    let rows: Vec<JobRow> = sqlx::query_as(&format!("{SELECT} WHERE org_id = $1 ORDER BY created_at, id"))
        .bind(org_id)
        .fetch_all(db)
        .await?;
    rows.into_iter().map(TryInto::try_into).collect()
}

pub async fn count(db: impl PgExecutor<'_>, org_id: Uuid) -> StoreResult<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM jobs WHERE org_id = $1").bind(org_id).fetch_one(db).await?)
}

/// Enables or disables a job of `org_id`. False when not found.
///
/// Disabling keeps the scheduler cursor (`next_run_at`) where it is and cancels the job's
/// scheduled runs that have not started. Enabling resumes from that cursor, so the occurrences
/// missed during the pause go through the job's missed-run policy (run once, run all up to a cap,
/// or skip); a job with no cursor (never scheduled, or a one-time job that already fired) gets
/// `resume_at` (the caller's `schedule.next_after(now)`).
pub async fn set_enabled(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
    enabled: bool,
    resume_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let changed: Option<Uuid> = sqlx::query_scalar(
        "WITH cancelled AS (
             UPDATE executions SET status = 'cancelled', status_reason = 'job disabled', finished_at = $5
              WHERE NOT $3 AND org_id = $1 AND job_id = $2 AND status = 'pending' AND source = 'schedule'
         )
         UPDATE jobs SET enabled = $3,
                next_run_at = CASE WHEN $3 THEN coalesce(next_run_at, $4) ELSE next_run_at END,
                updated_at = now()
          WHERE org_id = $1 AND id = $2 RETURNING id",
    )
    .bind(org_id)
    .bind(id)
    .bind(enabled)
    .bind(resume_at)
    .bind(now)
    .fetch_optional(db)
    .await?;
    Ok(changed.is_some())
}

/// Deletes a job of `org_id`, cancelling its runs that have not started. Its history stays
/// (executions keep their rows with `job_id` NULL). False when not found.
pub async fn delete(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
    let deleted: Option<Uuid> = sqlx::query_scalar(
        "WITH cancelled AS (
             UPDATE executions SET status = 'cancelled', status_reason = 'job deleted', finished_at = $3
              WHERE org_id = $1 AND job_id = $2 AND status = 'pending'
         )
         DELETE FROM jobs WHERE org_id = $1 AND id = $2 RETURNING id",
    )
    .bind(org_id)
    .bind(id)
    .bind(now)
    .fetch_optional(db)
    .await?;
    Ok(deleted.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::organizations;
    use chrono::TimeZone;
    use domain::tier::Tier;
    use sqlx::PgPool;

    fn spec(json: serde_json::Value) -> JobSpec {
        let draft: JobDraft = serde_json::from_value(json).unwrap();
        domain::job::validate(&draft, Tier::Pro, Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()).unwrap()
    }

    fn full_spec() -> JobSpec {
        spec(serde_json::json!({
            "name": "Nightly report", "key": "nightly", "url": "https://example.com/hook?x=1",
            "method": "PUT", "headers": [{"name": "X-B", "value": "2"}, {"name": "X-A", "value": "1"}],
            "body": "{\"a\":1}", "timeout_secs": 120, "enabled": true,
            "retry": {"max_attempts": 3, "base_delay_secs": 5, "max_delay_secs": 60},
            "catch_up": {"mode": "run_all", "cap": 7}, "overlap": "skip", "completion_window_secs": 600,
            "schedule": {"kind": "cron", "expr": "30 2 * * *", "timezone": "Europe/Oslo"}
        }))
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn every_field_round_trips(pool: PgPool) {
        let org = organizations::insert(&pool, "O", "o", Tier::Pro).await.unwrap();
        let s = full_spec();
        let next = Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap();
        let job = insert(&pool, org.id, Uuid::now_v7(), &s, Some(next)).await.unwrap();
        assert_eq!(job.spec, s, "what comes back is exactly what went in (header order included)");
        assert_eq!(job.next_run_at, Some(next));
        assert_eq!(get(&pool, org.id, job.id).await.unwrap(), Some(job.clone()));
        assert_eq!(by_key(&pool, org.id, "nightly").await.unwrap().map(|j| j.id), Some(job.id));
        let mut other = s.clone();
        other.key = None;
        let direct = insert_spec(&pool, org.id, Uuid::now_v7(), &other, Some(next)).await.unwrap();
        assert_eq!(get(&pool, org.id, direct.id).await.unwrap(), Some(direct.clone()), "insert_spec returns what a read returns");

        let once = spec(serde_json::json!({
            "name": "one-off", "url": "http://example.org/", "method": "GET",
            "schedule": {"kind": "once", "at": "2026-06-01T10:00:00Z"}
        }));
        let updated = update(&pool, org.id, job.id, &once, None).await.unwrap().unwrap();
        assert_eq!(updated.spec, once);
        assert!(updated.updated_at >= job.updated_at);
        assert_eq!(by_key(&pool, org.id, "nightly").await.unwrap(), None, "key cleared by the update");
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn tenants_never_see_each_others_jobs(pool: PgPool) {
        let a = organizations::insert(&pool, "A", "a", Tier::Pro).await.unwrap();
        let b = organizations::insert(&pool, "B", "b", Tier::Pro).await.unwrap();
        let job = insert(&pool, a.id, Uuid::now_v7(), &full_spec(), None).await.unwrap();
        let now = Utc::now();
        assert_eq!(get(&pool, b.id, job.id).await.unwrap(), None);
        assert_eq!(update(&pool, b.id, job.id, &full_spec(), None).await.unwrap(), None);
        assert!(!set_enabled(&pool, b.id, job.id, false, None, now).await.unwrap());
        assert!(!delete(&pool, b.id, job.id, now).await.unwrap());
        assert!(list(&pool, b.id, None, 10).await.unwrap().is_empty());
        assert_eq!(count(&pool, b.id).await.unwrap(), 0);
        assert_eq!(count(&pool, a.id).await.unwrap(), 1);
        // the same sync key may exist once per organization
        insert(&pool, b.id, Uuid::now_v7(), &full_spec(), None).await.unwrap();
        let err = insert(&pool, a.id, Uuid::now_v7(), &full_spec(), None).await.unwrap_err();
        assert!(err.is_conflict_on("jobs_org_key"), "{err:?}");
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn cursor_pagination_walks_every_job_once(pool: PgPool) {
        let org = organizations::insert(&pool, "O", "o", Tier::Pro).await.unwrap();
        let mut s = full_spec();
        s.key = None;
        for _ in 0..7 {
            insert(&pool, org.id, Uuid::now_v7(), &s, None).await.unwrap();
        }
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = list(&pool, org.id, cursor, 3).await.unwrap();
            if page.is_empty() {
                break;
            }
            cursor = page.last().map(|j| (j.created_at, j.id));
            seen.extend(page.into_iter().map(|j| j.id));
        }
        assert_eq!(seen.len(), 7);
        let mut unique = seen.clone();
        unique.dedup();
        assert_eq!(unique.len(), 7);
        assert_eq!(all(&pool, org.id).await.unwrap().len(), 7);
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn delete_cancels_pending_runs_and_keeps_history(pool: PgPool) {
        let org = organizations::insert(&pool, "O", "o", Tier::Pro).await.unwrap();
        let job = insert(&pool, org.id, Uuid::now_v7(), &full_spec(), None).await.unwrap();
        let now = Utc::now();
        sqlx::query(
            "INSERT INTO executions (org_id, job_id, source, scheduled_for, run_at, status, priority, max_attempts,
                                     retry_base_delay_secs, retry_max_delay_secs, message_id, method, url, timeout_secs)
             SELECT $1, $2, 'schedule', $3 + (i || ' minutes')::interval, $3, s, 10, 1, 10, 60, gen_random_uuid(), 'POST', 'https://example.com', 30
               FROM (VALUES (1, 'pending'), (2, 'success')) v(i, s)",
        )
        .bind(org.id)
        .bind(job.id)
        .bind(now)
        .execute(&pool)
        .await
        .unwrap();
        assert!(delete(&pool, org.id, job.id, now).await.unwrap());
        assert!(!delete(&pool, org.id, job.id, now).await.unwrap());
        let rows: Vec<(Option<Uuid>, String)> =
            sqlx::query_as("SELECT job_id, status FROM executions ORDER BY scheduled_for").fetch_all(&pool).await.unwrap();
        assert_eq!(rows, vec![(None, "cancelled".to_owned()), (None, "success".to_owned())]);
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn pausing_keeps_the_cursor_and_cancels_pending_scheduled_runs(pool: PgPool) {
        let org = organizations::insert(&pool, "O", "o", Tier::Pro).await.unwrap();
        let cursor = Utc.with_ymd_and_hms(2026, 3, 1, 2, 30, 0).unwrap();
        let job = insert(&pool, org.id, Uuid::now_v7(), &full_spec(), Some(cursor)).await.unwrap();
        let now = Utc::now();
        sqlx::query(
            "INSERT INTO executions (org_id, job_id, source, scheduled_for, run_at, status, priority, max_attempts,
                                     retry_base_delay_secs, retry_max_delay_secs, message_id, method, url, timeout_secs)
             SELECT $1, $2, s, $3, $3, 'pending', 10, 1, 10, 60, gen_random_uuid(), 'POST', 'https://example.com', 30
               FROM (VALUES ('schedule'), ('manual')) v(s)",
        )
        .bind(org.id)
        .bind(job.id)
        .bind(now)
        .execute(&pool)
        .await
        .unwrap();
        let later = Utc.with_ymd_and_hms(2026, 4, 1, 2, 30, 0).unwrap();
        assert!(set_enabled(&pool, org.id, job.id, false, Some(later), now).await.unwrap());
        let paused = get(&pool, org.id, job.id).await.unwrap().unwrap();
        assert!(!paused.spec.enabled);
        assert_eq!(paused.next_run_at, Some(cursor), "the cursor stays for catch-up");
        let statuses: Vec<(String, String)> =
            sqlx::query_as("SELECT source, status FROM executions ORDER BY source").fetch_all(&pool).await.unwrap();
        assert_eq!(statuses, vec![("manual".into(), "pending".into()), ("schedule".into(), "cancelled".into())]);

        assert!(set_enabled(&pool, org.id, job.id, true, Some(later), now).await.unwrap());
        assert_eq!(get(&pool, org.id, job.id).await.unwrap().unwrap().next_run_at, Some(cursor));
        sqlx::query("UPDATE jobs SET next_run_at = NULL").execute(&pool).await.unwrap();
        assert!(set_enabled(&pool, org.id, job.id, true, Some(later), now).await.unwrap());
        assert_eq!(get(&pool, org.id, job.id).await.unwrap().unwrap().next_run_at, Some(later), "no cursor: resume_at");
    }
}
