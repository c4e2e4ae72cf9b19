//! `/api/v1/jobs`: create, list, read, update (merge of the fields sent), delete, enable and
//! disable. Every query is scoped to the caller's organization; another tenant's id is a 404.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use domain::job::JobDraft;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::Tenant;
use super::extract::{ApiPath, ApiQuery, IdempotencyKey, RawJson};
use super::idempotent;
use super::job_rules::{self, find};
use super::job_schema::{JobInput, JobPatch, JobView};
use super::pagination::{PageQuery, paginate};
use crate::AppState;
use crate::problem::Problem;

/// A page of jobs, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobPage {
    /// At most `limit` jobs.
    pub data: Vec<JobView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Create a job.
///
/// Validates the whole job (every invalid field is reported at once) against the rules of the
/// organization's plan, stores it and schedules its first run. Only `name`, `url` and `schedule`
/// are required.
#[utoipa::path(post, path = "/api/v1/jobs", tag = "jobs", operation_id = "createJob",
    request_body(content = JobInput, example = json!(crate::v1::examples::job_input())),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h when the same request is sent again")),
    responses(
        (status = 201, description = "Created", body = JobView, headers(("Location" = String, description = "URL of the new job")), example = json!(crate::v1::examples::job())),
        (status = 403, description = "The plan's job limit is reached", body = Problem, content_type = "application/problem+json", example = json!(crate::v1::examples::job_limit_problem())),
        (status = 409, description = "Another job has this key", body = Problem, content_type = "application/problem+json", example = json!(crate::v1::examples::key_conflict_problem())),
    ),
    security(("api_key" = [])))]
pub async fn create(State(state): State<AppState>, tenant: Tenant, key: IdempotencyKey, body: RawJson) -> Result<Response, Problem> {
    let draft: JobDraft = body.parse()?;
    let now = Utc::now();
    let mut spec = job_rules::validate(&draft, tenant.tier, now, None, "")?;
    job_rules::seal(&state, tenant.org_id, &mut spec, None).await?;
    job_rules::ensure_channels(&state.pool, tenant.org_id, &draft, &spec).await?;
    let id = job_rules::new_id();
    let cursor = job_rules::first_cursor(&spec, now);
    if key.0.is_none() && tenant.tier.limits().max_jobs.is_none() {
        // No job limit to check and no key to record: one autocommit statement, shared with the
        // creates of concurrent requests.
        let new = store::jobs::NewJob { org_id: tenant.org_id, id, spec, next_run_at: cursor };
        let job = state.batches.new_jobs.call(new).await.map_err(|e| Problem::internal(&e))??;
        tracing::info!(org_id = %tenant.org_id, job_id = %job.id, "job created");
        return Ok(with_location((StatusCode::CREATED, Json(JobView::from(&job))).into_response(), id));
    }
    let mut tx = state.pool.begin().await?;
    if let Some(replay) = idempotent::begin(&mut tx, &tenant, &key, &idempotent::fingerprint("POST", "/api/v1/jobs", &body.0)).await? {
        return Ok(replay);
    }
    job_rules::ensure_room(&mut tx, &tenant, 1).await?;
    let job = store::jobs::insert_spec(&mut *tx, tenant.org_id, id, &spec, cursor).await.map_err(|e| job_rules::key_conflict(e, "key"))?;
    let res = idempotent::finish(&mut tx, &tenant, &key, StatusCode::CREATED, &JobView::from(&job)).await?;
    tx.commit().await?;
    tracing::info!(org_id = %tenant.org_id, job_id = %job.id, "job created");
    Ok(with_location(res, id))
}

fn with_location(mut res: Response, id: Uuid) -> Response {
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/jobs/{id}")) {
        res.headers_mut().insert(header::LOCATION, location);
    }
    res
}

/// List jobs.
///
/// Newest first, a page at a time: pass the page's `next_cursor` as `cursor` for the next one.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", operation_id = "listJobs", params(PageQuery),
    responses((status = 200, description = "A page of jobs", body = JobPage, example = json!(crate::v1::examples::job_page()))),
    security(("api_key" = [])))]
pub async fn list(State(state): State<AppState>, tenant: Tenant, ApiQuery(q): ApiQuery<PageQuery>) -> Result<Json<JobPage>, Problem> {
    let page = q.parse()?;
    let rows = store::jobs::list(&state.pool, tenant.org_id, page.after, i64::from(page.limit) + 1).await?;
    let (rows, next_cursor) = paginate(rows, page.limit, |j| (j.created_at, j.id));
    Ok(Json(JobPage { data: rows.iter().map(JobView::from).collect(), next_cursor }))
}

/// Get a job.
///
/// The job as stored, with its canonical schedule, its plain-language description and its next
/// run. Credential headers are shown masked.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs", operation_id = "getJob", params(("id" = Uuid, Path, description = "Job id")),
    responses((status = 200, description = "The job", body = JobView, example = json!(crate::v1::examples::job()))),
    security(("api_key" = [])))]
pub async fn get(State(state): State<AppState>, tenant: Tenant, ApiPath(id): ApiPath<Uuid>) -> Result<Json<JobView>, Problem> {
    Ok(Json(JobView::from(&find(&state.pool, &tenant, id).await?)))
}

/// Update a job.
///
/// The fields sent replace the stored ones (objects such as `schedule` are replaced whole;
/// `null` resets a field to its default), then the whole job is validated again.
#[utoipa::path(patch, path = "/api/v1/jobs/{id}", tag = "jobs", operation_id = "updateJob", params(("id" = Uuid, Path, description = "Job id")),
    request_body(content = JobPatch, example = json!(crate::v1::examples::job_patch())),
    responses(
        (status = 200, description = "The updated job", body = JobView, example = json!(crate::v1::examples::job_updated())),
        (status = 409, description = "Another job has this key", body = Problem, content_type = "application/problem+json", example = json!(crate::v1::examples::key_conflict_problem())),
    ),
    security(("api_key" = [])))]
pub async fn update(State(state): State<AppState>, tenant: Tenant, ApiPath(id): ApiPath<Uuid>, body: RawJson) -> Result<Json<JobView>, Problem> {
    let patch: serde_json::Map<String, serde_json::Value> = body.parse()?;
    let now = Utc::now();
    let mut tx = state.pool.begin().await?;
    let old = store::jobs::get(&mut *tx, tenant.org_id, id).await?.ok_or_else(|| Problem::not_found("job"))?;
    let draft = merge(&old.spec.to_draft(), patch)?;
    let mut spec = job_rules::validate(&draft, tenant.tier, now, Some(&old.spec), "")?;
    job_rules::seal(&state, tenant.org_id, &mut spec, Some(&old.spec)).await?;
    job_rules::ensure_channels(&mut *tx, tenant.org_id, &draft, &spec).await?;
    let job = job_rules::apply_update(&mut tx, &old, &spec, now).await?;
    tx.commit().await?;
    Ok(Json(JobView::from(&job)))
}

/// The draft with each top-level field of `patch` replacing the draft's (null: the default).
fn merge(current: &JobDraft, patch: serde_json::Map<String, serde_json::Value>) -> Result<JobDraft, Problem> {
    let mut value = serde_json::to_value(current).map_err(|e| Problem::internal(&e))?;
    let fields = value.as_object_mut().ok_or_else(|| Problem::bad_request("the job could not be read"))?;
    for (name, v) in patch {
        if v.is_null() {
            fields.remove(&name);
        } else {
            fields.insert(name, v);
        }
    }
    super::extract::parse_json(&serde_json::to_vec(&value).map_err(|e| Problem::internal(&e))?)
}

/// Delete a job.
///
/// Its runs that have not started are cancelled; its execution history stays.
#[utoipa::path(delete, path = "/api/v1/jobs/{id}", tag = "jobs", operation_id = "deleteJob", params(("id" = Uuid, Path, description = "Job id")),
    responses((status = 204, description = "Deleted")),
    security(("api_key" = [])))]
pub async fn delete(State(state): State<AppState>, tenant: Tenant, ApiPath(id): ApiPath<Uuid>) -> Result<StatusCode, Problem> {
    if store::jobs::delete(&state.pool, tenant.org_id, id, Utc::now()).await? {
        tracing::info!(org_id = %tenant.org_id, job_id = %id, "job deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Problem::not_found("job"))
    }
}

/// Enable a job.
///
/// It resumes from where it stopped, its missed runs going through its missed-run policy
/// (`catch_up`). Enabling an enabled job changes nothing.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/enable", tag = "jobs", operation_id = "enableJob", params(("id" = Uuid, Path, description = "Job id")),
    responses((status = 200, description = "The job", body = JobView, example = json!(crate::v1::examples::job_enabled(true)))),
    security(("api_key" = [])))]
pub async fn enable(state: State<AppState>, tenant: Tenant, id: ApiPath<Uuid>) -> Result<Json<JobView>, Problem> {
    toggle(state, tenant, id, true).await
}

/// Disable a job.
///
/// No new runs are created; its scheduled runs that have not started are cancelled. Disabling
/// a disabled job changes nothing.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/disable", tag = "jobs", operation_id = "disableJob", params(("id" = Uuid, Path, description = "Job id")),
    responses((status = 200, description = "The job", body = JobView, example = json!(crate::v1::examples::job_enabled(false)))),
    security(("api_key" = [])))]
pub async fn disable(state: State<AppState>, tenant: Tenant, id: ApiPath<Uuid>) -> Result<Json<JobView>, Problem> {
    toggle(state, tenant, id, false).await
}

async fn toggle(State(state): State<AppState>, tenant: Tenant, ApiPath(id): ApiPath<Uuid>, enabled: bool) -> Result<Json<JobView>, Problem> {
    let now = Utc::now();
    let mut tx = state.pool.begin().await?;
    let job = find(&mut *tx, &tenant, id).await?;
    if job.spec.enabled != enabled {
        job_rules::set_enabled(&mut tx, &job, enabled, now).await?;
    }
    let job = find(&mut *tx, &tenant, id).await?;
    tx.commit().await?;
    Ok(Json(JobView::from(&job)))
}
