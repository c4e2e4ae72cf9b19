//! The origin answers only requests that came through the edge. The edge Worker adds a shared
//! secret in [`HEADER`] to every request it makes to api-fn; when `PRIKKE_EDGE_SECRET` is set
//! (required in production; two, comma-separated, while rotating), a request without it, or with
//! another value, is refused with 403
//! before any route runs — so the public Lambda function URL cannot be used to skip the edge's
//! rate limits and body limits, or to claim any client IP it likes in `X-Forwarded-For`.
//! `/health` stays open (platform health checks do not pass through the edge; it reveals nothing).
//!
//! A request that carried the proof gets the [`ViaEdge`] extension; only such a request's
//! `X-Forwarded-For` is believed (see [`crate::pings::client_ip`]).

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::problem::Problem;

/// The header the edge writes (and drops when a client sends it).
pub const HEADER: &str = "x-prikke-edge";

/// Marks a request that came through the edge (or any request, when no secret is configured:
/// development and tests, where the operator decides through `PRIKKE_TRUST_FORWARDED_FOR`).
#[derive(Debug, Clone, Copy)]
pub struct ViaEdge;

pub async fn require(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let secrets = &state.config.edge_secrets;
    if secrets.is_empty() {
        req.extensions_mut().insert(ViaEdge);
        return next.run(req).await;
    }
    let given = req.headers().get(HEADER).map(|v| v.as_bytes()).unwrap_or_default();
    // every configured secret is compared (two while rotating), each in constant time
    let proven = secrets.iter().fold(false, |found, s| {
        let s = s.expose().as_bytes();
        found | (given.len() == s.len() && bool::from(given.ct_eq(s)))
    });
    req.headers_mut().remove(HEADER);
    if proven {
        req.extensions_mut().insert(ViaEdge);
        return next.run(req).await;
    }
    if req.uri().path() == "/health" {
        return next.run(req).await;
    }
    tracing::warn!(path = %req.uri().path(), "refused a request that did not come through the edge");
    Problem::new(
        axum::http::StatusCode::FORBIDDEN,
        "not-through-edge",
        "Not through the edge",
        format!("this origin answers only requests that come through {}; call that address instead", state.config.public_url),
    )
    .into_response()
}
