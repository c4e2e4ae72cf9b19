//! `GET /health`: 200 when Postgres answers, 503 when it does not, in the shape every Prikke
//! service shares: `{"sha","env","up","deps":{"postgres":bool}}`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// The deployed commit.
    pub sha: String,
    /// development, test or production.
    pub env: &'static str,
    pub up: bool,
    pub deps: Deps,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Deps {
    pub postgres: bool,
}

/// Health of this service and its dependencies.
#[utoipa::path(get, path = "/health", tag = "operations", responses(
    (status = 200, description = "Healthy", body = Health),
    (status = 503, description = "A critical dependency is down", body = Health),
))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let postgres = store::pool::ping(&state.pool).await;
    let status = if postgres { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = Health { sha: state.config.sha.clone(), env: state.config.env.as_str(), up: postgres, deps: Deps { postgres } };
    (status, Json(body))
}
