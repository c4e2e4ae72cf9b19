//! `/api/v1/monitors`: heartbeat monitors (create, list, read, update, delete). A monitor
//! expects pings at `/ping/<token>` on a cron schedule or an interval, plus a grace period.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};
use domain::job::ErrorCode;
use domain::monitor::{MonitorStatus, PingKind, Rhythm, alert_at_for};
use domain::schedule::{Schedule, ScheduleError};
use serde::{Deserialize, Serialize};
use store::monitors::{Monitor, MonitorFields, MonitorSchedule};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::Tenant;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{PageQuery, paginate};
use crate::AppState;
use crate::problem::{FieldProblem, Problem};

pub const MIN_INTERVAL_SECS: u32 = 60;
pub const MAX_INTERVAL_SECS: u32 = 31 * 24 * 3600;
pub const MAX_GRACE_SECS: u32 = 7 * 24 * 3600;
/// The longest run a start ping may announce.
pub const MAX_RUNTIME_SECS: u32 = 7 * 24 * 3600;
pub const DEFAULT_GRACE_SECS: u32 = 300;

/// When pings are expected: on a cron schedule, or every `interval_secs` after the last one.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum MonitorScheduleInput {
    #[schema(title = "MonitorCronScheduleInput")]
    Cron {
        #[schema(example = "0 3 * * *")]
        expr: String,
        #[schema(example = "Europe/Oslo")]
        timezone: Option<String>,
    },
    #[schema(title = "MonitorIntervalScheduleInput")]
    Interval {
        /// 60 s to 31 days.
        #[schema(minimum = 60, maximum = 2678400)]
        interval_secs: u32,
    },
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitorInput {
    #[schema(example = "Nightly backup", max_length = 200)]
    pub name: String,
    pub schedule: MonitorScheduleInput,
    /// How late a ping may be before the monitor goes down (0 to 604800, default 300).
    #[schema(minimum = 0, maximum = 604800)]
    pub grace_secs: Option<u32>,
    /// After a `/start` ping, a `/fail` or success ping must follow within this many seconds, or
    /// the monitor goes down as hung (1 to 604800; default: no limit).
    #[schema(minimum = 1, maximum = 604800)]
    pub max_runtime_secs: Option<u32>,
    /// A paused monitor records pings but never goes down.
    pub paused: Option<bool>,
}

/// Changes to a monitor; fields left out (or null) stay as they are.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitorPatch {
    #[schema(max_length = 200)]
    pub name: Option<String>,
    pub schedule: Option<MonitorScheduleInput>,
    #[schema(minimum = 0, maximum = 604800)]
    pub grace_secs: Option<u32>,
    /// 0 removes the limit.
    #[schema(minimum = 0, maximum = 604800)]
    pub max_runtime_secs: Option<u32>,
    pub paused: Option<bool>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MonitorScheduleView {
    #[schema(title = "MonitorCronSchedule")]
    Cron { expr: String, timezone: String },
    #[schema(title = "MonitorIntervalSchedule")]
    Interval { interval_secs: i32 },
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonitorView {
    pub id: Uuid,
    pub name: String,
    pub schedule: MonitorScheduleView,
    pub grace_secs: i32,
    pub max_runtime_secs: Option<i32>,
    pub status: MonitorStatus,
    /// Ping this URL (GET or POST); append `/start` or `/fail` for those signals.
    #[schema(example = "https://prikke.eu/ping/4f9c2a7e5b1d4c3a8e6f0b2d9c7a5e3f")]
    pub ping_url: String,
    pub last_ping_at: Option<DateTime<Utc>>,
    pub last_start_at: Option<DateTime<Utc>>,
    /// When the monitor goes down unless a ping arrives first (for a new monitor: its first ping).
    pub alert_at: Option<DateTime<Utc>>,
    /// When a run that pinged `/start` is hung unless a success or fail ping arrives first.
    pub start_deadline: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PingView {
    pub kind: PingKind,
    pub received_at: DateTime<Utc>,
    pub method: String,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// The request body, truncated to 10 KB.
    pub body: Option<String>,
}

/// A monitor with its latest pings (newest first, at most 10).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonitorDetail {
    #[serde(flatten)]
    pub monitor: MonitorView,
    pub recent_pings: Vec<PingView>,
}

/// A page of monitors, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct MonitorPage {
    /// At most `limit` monitors.
    pub data: Vec<MonitorView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl MonitorView {
    pub(crate) fn of(m: &Monitor, public_url: &str) -> Self {
        MonitorView {
            id: m.id,
            name: m.name.clone(),
            schedule: match &m.schedule {
                MonitorSchedule::Cron { expr, timezone } => MonitorScheduleView::Cron { expr: expr.clone(), timezone: timezone.clone() },
                MonitorSchedule::Interval { secs } => MonitorScheduleView::Interval { interval_secs: *secs },
            },
            grace_secs: m.grace_secs,
            max_runtime_secs: m.max_runtime_secs,
            status: m.status,
            ping_url: format!("{public_url}/ping/{}", m.token),
            last_ping_at: m.last_ping_at,
            last_start_at: m.last_start_at,
            alert_at: m.alert_at,
            start_deadline: m.start_deadline,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// Validated monitor fields, every error reported.
struct Valid {
    name: String,
    schedule: MonitorSchedule,
    rhythm: Rhythm,
    grace_secs: i32,
    max_runtime_secs: Option<i32>,
}

fn validate(name: &str, schedule: &MonitorScheduleInput, grace_secs: u32, max_runtime_secs: Option<u32>) -> Result<Valid, Problem> {
    let mut errors = Vec::new();
    let mut push = |field: &str, code: &str, message: String| errors.push(FieldProblem { field: field.into(), code: code.into(), message });
    let name = match domain::job::JobName::parse(name) {
        Ok(n) => Some(n.as_str().to_owned()),
        Err(e) => {
            push("name", e.code(), e.to_string());
            None
        }
    };
    let parsed = match schedule {
        MonitorScheduleInput::Cron { expr, timezone } => match Schedule::cron(expr, timezone.as_deref().unwrap_or("UTC")) {
            Ok(s) => match &s {
                Schedule::Cron(c) => {
                    let stored = MonitorSchedule::Cron { expr: c.expr().to_owned(), timezone: c.timezone().name().to_owned() };
                    Some((stored, Rhythm::Cron(s)))
                }
                Schedule::Once(_) => None,
            },
            Err(e) => {
                let field = match e {
                    ScheduleError::EmptyTimezone | ScheduleError::UnknownTimezone { .. } => "schedule.timezone",
                    _ => "schedule.expr",
                };
                push(field, e.code(), e.to_string());
                None
            }
        },
        MonitorScheduleInput::Interval { interval_secs } => {
            if (MIN_INTERVAL_SECS..=MAX_INTERVAL_SECS).contains(interval_secs) {
                let secs = *interval_secs as i32;
                Some((MonitorSchedule::Interval { secs }, Rhythm::Every(TimeDelta::seconds(i64::from(secs)))))
            } else {
                push("schedule.interval_secs", "interval_range", format!("the interval must be between {MIN_INTERVAL_SECS} s and {MAX_INTERVAL_SECS} s (31 days)"));
                None
            }
        }
    };
    if grace_secs > MAX_GRACE_SECS {
        push("grace_secs", "grace_range", format!("the grace period is at most {MAX_GRACE_SECS} s (7 days)"));
    }
    if max_runtime_secs.is_some_and(|m| !(1..=MAX_RUNTIME_SECS).contains(&m)) {
        push("max_runtime_secs", "max_runtime_range", format!("the longest run is 1 s to {MAX_RUNTIME_SECS} s (7 days)"));
    }
    match (name, parsed) {
        (Some(name), Some((schedule, rhythm))) if errors.is_empty() => {
            Ok(Valid { name, schedule, rhythm, grace_secs: grace_secs as i32, max_runtime_secs: max_runtime_secs.map(|m| m as i32) })
        }
        _ => Err(Problem::validation(format!("{} fields are invalid; see errors", errors.len()), errors)),
    }
}

fn new_token() -> String {
    rand::random::<[u8; 16]>().iter().map(|b| format!("{b:02x}")).collect()
}

/// Create a monitor.
///
/// A heartbeat monitor expects pings at its `ping_url` on a cron schedule or an interval, plus a
/// grace period; a new monitor waits for its first ping.
#[utoipa::path(post, path = "/api/v1/monitors", tag = "monitors", operation_id = "createMonitor", request_body(content = MonitorInput, example = json!(crate::v1::examples::monitor_input())),
    responses((status = 201, description = "Created", body = MonitorView, headers(("Location" = String, description = "URL of the new monitor")), example = json!(crate::v1::examples::monitor_new()))),
    security(("api_key" = [])))]
pub async fn create(State(state): State<AppState>, tenant: Tenant, ApiJson(input): ApiJson<MonitorInput>) -> Result<Response, Problem> {
    let monitor = create_monitor(&state.pool, tenant.org_id, &input, Utc::now()).await?;
    let mut res = (StatusCode::CREATED, Json(MonitorView::of(&monitor, &state.config.public_url))).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/monitors/{}", monitor.id)) {
        res.headers_mut().insert(header::LOCATION, location);
    }
    Ok(res)
}

/// Validates and stores a new monitor of `org_id` (the API's create and the dashboard's form).
pub async fn create_monitor(db: impl sqlx::PgExecutor<'_>, org_id: Uuid, input: &MonitorInput, now: DateTime<Utc>) -> Result<Monitor, Problem> {
    let v = validate(&input.name, &input.schedule, input.grace_secs.unwrap_or(DEFAULT_GRACE_SECS), input.max_runtime_secs)?;
    let status = MonitorStatus::New.paused(input.paused);
    // a new monitor goes down if its first ping is late, like any other
    let alert_at = alert_at_for(status, None, &v.rhythm, TimeDelta::seconds(i64::from(v.grace_secs)), now);
    let fields =
        MonitorFields { name: &v.name, schedule: &v.schedule, grace_secs: v.grace_secs, max_runtime_secs: v.max_runtime_secs, status, alert_at };
    Ok(store::monitors::insert(db, org_id, Uuid::now_v7(), &new_token(), &fields).await?)
}

/// List monitors.
///
/// Newest first, a page at a time: pass the page's `next_cursor` as `cursor` for the next one.
#[utoipa::path(get, path = "/api/v1/monitors", tag = "monitors", operation_id = "listMonitors", params(PageQuery),
    responses((status = 200, description = "A page of monitors", body = MonitorPage, example = json!(crate::v1::examples::monitor_page()))),
    security(("api_key" = [])))]
pub async fn list(State(state): State<AppState>, tenant: Tenant, ApiQuery(q): ApiQuery<PageQuery>) -> Result<Json<MonitorPage>, Problem> {
    let page = q.parse()?;
    let rows = store::monitors::list(&state.pool, tenant.org_id, page.after, i64::from(page.limit) + 1).await?;
    let (rows, next_cursor) = paginate(rows, page.limit, |m| (m.created_at, m.id));
    Ok(Json(MonitorPage { data: rows.iter().map(|m| MonitorView::of(m, &state.config.public_url)).collect(), next_cursor }))
}

/// Get a monitor.
///
/// The monitor with its latest pings, newest first (at most 10).
#[utoipa::path(get, path = "/api/v1/monitors/{id}", tag = "monitors", operation_id = "getMonitor", params(("id" = Uuid, Path, description = "Monitor id")),
    responses((status = 200, description = "The monitor", body = MonitorDetail, example = json!(crate::v1::examples::monitor_detail()))),
    security(("api_key" = [])))]
pub async fn get(State(state): State<AppState>, tenant: Tenant, ApiPath(id): ApiPath<Uuid>) -> Result<Json<MonitorDetail>, Problem> {
    let m = store::monitors::get(&state.pool, tenant.org_id, id).await?.ok_or_else(|| Problem::not_found("monitor"))?;
    let pings = store::monitors::recent_pings(&state.pool, tenant.org_id, id, 10).await?;
    let recent_pings = pings
        .into_iter()
        .map(|p| PingView { kind: p.kind, received_at: p.received_at, method: p.method, source_ip: p.source_ip, user_agent: p.user_agent, body: p.body })
        .collect();
    Ok(Json(MonitorDetail { monitor: MonitorView::of(&m, &state.config.public_url), recent_pings }))
}

/// Update a monitor.
///
/// Fields left out (or null) stay as they are. Pausing stops alerts; resuming waits for the next
/// ping.
#[utoipa::path(patch, path = "/api/v1/monitors/{id}", tag = "monitors", operation_id = "updateMonitor", params(("id" = Uuid, Path, description = "Monitor id")), request_body(content = MonitorPatch, example = json!(crate::v1::examples::monitor_patch())),
    responses((status = 200, description = "The updated monitor", body = MonitorView, example = json!(crate::v1::examples::monitor_updated()))),
    security(("api_key" = [])))]
pub async fn update(State(state): State<AppState>, tenant: Tenant, ApiPath(id): ApiPath<Uuid>, ApiJson(patch): ApiJson<MonitorPatch>) -> Result<Json<MonitorView>, Problem> {
    let mut tx = state.pool.begin().await?;
    let updated = update_monitor(&mut tx, tenant.org_id, id, &patch, Utc::now()).await?;
    tx.commit().await?;
    Ok(Json(MonitorView::of(&updated, &state.config.public_url)))
}

/// Applies `patch` to monitor `id` of `org_id` (validated whole again; its next deadline moved
/// for the new rhythm): the API's update and the dashboard's edit form.
pub async fn update_monitor(tx: &mut sqlx::PgConnection, org_id: Uuid, id: Uuid, patch: &MonitorPatch, now: DateTime<Utc>) -> Result<Monitor, Problem> {
    let m = store::monitors::get(&mut *tx, org_id, id).await?.ok_or_else(|| Problem::not_found("monitor"))?;
    let current_schedule = match &m.schedule {
        MonitorSchedule::Cron { expr, timezone } => MonitorScheduleInput::Cron { expr: expr.clone(), timezone: Some(timezone.clone()) },
        MonitorSchedule::Interval { secs } => MonitorScheduleInput::Interval { interval_secs: *secs as u32 },
    };
    let v = validate(
        patch.name.as_deref().unwrap_or(&m.name),
        patch.schedule.as_ref().unwrap_or(&current_schedule),
        patch.grace_secs.unwrap_or(m.grace_secs as u32),
        match patch.max_runtime_secs {
            Some(0) => None,
            Some(secs) => Some(secs),
            None => m.max_runtime_secs.map(|s| s as u32),
        },
    )?;
    let status = m.status.paused(patch.paused);
    let alert_at = alert_at_for(status, m.last_ping_at, &v.rhythm, TimeDelta::seconds(i64::from(v.grace_secs)), now);
    let fields =
        MonitorFields { name: &v.name, schedule: &v.schedule, grace_secs: v.grace_secs, max_runtime_secs: v.max_runtime_secs, status, alert_at };
    store::monitors::update(&mut *tx, org_id, id, &fields).await?.ok_or_else(|| Problem::not_found("monitor"))
}

/// Delete a monitor.
///
/// The monitor and its recorded pings go; its ping URL answers 404 from then on.
#[utoipa::path(delete, path = "/api/v1/monitors/{id}", tag = "monitors", operation_id = "deleteMonitor", params(("id" = Uuid, Path, description = "Monitor id")),
    responses((status = 204, description = "Deleted")),
    security(("api_key" = [])))]
pub async fn delete(State(state): State<AppState>, tenant: Tenant, ApiPath(id): ApiPath<Uuid>) -> Result<StatusCode, Problem> {
    if store::monitors::delete(&state.pool, tenant.org_id, id).await? { Ok(StatusCode::NO_CONTENT) } else { Err(Problem::not_found("monitor")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_reports_every_field() {
        let p = validate("", &MonitorScheduleInput::Cron { expr: "61 * * * *".into(), timezone: Some("Mars/Olympus".into()) }, MAX_GRACE_SECS + 1, Some(0))
            .err()
            .unwrap();
        let fields: Vec<&str> = p.errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"name") && fields.contains(&"grace_secs") && fields.contains(&"max_runtime_secs"), "{fields:?}");
        assert!(fields.iter().any(|f| f.starts_with("schedule.")), "{fields:?}");
        let p = validate("x", &MonitorScheduleInput::Interval { interval_secs: 59 }, 0, None).err().unwrap();
        assert_eq!(p.errors[0].code, "interval_range");
        let ok = validate(" Backup ", &MonitorScheduleInput::Cron { expr: "@daily".into(), timezone: None }, 0, Some(3600)).ok().unwrap();
        assert_eq!(ok.max_runtime_secs, Some(3600));
        assert_eq!(ok.name, "Backup");
        assert!(matches!(ok.schedule, MonitorSchedule::Cron { ref timezone, .. } if timezone == "UTC"));
    }

    #[test]
    fn tokens_are_32_hex_digits_and_differ() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
