//! Jobs: what to call and when. Rows are written from a validated `domain::job::JobSpec` and read
//! back through `domain::job::restore`, so a stored job always obeys the field rules.
//! `next_run_at` is the scheduler's cursor: callers compute it with the domain schedule
//! (NULL when disabled or when a one-time job has fired).

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use domain::billing::PauseReason;
use domain::job::{HeaderInput, HeadersInput, JobAlerts, JobAlertsInput, JobDraft, JobSpec, restore};
use domain::retry::RetryPolicyInput;
use domain::schedule::ScheduleSpec;
use sqlx::postgres::PgArguments;
use sqlx::query::QueryAs;
use sqlx::{PgExecutor, Postgres};
use uuid::Uuid;

use crate::error::{StoreError, StoreResult};
use crate::tenant_rows;
use crate::job_columns::{catch_up_columns, catch_up_of, overlap_column, overlap_of, retry_columns, schedule_columns, schedule_of};

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: Uuid,
    pub org_id: Uuid,
    pub spec: JobSpec,
    pub next_run_at: Option<DateTime<Utc>>,
    /// Set when its plan, not its user, disabled it (a downgrade); cleared when it is enabled.
    pub paused_reason: Option<PauseReason>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The columns a write sets, after `org_id` and `id`, with each one's Postgres type: the one list
/// every statement here is built from. A new job column is added here, to [`Columns`] (how a
/// spec is stored), to [`JobRow`] and its decoding, and to [`bind_columns`].
const WRITTEN: [(&str, &str); 23] = [
    ("key", "text"),
    ("name", "text"),
    ("url", "text"),
    ("method", "text"),
    ("headers", "jsonb"),
    ("body", "text"),
    ("timeout_secs", "int4"),
    ("enabled", "bool"),
    ("schedule_kind", "text"),
    ("cron_expr", "text"),
    ("timezone", "text"),
    ("once_at", "timestamptz"),
    ("interval_minutes", "int4"),
    ("retry_max_attempts", "int2"),
    ("retry_base_delay_secs", "int4"),
    ("retry_max_delay_secs", "int4"),
    ("catch_up", "text"),
    ("catch_up_cap", "int2"),
    ("overlap", "text"),
    ("completion_window_secs", "int4"),
    ("alerts_muted", "bool"),
    ("alert_channel_ids", "jsonb"),
    ("next_run_at", "timestamptz"),
];

/// Every column a read returns, each prefixed with `prefix` (`"j."` or `""`).
fn read_columns(prefix: &str) -> String {
    let all = ["id", "org_id"].into_iter().chain(WRITTEN.iter().map(|c| c.0)).chain(["paused_reason", "created_at", "updated_at"]);
    all.map(|c| format!("{prefix}{c}")).collect::<Vec<_>>().join(", ")
}

/// `unnest($1::uuid[], $2::uuid[], $3::text[], …)`: one array per written column, after the ids.
fn unnest_arrays() -> String {
    let types = ["uuid", "uuid"].into_iter().chain(WRITTEN.iter().map(|c| c.1));
    let arrays: Vec<String> = types.enumerate().map(|(i, t)| format!("${}::{t}[]", i + 1)).collect();
    format!("unnest({})", arrays.join(", "))
}

fn written_names() -> String {
    WRITTEN.iter().map(|c| c.0).collect::<Vec<_>>().join(", ")
}

/// Inserts every job bound; returns the whole rows.
static INSERT_ROWS: LazyLock<String> = LazyLock::new(|| {
    format!("INSERT INTO jobs (org_id, id, {}) SELECT * FROM {} RETURNING {}", written_names(), unnest_arrays(), read_columns(""))
});

/// Inserts every job bound whose sync key is free; returns the id and timestamps of each written.
static INSERT_NEW: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO jobs (org_id, id, {}) SELECT * FROM {} ON CONFLICT (org_id, key) WHERE key IS NOT NULL DO NOTHING
         RETURNING id, created_at, updated_at",
        written_names(),
        unnest_arrays()
    )
});

/// Replaces the written columns of every job bound (matched on org_id and id); returns the rows.
static UPDATE_ROWS: LazyLock<String> = LazyLock::new(|| {
    let values: Vec<String> = WRITTEN.iter().map(|c| format!("v.{}", c.0)).collect();
    format!(
        "UPDATE jobs j SET ({}, updated_at) = ({}, now()) FROM {} AS v(org_id, id, {})
          WHERE j.org_id = v.org_id AND j.id = v.id RETURNING {}",
        written_names(),
        values.join(", "),
        unnest_arrays(),
        written_names(),
        read_columns("j.")
    )
});

static SELECT: LazyLock<String> = LazyLock::new(|| format!("SELECT {} FROM jobs", read_columns("")));

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
    /// Derived from the schedule; the spec recomputes it.
    #[sqlx(rename = "interval_minutes")]
    _interval_minutes: Option<i32>,
    retry_max_attempts: i16,
    retry_base_delay_secs: i32,
    retry_max_delay_secs: i32,
    catch_up: String,
    catch_up_cap: i16,
    overlap: String,
    completion_window_secs: Option<i32>,
    alerts_muted: bool,
    alert_channel_ids: Option<sqlx::types::Json<Vec<String>>>,
    next_run_at: Option<DateTime<Utc>>,
    paused_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;

    fn try_from(r: JobRow) -> StoreResult<Job> {
        let corrupt = |what: &str| StoreError::Corrupt { column: "jobs", value: format!("job {}: {what}", r.id) };
        // the stored schedule is parsed here to name what is wrong; the draft carries its spelling
        let schedule = schedule_of(&r.schedule_kind, r.cron_expr.as_deref(), &r.timezone, r.once_at).map_err(|e| corrupt(&e))?;
        let schedule = match schedule {
            domain::schedule::Schedule::Once(at) => ScheduleSpec::Once { at },
            domain::schedule::Schedule::Cron(_) => ScheduleSpec::Cron { expr: r.cron_expr.clone().unwrap_or_default(), timezone: Some(r.timezone.clone()) },
        };
        let catch_up = catch_up_of(&r.catch_up, r.catch_up_cap).map_err(|e| corrupt(&e))?;
        let overlap = overlap_of(&r.overlap).map_err(|e| corrupt(&e))?;
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
            notifications: alerts_input(r.alerts_muted, r.alert_channel_ids.map(|ids| ids.0)),
            schedule: Some(schedule),
        };
        let spec = restore(&draft).map_err(|e| corrupt(&e.to_string()))?;
        let paused_reason = r.paused_reason.map(|p| p.parse::<PauseReason>().map_err(|e| corrupt(&e.to_string()))).transpose()?;
        Ok(Job { id: r.id, org_id: r.org_id, spec, next_run_at: r.next_run_at, paused_reason, created_at: r.created_at, updated_at: r.updated_at })
    }
}

/// The `notifications` field the two alert columns stand for.
fn alerts_input(muted: bool, channels: Option<Vec<String>>) -> Option<JobAlertsInput> {
    (muted || channels.is_some()).then(|| JobAlertsInput { mute: muted.then_some(true), channels })
}

/// One job's written columns as stored, in [`WRITTEN`]'s order.
struct Columns {
    org_id: Uuid,
    id: Uuid,
    key: Option<String>,
    name: String,
    url: String,
    method: &'static str,
    headers: sqlx::types::Json<Vec<(String, String)>>,
    body: Option<String>,
    timeout_secs: i32,
    enabled: bool,
    schedule_kind: &'static str,
    cron_expr: Option<String>,
    timezone: String,
    once_at: Option<DateTime<Utc>>,
    interval_minutes: Option<i32>,
    retry: (i16, i32, i32),
    catch_up: (&'static str, i16),
    overlap: &'static str,
    completion_window_secs: Option<i32>,
    alerts_muted: bool,
    alert_channel_ids: Option<sqlx::types::Json<Vec<String>>>,
    next_run_at: Option<DateTime<Utc>>,
}

impl Columns {
    fn of(org_id: Uuid, id: Uuid, spec: &JobSpec, next_run_at: Option<DateTime<Utc>>) -> Columns {
        let (schedule_kind, cron_expr, timezone, once_at) = schedule_columns(&spec.schedule);
        Columns {
            org_id,
            id,
            key: spec.key.as_ref().map(|k| k.as_str().to_owned()),
            name: spec.name.as_str().to_owned(),
            url: spec.url.as_str().to_owned(),
            method: spec.method.as_str(),
            headers: sqlx::types::Json(spec.headers.iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect()),
            body: spec.body.as_ref().map(|b| b.as_str().to_owned()),
            timeout_secs: i32::from(spec.timeout.secs()),
            enabled: spec.enabled,
            schedule_kind,
            cron_expr,
            timezone,
            once_at,
            interval_minutes: spec.interval_minutes.map(|m| m as i32),
            retry: retry_columns(spec.retry),
            catch_up: catch_up_columns(spec.catch_up),
            overlap: overlap_column(spec.overlap),
            completion_window_secs: spec.completion_window.map(|w| w.secs() as i32),
            alerts_muted: spec.alerts == JobAlerts::Muted,
            alert_channel_ids: match &spec.alerts {
                JobAlerts::Channels(ids) => Some(sqlx::types::Json(ids.iter().map(Uuid::to_string).collect())),
                _ => None,
            },
            next_run_at,
        }
    }
}

/// Binds `$1 org_id[]`, `$2 id[]` and one array per [`WRITTEN`] column, borrowed from `cols`.
fn bind_columns<'q, O>(q: QueryAs<'q, Postgres, O, PgArguments>, cols: &'q [Columns]) -> QueryAs<'q, Postgres, O, PgArguments> {
    fn each<'c, T>(cols: &'c [Columns], f: impl Fn(&'c Columns) -> T) -> Vec<T> {
        cols.iter().map(f).collect()
    }
    q.bind(each(cols, |c| c.org_id))
        .bind(each(cols, |c| c.id))
        .bind(each(cols, |c| c.key.as_deref()))
        .bind(each(cols, |c| c.name.as_str()))
        .bind(each(cols, |c| c.url.as_str()))
        .bind(each(cols, |c| c.method))
        .bind(each(cols, |c| &c.headers))
        .bind(each(cols, |c| c.body.as_deref()))
        .bind(each(cols, |c| c.timeout_secs))
        .bind(each(cols, |c| c.enabled))
        .bind(each(cols, |c| c.schedule_kind))
        .bind(each(cols, |c| c.cron_expr.as_deref()))
        .bind(each(cols, |c| c.timezone.as_str()))
        .bind(each(cols, |c| c.once_at))
        .bind(each(cols, |c| c.interval_minutes))
        .bind(each(cols, |c| c.retry.0))
        .bind(each(cols, |c| c.retry.1))
        .bind(each(cols, |c| c.retry.2))
        .bind(each(cols, |c| c.catch_up.0))
        .bind(each(cols, |c| c.catch_up.1))
        .bind(each(cols, |c| c.overlap))
        .bind(each(cols, |c| c.completion_window_secs))
        .bind(each(cols, |c| c.alerts_muted))
        .bind(each(cols, |c| c.alert_channel_ids.as_ref()))
        .bind(each(cols, |c| c.next_run_at))
}

/// Creates a job. A duplicate sync key is `StoreError::Conflict { constraint: "jobs_org_key" }`.
pub async fn insert(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid, spec: &JobSpec, next_run_at: Option<DateTime<Utc>>) -> StoreResult<Job> {
    let cols = [Columns::of(org_id, id, spec, next_run_at)];
    bind_columns(sqlx::query_as::<_, JobRow>(&INSERT_ROWS), &cols).fetch_one(db).await?.try_into()
}

/// Creates a job like [`insert`], but returns it built from `spec` itself rather than parsed
/// back from the row (the spec is what was stored): the API's create path, where parsing the
/// schedule a second time is measurable.
pub async fn insert_spec(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid, spec: &JobSpec, next_run_at: Option<DateTime<Utc>>) -> StoreResult<Job> {
    let job = NewJob { org_id, id, spec: spec.clone(), next_run_at };
    let stamps = insert_new(db, std::slice::from_ref(&job)).await?;
    stamped(job, &stamps)
}

/// The job as written, or the sync-key conflict that kept it out.
fn stamped(j: NewJob, stamps: &HashMap<Uuid, (DateTime<Utc>, DateTime<Utc>)>) -> StoreResult<Job> {
    match stamps.get(&j.id) {
        Some(&(created_at, updated_at)) => Ok(Job { id: j.id, org_id: j.org_id, spec: j.spec, next_run_at: j.next_run_at, paused_reason: None, created_at, updated_at }),
        None => Err(StoreError::Conflict { constraint: "jobs_org_key".to_owned() }),
    }
}

/// One job to create with [`insert_specs`].
#[derive(Debug, Clone)]
pub struct NewJob {
    pub org_id: Uuid,
    pub id: Uuid,
    pub spec: JobSpec,
    pub next_run_at: Option<DateTime<Utc>>,
}

/// Creates several jobs in one statement (the API coalesces the creates of concurrent
/// requests): one result per job, in order. A job whose sync key another job of its organization
/// has (already, or earlier in `jobs`) is not written and gets
/// `StoreError::Conflict { constraint: "jobs_org_key" }`, as [`insert_spec`] would give it. When
/// Postgres refuses the statement for another reason, each job is written on its own, so every
/// job gets its own outcome and none is refused for another's fault. The outer error is a failure
/// to reach the database at all: nothing was written.
pub async fn insert_specs(db: &sqlx::PgPool, jobs: &[NewJob]) -> StoreResult<Vec<StoreResult<Job>>> {
    match insert_new(db, jobs).await {
        Ok(stamps) => Ok(jobs.iter().map(|j| stamped(j.clone(), &stamps)).collect()),
        Err(StoreError::Database(e)) if !matches!(e, sqlx::Error::Database(_)) => Err(StoreError::Database(e)),
        Err(e) if jobs.len() == 1 => Ok(vec![Err(e)]),
        Err(_) => {
            let mut out = Vec::with_capacity(jobs.len());
            for j in jobs {
                out.push(insert_spec(db, j.org_id, j.id, &j.spec, j.next_run_at).await);
            }
            Ok(out)
        }
    }
}

/// Writes the jobs whose sync key is free; the id, created_at and updated_at of each written.
async fn insert_new(db: impl PgExecutor<'_>, jobs: &[NewJob]) -> StoreResult<HashMap<Uuid, (DateTime<Utc>, DateTime<Utc>)>> {
    let cols: Vec<Columns> = jobs.iter().map(|j| Columns::of(j.org_id, j.id, &j.spec, j.next_run_at)).collect();
    let rows: Vec<(Uuid, DateTime<Utc>, DateTime<Utc>)> = bind_columns(sqlx::query_as(&INSERT_NEW), &cols).fetch_all(db).await?;
    Ok(rows.into_iter().map(|(id, c, u)| (id, (c, u))).collect())
}

/// Replaces every writable field of a job of `org_id`. None when it does not exist there.
pub async fn update(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid, spec: &JobSpec, next_run_at: Option<DateTime<Utc>>) -> StoreResult<Option<Job>> {
    let cols = [Columns::of(org_id, id, spec, next_run_at)];
    bind_columns(sqlx::query_as::<_, JobRow>(&UPDATE_ROWS), &cols).fetch_optional(db).await?.map(TryInto::try_into).transpose()
}

pub async fn get(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid) -> StoreResult<Option<Job>> {
    tenant_rows::one::<JobRow, _, _>(db, &SELECT, org_id, "id", id).await
}

pub async fn by_key(db: impl PgExecutor<'_>, org_id: Uuid, key: &str) -> StoreResult<Option<Job>> {
    tenant_rows::one::<JobRow, _, _>(db, &SELECT, org_id, "key", key.to_owned()).await
}

/// A page of an organization's jobs, newest first. `before` is the (created_at, id) of the last
/// job of the previous page (cursor pagination: stable under concurrent inserts).
pub async fn list(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> StoreResult<Vec<Job>> {
    tenant_rows::newest_first::<JobRow, _>(db, &SELECT, org_id, before, limit).await
}

/// A page of an organization's jobs whose name or URL contains `text` (case-insensitive),
/// newest first, paged like [`list`].
pub async fn search(db: impl PgExecutor<'_>, org_id: Uuid, text: &str, before: Option<(DateTime<Utc>, Uuid)>, limit: i64) -> StoreResult<Vec<Job>> {
    let pattern = format!("%{}%", text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    let rows: Vec<JobRow> = sqlx::query_as(&format!(
        "{} WHERE org_id = $1 AND (name ILIKE $2 OR url ILIKE $2) AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
          ORDER BY created_at DESC, id DESC LIMIT $5",
        *SELECT
    ))
    .bind(org_id)
    .bind(pattern)
    .bind(before.map(|b| b.0))
    .bind(before.map(|b| b.1))
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(TryInto::try_into).collect()
}

/// An organization's enabled jobs due to run before `until`, soonest first.
pub async fn due_before(db: impl PgExecutor<'_>, org_id: Uuid, until: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Job>> {
    let rows: Vec<JobRow> = sqlx::query_as(&format!("{} WHERE org_id = $1 AND enabled AND next_run_at < $2 ORDER BY next_run_at, id LIMIT $3", *SELECT))
        .bind(org_id)
        .bind(until)
        .bind(limit)
        .fetch_all(db)
        .await?;
    rows.into_iter().map(TryInto::try_into).collect()
}

/// The names of those of `ids` that are jobs of `org_id` (for lists of executions).
pub async fn names(db: impl PgExecutor<'_>, org_id: Uuid, ids: &[Uuid]) -> StoreResult<Vec<(Uuid, String)>> {
    Ok(sqlx::query_as("SELECT id, name FROM jobs WHERE org_id = $1 AND id = ANY($2)").bind(org_id).bind(ids).fetch_all(db).await?)
}

/// Every job of an organization (declarative sync compares against the whole set).
pub async fn all(db: impl PgExecutor<'_>, org_id: Uuid) -> StoreResult<Vec<Job>> {
    let rows: Vec<JobRow> = sqlx::query_as(&format!("{} WHERE org_id = $1 ORDER BY created_at, id", *SELECT))
        .bind(org_id)
        .fetch_all(db)
        .await?;
    rows.into_iter().map(TryInto::try_into).collect()
}

pub async fn count(db: impl PgExecutor<'_>, org_id: Uuid) -> StoreResult<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM jobs WHERE org_id = $1").bind(org_id).fetch_one(db).await?)
}

/// How many of the organization's jobs are enabled.
pub async fn count_enabled(db: impl PgExecutor<'_>, org_id: Uuid) -> StoreResult<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM jobs WHERE org_id = $1 AND enabled").bind(org_id).fetch_one(db).await?)
}

/// `WITH cancelled AS (…)`: cancels the pending runs of job `$2` of organization `$1` (those
/// `filter` also selects), saying `reason`, finished at the parameter `now`.
macro_rules! cancelling_pending_runs {
    ($reason:literal, $now:literal, $filter:literal) => {
        concat!(
            "WITH cancelled AS (UPDATE executions SET status = 'cancelled', status_reason = '",
            $reason,
            "', finished_at = ",
            $now,
            " WHERE org_id = $1 AND job_id = $2 AND status = 'pending' ",
            $filter,
            ") "
        )
    };
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
    let changed: Option<Uuid> = sqlx::query_scalar(concat!(
        cancelling_pending_runs!("job disabled", "$5", "AND NOT $3 AND source = 'schedule'"),
        "UPDATE jobs SET enabled = $3, paused_reason = NULL,
                next_run_at = CASE WHEN $3 THEN coalesce(next_run_at, $4) ELSE next_run_at END,
                updated_at = now()
          WHERE org_id = $1 AND id = $2 RETURNING id"
    ))
    .bind(org_id)
    .bind(id)
    .bind(enabled)
    .bind(resume_at)
    .bind(now)
    .fetch_optional(db)
    .await?;
    Ok(changed.is_some())
}

/// Pauses jobs of `org_id` for their plan (`pauses`: each job and why), as disabling does (the
/// cursor stays, pending scheduled runs are cancelled), in one statement. Returns how many
/// enabled jobs it paused.
pub async fn pause_for_plan(db: impl PgExecutor<'_>, org_id: Uuid, pauses: &[(Uuid, PauseReason)], now: DateTime<Utc>) -> StoreResult<u64> {
    let ids: Vec<Uuid> = pauses.iter().map(|p| p.0).collect();
    let reasons: Vec<&str> = pauses.iter().map(|p| p.1.as_str()).collect();
    let paused: i64 = sqlx::query_scalar(
        "WITH cancelled AS (
             UPDATE executions SET status = 'cancelled', status_reason = 'paused by the plan', finished_at = $4
              WHERE org_id = $1 AND job_id = ANY($2) AND status = 'pending' AND source = 'schedule'
         ), paused AS (
             UPDATE jobs j SET enabled = false, paused_reason = v.reason, updated_at = now()
               FROM unnest($2::uuid[], $3::text[]) AS v(id, reason)
              WHERE j.org_id = $1 AND j.id = v.id AND j.enabled
             RETURNING 1
         )
         SELECT count(*) FROM paused",
    )
    .bind(org_id)
    .bind(&ids)
    .bind(&reasons)
    .bind(now)
    .fetch_one(db)
    .await?;
    Ok(paused as u64)
}

/// The organization's enabled jobs, oldest first (what a downgrade weighs).
pub async fn enabled_oldest_first(db: impl PgExecutor<'_>, org_id: Uuid) -> StoreResult<Vec<Job>> {
    let sql = format!("{} WHERE org_id = $1 AND enabled ORDER BY created_at, id", SELECT.as_str());
    sqlx::query_as::<_, JobRow>(&sql).bind(org_id).fetch_all(db).await?.into_iter().map(Job::try_from).collect()
}

/// The organization's jobs paused by their plan, oldest first (what an upgrade resumes; not
/// those paused by the organization's deletion).
pub async fn paused_for_plan(db: impl PgExecutor<'_>, org_id: Uuid) -> StoreResult<Vec<Job>> {
    let sql = format!("{} WHERE org_id = $1 AND paused_reason IN ('plan_job_limit', 'plan_min_interval') ORDER BY created_at, id", SELECT.as_str());
    sqlx::query_as::<_, JobRow>(&sql).bind(org_id).fetch_all(db).await?.into_iter().map(Job::try_from).collect()
}

/// Deletes a job of `org_id`, cancelling its runs that have not started. Its history stays
/// (executions keep their rows with `job_id` NULL). False when not found.
pub async fn delete(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
    let sql = concat!(cancelling_pending_runs!("job deleted", "$3", ""), "DELETE FROM jobs WHERE org_id = $1 AND id = $2 RETURNING id");
    let deleted: Option<Uuid> = sqlx::query_scalar(sql).bind(org_id).bind(id).bind(now).fetch_optional(db).await?;
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
            "notifications": {"channels": ["0192f2a1-c3d8-4e5f-8a9b-0c1d2e3f4a5c", "0192f2a1-c3d8-4e5f-8a9b-0c1d2e3f4a5b"]},
            "schedule": {"kind": "cron", "expr": "30 2 * * *", "timezone": "Europe/Oslo"}
        }))
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn search_matches_name_or_url_literally_within_the_tenant(pool: PgPool) {
        let a = organizations::insert(&pool, "A", "a", Tier::Pro).await.unwrap();
        let b = organizations::insert(&pool, "B", "b", Tier::Pro).await.unwrap();
        let make = |name: &str, url: &str| spec(serde_json::json!({"name": name, "url": url, "schedule": {"kind": "cron", "expr": "0 * * * *"}}));
        let report = insert(&pool, a.id, Uuid::now_v7(), &make("Nightly report", "https://example.com/a"), None).await.unwrap();
        let billing = insert(&pool, a.id, Uuid::now_v7(), &make("100% sync", "https://billing.example.com/x"), None).await.unwrap();
        insert(&pool, b.id, Uuid::now_v7(), &make("Nightly report of B", "https://example.com/b"), None).await.unwrap();
        let names = |jobs: Vec<Job>| jobs.into_iter().map(|j| j.id).collect::<Vec<_>>();
        assert_eq!(names(search(&pool, a.id, "NIGHTLY", None, 10).await.unwrap()), vec![report.id]);
        assert_eq!(names(search(&pool, a.id, "billing.", None, 10).await.unwrap()), vec![billing.id], "the URL too");
        assert_eq!(names(search(&pool, a.id, "0%", None, 10).await.unwrap()), vec![billing.id], "% is a character, not a wildcard");
        assert!(search(&pool, a.id, "_", None, 10).await.unwrap().is_empty());
        assert_eq!(names(search(&pool, a.id, "", None, 1).await.unwrap()), vec![billing.id], "newest first");
        assert_eq!(names(search(&pool, a.id, "", Some((billing.created_at, billing.id)), 5).await.unwrap()), vec![report.id]);
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn due_before_lists_enabled_jobs_soonest_first(pool: PgPool) {
        let a = organizations::insert(&pool, "A", "a", Tier::Pro).await.unwrap();
        let b = organizations::insert(&pool, "B", "b", Tier::Pro).await.unwrap();
        let now = Utc::now();
        let hourly = spec(serde_json::json!({"name": "h", "url": "https://example.com", "schedule": {"kind": "cron", "expr": "0 * * * *"}}));
        let later = insert(&pool, a.id, Uuid::now_v7(), &hourly, Some(now + chrono::Duration::minutes(50))).await.unwrap();
        let soon = insert(&pool, a.id, Uuid::now_v7(), &hourly, Some(now + chrono::Duration::minutes(5))).await.unwrap();
        insert(&pool, a.id, Uuid::now_v7(), &hourly, Some(now + chrono::Duration::minutes(90))).await.unwrap();
        insert(&pool, b.id, Uuid::now_v7(), &hourly, Some(now + chrono::Duration::minutes(1))).await.unwrap();
        let due = due_before(&pool, a.id, now + chrono::Duration::hours(1), 10).await.unwrap();
        assert_eq!(due.iter().map(|j| j.id).collect::<Vec<_>>(), vec![soon.id, later.id]);
        let b_job = due_before(&pool, b.id, now + chrono::Duration::hours(1), 10).await.unwrap().remove(0);
        assert_eq!(names(&pool, a.id, &[soon.id, b_job.id]).await.unwrap(), vec![(soon.id, "h".to_owned())], "B's job is not named to A");
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn a_batch_writes_every_field_and_answers_each_job(pool: PgPool) {
        let org = organizations::insert(&pool, "O", "o", Tier::Pro).await.unwrap();
        let next = Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap();
        let existing = insert(&pool, org.id, Uuid::now_v7(), &full_spec(), Some(next)).await.unwrap();
        let keyed = |key: &str| {
            let mut s = full_spec();
            s.key = Some(domain::job::JobKey::parse(key).unwrap());
            s
        };
        let mut plain = full_spec();
        plain.key = None;
        let new = |spec: JobSpec| NewJob { org_id: org.id, id: Uuid::now_v7(), spec, next_run_at: Some(next) };
        let jobs = vec![new(plain.clone()), new(keyed("nightly")), new(keyed("fresh")), new(keyed("fresh")), new(plain)];
        let out = insert_specs(&pool, &jobs).await.unwrap();
        assert_eq!(out.len(), 5);
        for i in [0, 2, 4] {
            let job = out[i].as_ref().unwrap();
            assert_eq!((job.id, &job.spec), (jobs[i].id, &jobs[i].spec));
            assert_eq!(get(&pool, org.id, job.id).await.unwrap().as_ref(), Some(job), "job {i} is stored as returned");
        }
        for i in [1, 3] {
            assert!(out[i].as_ref().unwrap_err().is_conflict_on("jobs_org_key"), "job {i}: {:?}", out[i]);
            assert_eq!(get(&pool, org.id, jobs[i].id).await.unwrap(), None);
        }
        assert_eq!(by_key(&pool, org.id, "nightly").await.unwrap().map(|j| j.id), Some(existing.id), "the existing job is untouched");
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn a_job_postgres_refuses_fails_alone(pool: PgPool) {
        let org = organizations::insert(&pool, "O", "o", Tier::Pro).await.unwrap();
        let mut s = full_spec();
        s.key = None;
        let jobs: Vec<NewJob> = [org.id, Uuid::now_v7(), org.id]
            .into_iter()
            .map(|org_id| NewJob { org_id, id: Uuid::now_v7(), spec: s.clone(), next_run_at: None })
            .collect();
        let out = insert_specs(&pool, &jobs).await.unwrap();
        assert!(matches!(out[1], Err(StoreError::Database(_))), "no such organization: {:?}", out[1]);
        for i in [0, 2] {
            assert_eq!(out[i].as_ref().unwrap().id, jobs[i].id);
            assert!(get(&pool, org.id, jobs[i].id).await.unwrap().is_some(), "job {i} is written");
        }
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
        let mut muted = once.clone();
        muted.alerts = domain::job::JobAlerts::Muted;
        assert_eq!(update(&pool, org.id, job.id, &muted, None).await.unwrap().unwrap().spec.alerts, domain::job::JobAlerts::Muted);
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
