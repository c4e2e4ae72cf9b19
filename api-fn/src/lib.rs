//! Prikke's REST API and dashboard as one axum router. The binary serves it under `lambda_http`
//! on AWS Lambda or on a plain local listener; tests drive the same router.
//!
//! Layout: `v1` holds one module per resource (its handlers) beside the machinery they share
//! (authentication, extractors, pagination, idempotency, the wire schemas, and the services
//! several handlers use: `job_rules`, `runs`). Handlers never import each other; what two of
//! them need goes in a shared module. Rules without I/O live in `domain`, SQL in `store`.

pub mod app;
pub mod batch;
pub mod billing;
pub mod coalesce;
pub mod config;
pub mod credentials;
pub mod edge_proof;
pub mod health;
pub mod pings;
pub mod problem;
pub mod provision;
pub mod rate_limit;
pub mod status;
pub mod v1;
pub mod waitlist;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use sqlx::PgPool;

pub use config::Config;

/// Shared by every handler: cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
    /// This instance's rate-limit leases (see [`rate_limit`]).
    pub limiter: rate_limit::Limiter,
    /// Statements shared by concurrent requests (see [`coalesce`]).
    pub batches: batch::Batches,
    /// Failed API-key authentications per client IP (see [`rate_limit::FailureGate`]).
    pub auth_failures: rate_limit::FailureGate,
    /// The organizations' data keys (secrets are stored sealed; see `store::keyring`).
    pub keyring: Arc<store::keyring::Keyring>,
}

impl AppState {
    /// Must be called on a tokio runtime: it starts the workers of [`batch::Batches`].
    pub fn new(pool: PgPool, config: Config) -> Self {
        let batches = batch::Batches::spawn(&pool);
        let keyring = Arc::new(store::keyring::Keyring::new(config.master_keys.clone()));
        AppState { pool, config: Arc::new(config), limiter: rate_limit::Limiter::default(), auth_failures: rate_limit::FailureGate::default(), batches, keyring }
    }
}

/// Largest request body the API accepts (job bodies are capped lower by validation).
pub const MAX_REQUEST_BODY: usize = 1024 * 1024;

pub fn router(state: AppState) -> Router {
    let router = Router::new()
        .route("/health", get(health::health))
        .route("/status.json", get(status::status))
        .route("/waitlist", post(waitlist::join))
        .route("/billing/webhook", post(billing::webhook))
        .route("/ping/{token}", get(pings::success_get).post(pings::success))
        .route("/ping/{token}/start", get(pings::start_get).post(pings::start))
        .route("/ping/{token}/fail", get(pings::fail_get).post(pings::fail))
        .route("/ping/c/{token}", get(pings::complete_get).post(pings::complete));
    v1::routes(app::routes(router))
        .fallback(|| async { problem::Problem::not_found("route") })
        .method_not_allowed_fallback(|| async { problem::Problem::method_not_allowed() })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BODY))
        .layer(axum::middleware::from_fn_with_state(state.clone(), edge_proof::require))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
