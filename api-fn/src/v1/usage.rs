//! `GET /api/v1/usage`: this month's executions against the plan's quota, the job count against
//! its limit, and the plan's other limits.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Tenant;
use super::runs::next_month;
use crate::AppState;
use crate::problem::Problem;

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    Free,
    Pro,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Period {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExecutionUsage {
    /// Runs charged this month.
    pub used: i64,
    pub limit: u32,
    pub remaining: i64,
    /// Runs recorded as skipped this month because the quota was used up.
    pub over_quota: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobUsage {
    pub count: i64,
    /// Null when unlimited.
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanLimits {
    pub min_interval_minutes: u32,
    pub history_days: u32,
    pub max_timeout_secs: u32,
    /// Null when unlimited.
    pub max_members: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Usage {
    pub plan: Plan,
    /// The calendar month (UTC) the counters cover.
    pub period: Period,
    pub executions: ExecutionUsage,
    pub jobs: JobUsage,
    pub limits: PlanLimits,
    /// Where to upgrade to Pro (the checkout, naming this organization); null on Pro, or when
    /// no checkout is configured.
    pub upgrade_url: Option<String>,
}

/// Get usage.
///
/// This month's executions against the plan's quota, the job count against its limit, and the
/// plan's other limits.
#[utoipa::path(get, path = "/api/v1/usage", tag = "account", operation_id = "getUsage", responses((status = 200, description = "Usage", body = Usage, example = json!(crate::v1::examples::usage()))), security(("api_key" = [])))]
pub async fn usage(State(state): State<AppState>, tenant: Tenant) -> Result<Json<Usage>, Problem> {
    let now = Utc::now();
    let month = store::usage::month(&state.pool, tenant.org_id, now).await?;
    let jobs = store::jobs::count(&state.pool, tenant.org_id).await?;
    let limits = tenant.tier.limits();
    let start = store::usage::month_of(now).and_hms_opt(0, 0, 0).map(|d| d.and_utc()).unwrap_or(now);
    Ok(Json(Usage {
        plan: match tenant.tier {
            domain::tier::Tier::Free => Plan::Free,
            domain::tier::Tier::Pro => Plan::Pro,
        },
        period: Period { start, end: next_month(now) },
        executions: ExecutionUsage {
            used: month.executions,
            limit: limits.monthly_executions,
            remaining: (i64::from(limits.monthly_executions) - month.executions).max(0),
            over_quota: month.over_quota,
        },
        jobs: JobUsage { count: jobs, limit: limits.max_jobs },
        limits: PlanLimits {
            min_interval_minutes: limits.min_interval_minutes,
            history_days: limits.history_days,
            max_timeout_secs: limits.max_timeout_secs,
            max_members: limits.max_members,
        },
        upgrade_url: match (tenant.tier, &state.config.checkout_url) {
            (domain::tier::Tier::Free, Some(checkout)) => Some(checkout_link(checkout, tenant.org_id)),
            _ => None,
        },
    }))
}

/// The checkout URL with the organization's id as the custom field the subscription's events
/// carry back (`meta.custom_data.org_id`).
pub fn checkout_link(checkout: &str, org_id: uuid::Uuid) -> String {
    let separator = if checkout.contains('?') { '&' } else { '?' };
    format!("{checkout}{separator}checkout%5Bcustom%5D%5Borg_id%5D={org_id}")
}
