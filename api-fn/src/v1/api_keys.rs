//! `/api/v1/api-keys`: an organization's API keys. Create one (its full token is shown once),
//! list them (never their secrets), revoke one (its next request gets 401, whichever key asks,
//! the one revoked included), rotate one (a new key of the same name; the old one keeps working
//! for an overlap, default 24 h, so its users can switch). Every change is written to the audit
//! log in the same transaction.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};
use domain::api_key::{ApiKey, KeyName, MAX_ACTIVE_KEYS};
use domain::audit::{Actor, AuditAction};
use domain::lifetimes::{ROTATION_OVERLAP_DEFAULT_SECS, ROTATION_OVERLAP_MAX_SECS};
use serde::{Deserialize, Serialize};
use store::api_keys::ApiKeyRecord;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::Tenant;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{PageQuery, paginate};
use crate::AppState;
use crate::problem::Problem;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyInput {
    /// What uses it, 1 to 100 characters.
    #[schema(example = "CI", max_length = 100)]
    pub name: String,
}

/// An API key, without its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: Uuid,
    pub name: String,
    /// The public half of the token, `pk_live_<id>`: how to tell keys apart.
    #[schema(example = "pk_live_0f3a9c2e8b7d6a5f4e3d2c1b")]
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    /// Refreshed at most once a minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it stopped working, or, for a rotated key, when it will.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Whether it authenticates now.
    pub active: bool,
    /// The key this one replaced.
    pub rotated_from: Option<Uuid>,
}

impl ApiKeyView {
    fn of(k: &ApiKeyRecord, now: DateTime<Utc>) -> Self {
        ApiKeyView {
            id: k.id,
            name: k.name.clone(),
            prefix: format!("pk_live_{}", k.public_id),
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
            active: k.is_active(now),
            rotated_from: k.rotated_from,
        }
    }
}

/// A key just made, with its token.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewApiKey {
    #[serde(flatten)]
    pub key: ApiKeyView,
    /// The full token, `pk_live_<id>.sk_live_<secret>`. Shown once: store it now.
    #[schema(example = "pk_live_0f3a9c2e8b7d6a5f4e3d2c1b.sk_live_…")]
    pub token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyPage {
    pub data: Vec<ApiKeyView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RotateQuery {
    /// How long the old key keeps working, 0 to 604800 s (default 86400).
    #[param(minimum = 0, maximum = 604800)]
    pub overlap_secs: Option<u32>,
}

/// The key that replaces a rotated one.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedApiKey {
    #[serde(flatten)]
    pub key: NewApiKey,
    /// When the old key stops working.
    pub previous_expires_at: DateTime<Utc>,
}

fn generate() -> domain::api_key::GeneratedApiKey {
    ApiKey::generate(rand::random::<[u8; 12]>(), rand::random::<[u8; 32]>())
}

fn location(mut res: Response, id: Uuid) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/api-keys/{id}")) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// Create an API key.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "account", request_body = ApiKeyInput,
    responses(
        (status = 201, description = "The key and its token (shown once)", body = NewApiKey),
        (status = 403, description = "The organization has the most keys it may have in use", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub async fn create(State(state): State<AppState>, tenant: Tenant, ApiJson(input): ApiJson<ApiKeyInput>) -> Result<Response, Problem> {
    let name = KeyName::parse(&input.name).map_err(|e| Problem::invalid_field("name", "name_invalid", e.to_string()))?;
    let now = Utc::now();
    let key = generate();
    let mut tx = state.pool.begin().await?;
    if store::api_keys::count_active_locked(&mut tx, tenant.org_id).await? >= MAX_ACTIVE_KEYS as i64 {
        return Err(Problem::key_limit(MAX_ACTIVE_KEYS));
    }
    let record = store::api_keys::insert(&mut *tx, tenant.org_id, key.id.as_str(), name.as_str(), &key.secret_hash, None, None).await?;
    let target = record.id.to_string();
    let details = serde_json::json!({"name": record.name, "prefix": format!("pk_live_{}", record.public_id)});
    store::audit::record(&mut *tx, tenant.org_id, Actor::ApiKey(tenant.key_id), AuditAction::ApiKeyCreated, Some(("api_key", &target)), details).await?;
    tx.commit().await?;
    tracing::info!(org_id = %tenant.org_id, key_id = %record.id, "API key created");
    let body = NewApiKey { key: ApiKeyView::of(&record, now), token: key.token };
    Ok(location((StatusCode::CREATED, Json(body)).into_response(), record.id))
}

/// List the organization's API keys, newest first (revoked ones too).
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "account", params(PageQuery),
    responses((status = 200, description = "A page of keys", body = ApiKeyPage)),
    security(("api_key" = [])))]
pub async fn list(State(state): State<AppState>, tenant: Tenant, ApiQuery(q): ApiQuery<PageQuery>) -> Result<Json<ApiKeyPage>, Problem> {
    let page = q.parse()?;
    let rows = store::api_keys::list_page(&state.pool, tenant.org_id, page.after, i64::from(page.limit) + 1).await?;
    let (rows, next_cursor) = paginate(rows, page.limit, |k| (k.created_at, k.id));
    let now = Utc::now();
    Ok(Json(ApiKeyPage { data: rows.iter().map(|k| ApiKeyView::of(k, now)).collect(), next_cursor }))
}

/// Get an API key.
#[utoipa::path(get, path = "/api/v1/api-keys/{id}", tag = "account", params(("id" = Uuid, Path, description = "API key id")),
    responses((status = 200, description = "The key", body = ApiKeyView)),
    security(("api_key" = [])))]
pub async fn get(State(state): State<AppState>, tenant: Tenant, ApiPath(id): ApiPath<Uuid>) -> Result<Json<ApiKeyView>, Problem> {
    let key = store::api_keys::get(&state.pool, tenant.org_id, id).await?.ok_or_else(|| Problem::not_found("API key"))?;
    Ok(Json(ApiKeyView::of(&key, Utc::now())))
}

/// Revoke an API key: its next request gets 401 (a rotated key in its overlap stops at once).
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "account", params(("id" = Uuid, Path, description = "API key id")),
    responses((status = 204, description = "Revoked")),
    security(("api_key" = [])))]
pub async fn revoke(State(state): State<AppState>, tenant: Tenant, ApiPath(id): ApiPath<Uuid>) -> Result<StatusCode, Problem> {
    let mut tx = state.pool.begin().await?;
    let key = store::api_keys::revoke(&mut *tx, tenant.org_id, id, Utc::now()).await?.ok_or_else(|| Problem::not_found("API key in use"))?;
    let details = serde_json::json!({"name": key.name, "prefix": format!("pk_live_{}", key.public_id)});
    store::audit::record(&mut *tx, tenant.org_id, Actor::ApiKey(tenant.key_id), AuditAction::ApiKeyRevoked, Some(("api_key", &id.to_string())), details).await?;
    tx.commit().await?;
    tracing::info!(org_id = %tenant.org_id, key_id = %id, "API key revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate an API key: a new key of the same name; the old one keeps working for `overlap_secs`.
#[utoipa::path(post, path = "/api/v1/api-keys/{id}/rotate", tag = "account",
    params(("id" = Uuid, Path, description = "API key id"), RotateQuery),
    responses((status = 201, description = "The new key and its token (shown once)", body = RotatedApiKey)),
    security(("api_key" = [])))]
pub async fn rotate(State(state): State<AppState>, tenant: Tenant, ApiPath(id): ApiPath<Uuid>, ApiQuery(q): ApiQuery<RotateQuery>) -> Result<Response, Problem> {
    let overlap = q.overlap_secs.unwrap_or(ROTATION_OVERLAP_DEFAULT_SECS);
    if overlap > ROTATION_OVERLAP_MAX_SECS {
        return Err(Problem::bad_request(format!("overlap_secs is at most {ROTATION_OVERLAP_MAX_SECS} (7 days)")));
    }
    let now = Utc::now();
    let until = now + TimeDelta::seconds(i64::from(overlap));
    let key = generate();
    let mut tx = state.pool.begin().await?;
    let new = store::api_keys::rotate(&mut *tx, tenant.org_id, id, key.id.as_str(), &key.secret_hash, None, now, until)
        .await?
        .ok_or_else(|| Problem::not_found("API key in use"))?;
    let old = store::api_keys::get(&mut *tx, tenant.org_id, id).await?.ok_or_else(|| Problem::not_found("API key"))?;
    let previous_expires_at = old.revoked_at.unwrap_or(until);
    let details = serde_json::json!({"name": new.name, "new_key_id": new.id, "prefix": format!("pk_live_{}", new.public_id), "old_expires_at": previous_expires_at});
    store::audit::record(&mut *tx, tenant.org_id, Actor::ApiKey(tenant.key_id), AuditAction::ApiKeyRotated, Some(("api_key", &id.to_string())), details).await?;
    tx.commit().await?;
    tracing::info!(org_id = %tenant.org_id, key_id = %id, new_key_id = %new.id, overlap_secs = overlap, "API key rotated");
    let body = RotatedApiKey { key: NewApiKey { key: ApiKeyView::of(&new, now), token: key.token }, previous_expires_at };
    Ok(location((StatusCode::CREATED, Json(body)).into_response(), new.id))
}
