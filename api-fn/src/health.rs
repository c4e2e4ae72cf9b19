//! `GET /health`: 200 when Postgres answers, 503 when it does not, with the report every Prikke
//! service gives (`domain::runtime::HealthReport`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use domain::runtime::HealthReport;

use crate::AppState;

/// Get health.
///
/// Whether this service and its critical dependencies (Postgres) answer, with the deployed
/// commit. No API key needed.
#[utoipa::path(get, path = "/health", tag = "operations", operation_id = "getHealth", responses(
    (status = 200, description = "Healthy", body = HealthReport, example = json!(crate::v1::examples::health(true))),
    (status = 503, description = "A critical dependency is down", body = HealthReport, example = json!(crate::v1::examples::health(false))),
))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<HealthReport>) {
    let postgres = store::pool::ping(&state.pool).await;
    let report = HealthReport::new(&state.config.sha, state.config.env, &[("postgres", postgres)]);
    (StatusCode::from_u16(report.status_code()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE), Json(report))
}
