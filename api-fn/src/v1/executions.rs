//! Runs on demand and history: trigger a job now, list a job's executions or the whole
//! organization's (filtered), read one, redeliver one, and redeliver a job's failed executions
//! of a time range in bulk. Redeliveries reuse the
//! original's message id (the same Standard Webhooks message, delivered again).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use domain::execution::ExecutionStatus;
use store::executions::Source;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::Tenant;
use super::execution_schema::{AttemptView, ExecutionDetail, ExecutionView};
use super::extract::{ApiJson, ApiPath, ApiQuery, IdempotencyKey};
use super::idempotent;
use super::instants::check_instant;
use super::job_rules::find as find_job;
use super::pagination::{PageQuery, paginate};
use super::runs::{redeliver_failed_range, redeliver_one, trigger_job};
use crate::AppState;
use crate::problem::Problem;

pub use super::runs::MAX_BULK_REDELIVERY;

/// Run a job now.
///
/// Enqueues an immediate execution with the job's request and retry policy, whether the job is
/// enabled or not; it counts against the monthly quota like any run.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/trigger", tag = "executions", operation_id = "triggerJob",
    params(("id" = Uuid, Path, description = "Job id"), ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses(
        (status = 202, description = "Enqueued", body = ExecutionView, example = json!(crate::v1::examples::execution_pending())),
        (status = 403, description = "The monthly quota is used up", body = Problem, content_type = "application/problem+json", example = json!(crate::v1::examples::quota_problem())),
        (status = 429, description = "The plan's cap on runs (or request-body bytes) waiting to be delivered would be passed", body = Problem, content_type = "application/problem+json", example = json!(crate::v1::examples::pending_problem())),
    ),
    security(("api_key" = [])))]
pub async fn trigger(State(state): State<AppState>, tenant: Tenant, key: IdempotencyKey, ApiPath(id): ApiPath<Uuid>) -> Result<Response, Problem> {
    let now = Utc::now();
    let mut tx = state.pool.begin().await?;
    let path = format!("/api/v1/jobs/{id}/trigger");
    if let Some(replay) = idempotent::begin(&mut tx, &tenant, &key, &idempotent::fingerprint("POST", &path, b"")).await? {
        return Ok(replay);
    }
    let job = find_job(&mut *tx, &tenant, id).await?;
    let execution = trigger_job(&mut tx, tenant.org_id, tenant.tier, &job, now).await?;
    let res = idempotent::finish(&mut tx, &tenant, &key, StatusCode::ACCEPTED, &ExecutionView::from(&execution)).await?;
    tx.commit().await?;
    tracing::info!(org_id = %tenant.org_id, job_id = %job.id, execution_id = %execution.id, "job triggered");
    Ok(res)
}

/// A page of executions, latest scheduled first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExecutionPage {
    /// At most `limit` executions.
    pub data: Vec<ExecutionView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// List a job's executions.
///
/// Latest scheduled first, a page at a time: pass the page's `next_cursor` as `cursor` for the
/// next one.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/executions", tag = "executions", operation_id = "listJobExecutions",
    params(("id" = Uuid, Path, description = "Job id"), PageQuery),
    responses((status = 200, description = "A page of executions", body = ExecutionPage, example = json!(crate::v1::examples::execution_page()))),
    security(("api_key" = [])))]
pub async fn list_for_job(State(state): State<AppState>, tenant: Tenant, ApiPath(id): ApiPath<Uuid>, ApiQuery(q): ApiQuery<PageQuery>) -> Result<Json<ExecutionPage>, Problem> {
    let page = q.parse()?;
    find_job(&state.pool, &tenant, id).await?;
    let rows = store::executions::list_for_job(&state.pool, tenant.org_id, id, page.after, i64::from(page.limit) + 1).await?;
    let (rows, next_cursor) = paginate(rows, page.limit, |e| (e.scheduled_for, e.id));
    Ok(Json(ExecutionPage { data: rows.iter().map(ExecutionView::from).collect(), next_cursor }))
}

/// The filters of the organization-wide history; every one given must match.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// One status or several separated by commas (`failed,timeout`): pending, running, waiting,
    /// success, failed, timeout, cancelled, skipped.
    #[param(example = "failed,timeout")]
    pub status: Option<String>,
    /// Only this job's executions.
    pub job_id: Option<Uuid>,
    /// Only executions from this source: schedule, manual, queue, redelivery.
    pub source: Option<String>,
    /// Scheduled at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Scheduled before this instant.
    pub to: Option<DateTime<Utc>>,
}

impl HistoryQuery {
    /// The store's filter, or a problem naming the field at fault.
    pub fn parse(&self) -> Result<store::history::HistoryFilter, Problem> {
        let mut statuses = Vec::new();
        for name in self.status.iter().flat_map(|s| s.split(',')).map(str::trim).filter(|s| !s.is_empty()) {
            let status = name.parse().map_err(|_| {
                let known: Vec<&str> = ExecutionStatus::ALL.iter().map(|s| s.as_str()).collect();
                Problem::invalid_field("status", "status_unknown", format!("{name:?} is not a status; use one or more of {}", known.join(", ")))
            })?;
            if !statuses.contains(&status) {
                statuses.push(status);
            }
        }
        let source = match self.source.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(name) => Some(name.parse::<Source>().map_err(|_| {
                let known: Vec<&str> = Source::ALL.iter().map(|s| s.as_str()).collect();
                Problem::invalid_field("source", "source_unknown", format!("{name:?} is not a source; use one of {}", known.join(", ")))
            })?),
        };
        if let Some(from) = self.from {
            check_instant("from", from)?;
        }
        if let Some(to) = self.to {
            check_instant("to", to)?;
        }
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from >= to
        {
            return Err(Problem::invalid_field("from", "range_empty", "from must be earlier than to"));
        }
        Ok(store::history::HistoryFilter { statuses, job_id: self.job_id, source, from: self.from, to: self.to })
    }
}

/// List the organization's executions.
///
/// Across its jobs and queue calls, latest scheduled first, filtered by status, job, source and
/// time range (every filter given must match); paged like every list.
#[utoipa::path(get, path = "/api/v1/executions", tag = "executions", operation_id = "listExecutions", params(HistoryQuery, PageQuery),
    responses(
        (status = 200, description = "A page of executions", body = ExecutionPage, example = json!(crate::v1::examples::execution_page())),
        (status = 422, description = "A filter is invalid (an unknown status or source, an instant out of range, from not before to); `errors` names it", body = Problem, content_type = "application/problem+json", example = json!(crate::v1::examples::history_filter_problem())),
    ),
    security(("api_key" = [])))]
pub async fn list(State(state): State<AppState>, tenant: Tenant, ApiQuery(h): ApiQuery<HistoryQuery>, ApiQuery(q): ApiQuery<PageQuery>) -> Result<Json<ExecutionPage>, Problem> {
    let page = q.parse()?;
    let filter = h.parse()?;
    let rows = store::history::list(&state.pool, tenant.org_id, &filter, page.after, i64::from(page.limit) + 1).await?;
    let (rows, next_cursor) = paginate(rows, page.limit, |e| (e.scheduled_for, e.id));
    Ok(Json(ExecutionPage { data: rows.iter().map(ExecutionView::from).collect(), next_cursor }))
}

/// Get an execution.
///
/// The execution with the request as delivered, the endpoint's latest answer, and the attempts
/// that finished before its latest one.
#[utoipa::path(get, path = "/api/v1/executions/{id}", tag = "executions", operation_id = "getExecution", params(("id" = Uuid, Path, description = "Execution id")),
    responses((status = 200, description = "The execution", body = ExecutionDetail, example = json!(crate::v1::examples::execution_detail()))),
    security(("api_key" = [])))]
pub async fn get(State(state): State<AppState>, tenant: Tenant, ApiPath(id): ApiPath<Uuid>) -> Result<Json<ExecutionDetail>, Problem> {
    let execution = store::executions::get(&state.pool, tenant.org_id, id).await?.ok_or_else(|| Problem::not_found("execution"))?;
    let attempts = store::executions::attempts(&state.pool, tenant.org_id, id).await?;
    Ok(Json(ExecutionDetail { execution: ExecutionView::from(&execution), attempts: attempts.iter().map(AttemptView::from).collect() }))
}

/// Redeliver an execution.
///
/// Delivers a finished execution's message again as a new execution: the same `webhook-id`,
/// request and retry policy.
#[utoipa::path(post, path = "/api/v1/executions/{id}/redeliver", tag = "executions", operation_id = "redeliverExecution", params(("id" = Uuid, Path, description = "Execution id")),
    responses(
        (status = 202, description = "The new execution", body = ExecutionView, example = json!(crate::v1::examples::execution_redelivery())),
        (status = 403, description = "The monthly quota is used up", body = Problem, content_type = "application/problem+json", example = json!(crate::v1::examples::quota_problem())),
        (status = 429, description = "The plan's cap on runs (or request-body bytes) waiting to be delivered would be passed", body = Problem, content_type = "application/problem+json", example = json!(crate::v1::examples::pending_problem())),
        (status = 409, description = "The execution has not finished yet", body = Problem, content_type = "application/problem+json", example = json!(crate::v1::examples::not_finished_problem())),
    ),
    security(("api_key" = [])))]
pub async fn redeliver(State(state): State<AppState>, tenant: Tenant, ApiPath(id): ApiPath<Uuid>) -> Result<(StatusCode, Json<ExecutionView>), Problem> {
    let now = Utc::now();
    let mut tx = state.pool.begin().await?;
    let copy = redeliver_one(&mut tx, tenant.org_id, tenant.tier, id, now).await?;
    tx.commit().await?;
    tracing::info!(org_id = %tenant.org_id, execution_id = %copy.id, redelivery_of = %id, "execution redelivered");
    Ok((StatusCode::ACCEPTED, Json(ExecutionView::from(&copy))))
}

/// Which failed executions to redeliver.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeliverFailed {
    /// Executions scheduled at or after this instant.
    pub from: DateTime<Utc>,
    /// … and before this one (default: now).
    pub to: Option<DateTime<Utc>>,
}

/// The redeliveries one call enqueued.
#[derive(Debug, Serialize, ToSchema)]
pub struct RedeliveredBatch {
    /// How many redeliveries were enqueued (at most 1000 per call; call again for more).
    pub count: usize,
    pub executions: Vec<ExecutionView>,
}

/// Redeliver a job's failed executions.
///
/// Redelivers every failed or timed-out execution of a job scheduled in `[from, to)`, oldest
/// first, at most 1000 per call. Executions already redelivered are skipped, so repeating the
/// call never sends a message twice.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/executions/redeliver-failed", tag = "executions", operation_id = "redeliverFailedExecutions",
    params(("id" = Uuid, Path, description = "Job id")), request_body(content = RedeliverFailed, example = json!(crate::v1::examples::redeliver_failed_request())),
    responses(
        (status = 202, description = "The redeliveries enqueued", body = RedeliveredBatch, example = json!(crate::v1::examples::redelivered_batch())),
        (status = 403, description = "The monthly quota is used up", body = Problem, content_type = "application/problem+json", example = json!(crate::v1::examples::quota_problem())),
        (status = 429, description = "The plan's cap on runs (or request-body bytes) waiting to be delivered would be passed", body = Problem, content_type = "application/problem+json", example = json!(crate::v1::examples::pending_problem())),
    ),
    security(("api_key" = [])))]
pub async fn redeliver_failed(
    State(state): State<AppState>,
    tenant: Tenant,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(range): ApiJson<RedeliverFailed>,
) -> Result<(StatusCode, Json<RedeliveredBatch>), Problem> {
    let now = Utc::now();
    let mut tx = state.pool.begin().await?;
    let batch = redeliver_failed_range(&mut tx, tenant.org_id, tenant.tier, id, range.from, range.to, now).await?;
    tx.commit().await?;
    tracing::info!(org_id = %tenant.org_id, job_id = %id, count = batch.len(), "failed executions redelivered");
    Ok((StatusCode::ACCEPTED, Json(RedeliveredBatch { count: batch.len(), executions: batch.iter().map(ExecutionView::from).collect() })))
}
