//! Authentication of `/api/v1`: `Authorization: Bearer pk_live_<id>.sk_live_<secret>`. The key
//! row is found by its public id (the lookups of concurrent requests share one query, see
//! [`crate::batch`]), the secret's SHA-256 compared in constant time; revoked and
//! unknown keys get the same 401. Then the per-key rate limit is counted (after the secret is
//! checked, so nobody spends a key's budget without it) and `last_used_at` is refreshed at most
//! once a minute (the stored value is read with the key, so most requests write nothing).

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use chrono::{TimeDelta, Utc};
use domain::api_key::ApiKey;
use domain::tier::Tier;
use uuid::Uuid;

use crate::AppState;
use crate::problem::Problem;

/// The organization a request acts for. Every query of a v1 handler is scoped by `org_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tenant {
    pub org_id: Uuid,
    pub tier: Tier,
    pub key_id: Uuid,
}

/// How stale `last_used_at` may get before a request refreshes it.
const LAST_USED_RESOLUTION: TimeDelta = TimeDelta::seconds(60);

impl FromRequestParts<AppState> for Tenant {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let token = bearer_token(parts)?;
        let presented = ApiKey::parse(token).map_err(|e| Problem::unauthorized(format!("malformed API key: {e}")))?;
        let now = Utc::now();
        // a client that keeps presenting unknown keys is refused before the lookup
        let ip = crate::pings::client_ip(parts, state.config.trust_forwarded_for);
        if let Some(ip) = ip {
            state.auth_failures.check(ip, state.config.auth_failure_rate_per_minute, now)?;
        }
        let owner = state.batches.keys.call(presented.id.as_str().to_owned()).await.map_err(|e| Problem::internal(&e))??;
        let owner = match owner {
            Some(o) if domain::api_key::verify(&presented.secret, &o.secret_hash) => o,
            _ => {
                if let Some(ip) = ip {
                    state.auth_failures.failed(ip, now);
                }
                return Err(Problem::unauthorized("unknown or revoked API key"));
            }
        };
        if owner.org_deleting {
            return Err(Problem::unauthorized(
                "this API key's organization is scheduled for deletion, so its keys are refused; an owner can restore it in the dashboard (Settings) until it is erased",
            ));
        }
        state.limiter.check(&state.pool, &format!("key:{}", owner.id), state.config.api_rate_per_minute, now).await?;
        if owner.last_used_at.is_none_or(|t| now - t >= LAST_USED_RESOLUTION)
            && let Err(e) = store::api_keys::touch_last_used(&state.pool, owner.id, now).await {
                tracing::warn!(error = %e, key_id = %owner.id, "could not record API key use");
            }
        Ok(Tenant { org_id: owner.org_id, tier: owner.tier, key_id: owner.id })
    }
}

fn bearer_token(parts: &Parts) -> Result<&str, Problem> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| Problem::unauthorized("missing Authorization header; send Authorization: Bearer pk_live_….sk_live_…"))?;
    let value = value.to_str().map_err(|_| Problem::unauthorized("the Authorization header is not readable text"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
        _ => Err(Problem::unauthorized("the Authorization header must use the Bearer scheme: Bearer pk_live_….sk_live_…")),
    }
}
