//! `POST /waitlist`: the landing page's sign-up. Stores an address once; a repeat is not an error.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use domain::email::EmailAddress;
use serde::{Deserialize, Serialize};
use store::waitlist::WaitlistOutcome;

use crate::AppState;
use crate::problem::{FieldProblem, Problem};

#[derive(Debug, Deserialize)]
pub struct WaitlistRequest {
    pub email: String,
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct WaitlistResponse {
    pub status: &'static str,
}

pub async fn join(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    body: Result<Json<WaitlistRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<WaitlistResponse>), Problem> {
    // counted here too: the edge limits sign-ups per client, but a request may reach the origin
    // another way (a misconfigured or bypassed edge)
    if let Some(ip) = crate::pings::client_ip(&parts, state.config.trust_forwarded_for) {
        state.limiter.check(&state.pool, &format!("waitlist-ip:{ip}"), state.config.waitlist_rate_per_minute, chrono::Utc::now()).await?;
    }
    let Json(req) = body.map_err(|e| Problem::bad_request(format!("expected a JSON body like {{\"email\": \"you@example.com\"}}: {}", e.body_text())))?;
    let email = EmailAddress::parse(&req.email).map_err(|e| {
        Problem::validation(
            e.to_string(),
            vec![FieldProblem { field: "email".into(), code: "email_invalid".into(), message: e.to_string() }],
        )
    })?;
    // at most 64 characters (not bytes: a cut inside a character would panic)
    let source: Option<String> = req.source.as_deref().map(|s| s.chars().take(64).collect());
    match store::waitlist::add(&state.pool, email.as_str(), source.as_deref()).await? {
        WaitlistOutcome::Added => Ok((StatusCode::CREATED, Json(WaitlistResponse { status: "added" }))),
        WaitlistOutcome::AlreadyListed => Ok((StatusCode::OK, Json(WaitlistResponse { status: "already_listed" }))),
    }
}
