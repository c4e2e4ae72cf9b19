//! The dispatcher's own HTTP surface: `GET /health` (the shape every Prikke service shares, 503
//! when Postgres is unreachable) and `GET /metrics` (Prometheus text).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::status::Status;

#[derive(Clone)]
pub struct OpsState {
    pub pool: PgPool,
    pub status: Arc<Status>,
    pub sha: String,
    pub env: String,
    pub instance_id: String,
    pub metrics: Option<PrometheusHandle>,
}

pub fn router(state: OpsState) -> Router {
    Router::new().route("/health", get(health)).route("/metrics", get(metrics)).with_state(state)
}

async fn health(State(s): State<OpsState>) -> (StatusCode, Json<Value>) {
    let postgres = store::pool::ping(&s.pool).await;
    s.status.set_db_ok(postgres);
    let code = if postgres { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({
        "sha": s.sha,
        "env": s.env,
        "up": postgres,
        "deps": { "postgres": postgres },
        "instance": s.instance_id,
        "leader": s.status.is_leader(),
        "last_tick_at": s.status.last_tick(),
    });
    (code, Json(body))
}

async fn metrics(State(s): State<OpsState>) -> (StatusCode, String) {
    match &s.metrics {
        Some(handle) => (StatusCode::OK, handle.render()),
        None => (StatusCode::NOT_FOUND, "metrics are not enabled in this process\n".to_owned()),
    }
}
