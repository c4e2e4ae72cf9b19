//! `GET /status.json`: the public status page's data (API up, scheduler heartbeat and lag,
//! recent incidents). Public, cacheable for a few seconds, tenant-free.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Serialize;
use store::status::{Incident, SchedulerStatus};

use crate::AppState;
use crate::problem::Problem;

#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub api: ApiStatus,
    pub scheduler: SchedulerStatus,
    pub incidents: Vec<Incident>,
}

#[derive(Debug, Serialize)]
pub struct ApiStatus {
    pub up: bool,
}

pub async fn status(State(state): State<AppState>) -> Result<Response, Problem> {
    let now = Utc::now();
    let scheduler = store::status::scheduler(&state.pool, now)
        .await
        .map_err(|e| Problem::unavailable(format!("status unavailable: {}", e)))?;
    let incidents = store::status::recent_incidents(&state.pool, now).await?;
    let mut res = Json(StatusReport { api: ApiStatus { up: true }, scheduler, incidents }).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=10"));
    Ok(res)
}
