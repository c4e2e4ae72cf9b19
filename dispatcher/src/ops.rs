//! The dispatcher's own HTTP surface: `GET /health` (the report every Prikke service gives,
//! `domain::runtime::HealthReport`, 503 when Postgres is unreachable, plus this instance's role)
//! and `GET /metrics` (Prometheus text).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use chrono::{DateTime, Utc};
use domain::runtime::{Environment, HealthReport};
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Serialize;
use sqlx::PgPool;

use crate::status::Status;

#[derive(Clone)]
pub struct OpsState {
    pub pool: PgPool,
    pub status: Arc<Status>,
    pub sha: String,
    pub env: Environment,
    pub instance_id: String,
    pub metrics: Option<PrometheusHandle>,
}

pub fn router(state: OpsState) -> Router {
    Router::new().route("/health", get(health)).route("/metrics", get(metrics)).with_state(state)
}

/// The shared report, and which instance answered and whether it leads.
#[derive(Serialize)]
struct DispatcherHealth {
    #[serde(flatten)]
    report: HealthReport,
    instance: String,
    leader: bool,
    last_tick_at: Option<DateTime<Utc>>,
}

async fn health(State(s): State<OpsState>) -> (StatusCode, Json<DispatcherHealth>) {
    let postgres = store::pool::ping(&s.pool).await;
    s.status.set_db_ok(postgres);
    let report = HealthReport::new(&s.sha, s.env, &[("postgres", postgres)]);
    let code = StatusCode::from_u16(report.status_code()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let body = DispatcherHealth { report, instance: s.instance_id.clone(), leader: s.status.is_leader(), last_tick_at: s.status.last_tick() };
    (code, Json(body))
}

async fn metrics(State(s): State<OpsState>) -> (StatusCode, String) {
    match &s.metrics {
        Some(handle) => (StatusCode::OK, handle.render()),
        None => (StatusCode::NOT_FOUND, "metrics are not enabled in this process\n".to_owned()),
    }
}
