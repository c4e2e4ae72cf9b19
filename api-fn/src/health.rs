//! `GET /health`: 200 when Postgres answers, 503 when it does not, with the report every Prikke
//! service gives (`domain::runtime::HealthReport`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use domain::runtime::HealthReport;

use crate::AppState;

/// Health of this service and its dependencies.
#[utoipa::path(get, path = "/health", tag = "operations", responses(
    (status = 200, description = "Healthy", body = HealthReport),
    (status = 503, description = "A critical dependency is down", body = HealthReport),
))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<HealthReport>) {
    let postgres = store::pool::ping(&state.pool).await;
    let report = HealthReport::new(&state.config.sha, state.config.env, &[("postgres", postgres)]);
    (StatusCode::from_u16(report.status_code()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE), Json(report))
}
