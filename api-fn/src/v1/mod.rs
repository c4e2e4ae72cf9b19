//! REST API v1 under `/api/v1`: one module per resource (its handlers: `jobs`, `executions`,
//! `queue`, `sync`, `monitors`, `channels`, `preview`, `usage`, `secrets`, `api_keys`, `audit`, `export`), the shared request machinery
//! (`auth`, `extract`, `pagination`, `idempotent`, `instants`), the wire schemas
//! (`job_schema`, `execution_schema`), the services several handlers use (`job_rules`: every
//! job write's rules and the tenant's job lookup; `runs`: quota and enqueue) and the OpenAPI
//! document. A handler module never imports another handler module.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod channels;
pub mod examples;
pub mod execution_schema;
pub mod executions;
pub mod export;
pub mod extract;
pub mod idempotent;
pub mod instants;
pub mod job_rules;
pub mod job_schema;
pub mod jobs;
pub mod monitors;
pub mod openapi;
pub mod pagination;
pub mod preview;
pub mod queue;
pub mod runs;
pub mod secrets;
pub mod sync;
pub mod usage;

use axum::Router;
use axum::routing::{get, post, put};

use crate::AppState;

/// Adds the v1 routes to `router`.
pub fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/api/v1/jobs", get(jobs::list).post(jobs::create))
        .route("/api/v1/jobs/{id}", get(jobs::get).patch(jobs::update).delete(jobs::delete))
        .route("/api/v1/jobs/{id}/enable", post(jobs::enable))
        .route("/api/v1/jobs/{id}/disable", post(jobs::disable))
        .route("/api/v1/jobs/{id}/trigger", post(executions::trigger))
        .route("/api/v1/jobs/{id}/executions", get(executions::list_for_job))
        .route("/api/v1/jobs/{id}/executions/redeliver-failed", post(executions::redeliver_failed))
        .route("/api/v1/executions", get(executions::list))
        .route("/api/v1/executions/{id}", get(executions::get))
        .route("/api/v1/executions/{id}/redeliver", post(executions::redeliver))
        .route("/api/v1/sync", put(sync::sync))
        .route("/api/v1/queue", post(queue::enqueue))
        .route("/api/v1/schedule/preview", post(preview::preview))
        .route("/api/v1/monitors", get(monitors::list).post(monitors::create))
        .route("/api/v1/monitors/{id}", get(monitors::get).patch(monitors::update).delete(monitors::delete))
        .route("/api/v1/notification-channels", get(channels::list).post(channels::create))
        .route("/api/v1/notification-channels/{id}", get(channels::get).patch(channels::update).delete(channels::delete))
        .route("/api/v1/notification-channels/{id}/test", post(channels::test))
        .route("/api/v1/usage", get(usage::usage))
        .route("/api/v1/api-keys", get(api_keys::list).post(api_keys::create))
        .route("/api/v1/api-keys/{id}", get(api_keys::get).delete(api_keys::revoke))
        .route("/api/v1/api-keys/{id}/rotate", post(api_keys::rotate))
        .route("/api/v1/audit-log", get(audit::list))
        .route("/api/v1/export", get(export::export))
        .route("/api/v1/signing-secrets", get(secrets::list))
        .route("/api/v1/signing-secrets/rotate", post(secrets::rotate))
        .route("/api/v1/openapi.json", get(openapi::serve))
}
