//! `POST /api/v1/schedule/preview`: the next runs of any schedule, its plain-language
//! description, its shortest interval, and whether the caller's plan allows it.

use axum::Json;
use chrono::{DateTime, Utc};
use domain::job::ErrorCode;
use domain::schedule::{Schedule, ScheduleError, ScheduleSpec};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Tenant;
use super::extract::ApiJson;
use super::instants::check_instant;
use crate::problem::Problem;

pub const MAX_PREVIEW_RUNS: u32 = 100;

/// A schedule to preview.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    #[schema(value_type = super::job_schema::ScheduleInput)]
    pub schedule: ScheduleSpec,
    /// How many runs to list, 1 to 100 (default 5).
    #[schema(minimum = 1, maximum = 100)]
    pub count: Option<u32>,
    /// List runs after this instant (default now).
    pub from: Option<DateTime<Utc>>,
}

/// A schedule's next runs and what the plan says of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewResponse {
    /// e.g. "every day at 09:00 (Europe/Oslo)".
    pub description: String,
    /// The IANA zone the schedule is read in (null for one-time schedules).
    pub timezone: Option<String>,
    /// The canonical cron expression (null for one-time schedules).
    pub expr: Option<String>,
    /// Shortest gap between runs in minutes (null for one-time schedules).
    pub interval_minutes: Option<u32>,
    /// The next runs, earliest first (fewer when the schedule ends).
    pub runs: Vec<DateTime<Utc>>,
    /// Whether the caller's plan allows a job on this schedule (minimum interval).
    pub allowed_on_plan: bool,
}

/// Preview a schedule.
///
/// The next runs of any schedule a job may have, its plain-language description, its shortest
/// interval, and whether the caller's plan allows it. Nothing is stored.
#[utoipa::path(post, path = "/api/v1/schedule/preview", tag = "jobs", operation_id = "previewSchedule", request_body(content = PreviewRequest, example = json!(crate::v1::examples::preview_request())),
    responses((status = 200, description = "The next runs", body = PreviewResponse, example = json!(crate::v1::examples::preview_response()))),
    security(("api_key" = [])))]
pub async fn preview(tenant: Tenant, ApiJson(req): ApiJson<PreviewRequest>) -> Result<Json<PreviewResponse>, Problem> {
    let count = match req.count {
        None => 5,
        Some(n @ 1..=MAX_PREVIEW_RUNS) => n,
        Some(_) => return Err(Problem::invalid_field("count", "count_range", format!("count must be between 1 and {MAX_PREVIEW_RUNS}"))),
    };
    if let Some(from) = req.from {
        check_instant("from", from)?;
    }
    preview_of(&req.schedule, tenant.tier, req.from.unwrap_or_else(Utc::now), count).map(Json)
}

/// The preview of `spec` for a plan on `tier`: its next `count` runs after `from`, its
/// description and shortest interval (the API's preview and the dashboard's job form).
pub fn preview_of(spec: &ScheduleSpec, tier: domain::tier::Tier, from: DateTime<Utc>, count: u32) -> Result<PreviewResponse, Problem> {
    if let ScheduleSpec::Once { at } = spec {
        check_instant("schedule.at", *at)?;
    }
    let schedule = spec.parse().map_err(|e| {
        let field = match e {
            ScheduleError::EmptyTimezone | ScheduleError::UnknownTimezone { .. } => "schedule.timezone",
            ScheduleError::PresetOutOfRange { .. } => "schedule.preset",
            _ => "schedule.expr",
        };
        Problem::invalid_field(field, e.code(), e.to_string())
    })?;
    let interval_minutes = schedule.interval_minutes();
    let (timezone, expr) = match &schedule {
        Schedule::Cron(c) => (Some(c.timezone().name().to_owned()), Some(c.expr().to_owned())),
        Schedule::Once(_) => (None, None),
    };
    Ok(PreviewResponse {
        description: schedule.describe(),
        timezone,
        expr,
        interval_minutes,
        runs: schedule.next_runs(from, count as usize),
        allowed_on_plan: interval_minutes.is_none_or(|m| m >= tier.limits().min_interval_minutes),
    })
}
