//! `/api/v1/api-keys`: an organization's API keys. Create one (its full token is shown once),
//! list them (never their secrets), revoke one (its next request gets 401, whichever key asks,
//! the one revoked included), rotate one (a new key of the same name; the old one keeps working
//! for an overlap, default 24 h, so its users can switch). Every change is written to the audit
//! log in the same transaction.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use domain::api_key::{KeyName, MAX_ACTIVE_KEYS};
use domain::audit::Actor;
use serde::{Deserialize, Serialize};
use store::api_keys::ApiKeyRecord;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::Tenant;
use super::extract::{ApiJson, ApiPath, ApiQuery, RotateQuery};
use super::pagination::{PageQuery, paginate};
use crate::AppState;
use crate::credentials::{self, CredentialError};
use crate::problem::Problem;

/// A key to create.
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

/// A page of API keys, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyPage {
    /// At most `limit` keys.
    pub data: Vec<ApiKeyView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The key that replaces a rotated one.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedApiKey {
    #[serde(flatten)]
    pub key: NewApiKey,
    /// When the old key stops working.
    pub previous_expires_at: DateTime<Utc>,
}

fn location(mut res: Response, id: Uuid) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/api-keys/{id}")) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

impl From<CredentialError> for Problem {
    fn from(e: CredentialError) -> Self {
        match e {
            CredentialError::KeyLimit => Problem::key_limit(MAX_ACTIVE_KEYS),
            CredentialError::NoSuchKey => Problem::not_found("API key in use"),
            CredentialError::Store(e) => Problem::from(e),
        }
    }
}

/// Create an API key.
///
/// The answer carries the full token, once: store it then. The creation is written to the audit
/// log.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "account", operation_id = "createApiKey", request_body(content = ApiKeyInput, example = json!(crate::v1::examples::api_key_input())),
    responses(
        (status = 201, description = "The key and its token (shown once)", body = NewApiKey, headers(("Location" = String, description = "URL of the new key")), example = json!(crate::v1::examples::new_api_key())),
        (status = 403, description = "The organization has the most keys it may have in use", body = Problem, content_type = "application/problem+json", example = json!(crate::v1::examples::key_limit_problem())),
    ),
    security(("api_key" = [])))]
pub async fn create(State(state): State<AppState>, tenant: Tenant, ApiJson(input): ApiJson<ApiKeyInput>) -> Result<Response, Problem> {
    let name = KeyName::parse(&input.name).map_err(|e| Problem::invalid_field("name", "name_invalid", e.to_string()))?;
    let mut tx = state.pool.begin().await?;
    let new = credentials::create_key(&mut tx, tenant.org_id, Actor::ApiKey(tenant.key_id), &name).await?;
    tx.commit().await?;
    let body = NewApiKey { key: ApiKeyView::of(&new.record, Utc::now()), token: new.token };
    Ok(location((StatusCode::CREATED, Json(body)).into_response(), new.record.id))
}

/// List API keys.
///
/// The organization's keys, revoked ones too, newest first and never with their secrets; a page
/// at a time (pass `next_cursor` as `cursor`).
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "account", operation_id = "listApiKeys", params(PageQuery),
    responses((status = 200, description = "A page of keys", body = ApiKeyPage, example = json!(crate::v1::examples::api_key_page()))),
    security(("api_key" = [])))]
pub async fn list(State(state): State<AppState>, tenant: Tenant, ApiQuery(q): ApiQuery<PageQuery>) -> Result<Json<ApiKeyPage>, Problem> {
    let page = q.parse()?;
    let rows = store::api_keys::list_page(&state.pool, tenant.org_id, page.after, i64::from(page.limit) + 1).await?;
    let (rows, next_cursor) = paginate(rows, page.limit, |k| (k.created_at, k.id));
    let now = Utc::now();
    Ok(Json(ApiKeyPage { data: rows.iter().map(|k| ApiKeyView::of(k, now)).collect(), next_cursor }))
}

/// Get an API key.
///
/// Its name, public prefix, when it was last used and whether it works now; never its secret.
#[utoipa::path(get, path = "/api/v1/api-keys/{id}", tag = "account", operation_id = "getApiKey", params(("id" = Uuid, Path, description = "API key id")),
    responses((status = 200, description = "The key", body = ApiKeyView, example = json!(crate::v1::examples::api_key()))),
    security(("api_key" = [])))]
pub async fn get(State(state): State<AppState>, tenant: Tenant, ApiPath(id): ApiPath<Uuid>) -> Result<Json<ApiKeyView>, Problem> {
    let key = store::api_keys::get(&state.pool, tenant.org_id, id).await?.ok_or_else(|| Problem::not_found("API key"))?;
    Ok(Json(ApiKeyView::of(&key, Utc::now())))
}

/// Revoke an API key.
///
/// Its next request gets 401, whichever key asks (the one revoked included); a rotated key in
/// its overlap stops at once.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "account", operation_id = "revokeApiKey", params(("id" = Uuid, Path, description = "API key id")),
    responses((status = 204, description = "Revoked")),
    security(("api_key" = [])))]
pub async fn revoke(State(state): State<AppState>, tenant: Tenant, ApiPath(id): ApiPath<Uuid>) -> Result<StatusCode, Problem> {
    let mut tx = state.pool.begin().await?;
    credentials::revoke_key(&mut tx, tenant.org_id, Actor::ApiKey(tenant.key_id), id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate an API key.
///
/// Creates a new key of the same name (its token shown once); the old one keeps working for
/// `overlap_secs` (default 24 h) so its users can switch.
#[utoipa::path(post, path = "/api/v1/api-keys/{id}/rotate", tag = "account", operation_id = "rotateApiKey",
    params(("id" = Uuid, Path, description = "API key id"), RotateQuery),
    responses((status = 201, description = "The new key and its token (shown once)", body = RotatedApiKey, headers(("Location" = String, description = "URL of the new key")), example = json!(crate::v1::examples::rotated_api_key()))),
    security(("api_key" = [])))]
pub async fn rotate(State(state): State<AppState>, tenant: Tenant, ApiPath(id): ApiPath<Uuid>, ApiQuery(q): ApiQuery<RotateQuery>) -> Result<Response, Problem> {
    let overlap = q.overlap()?;
    let mut tx = state.pool.begin().await?;
    let (new, previous_expires_at) = credentials::rotate_key(&mut tx, tenant.org_id, Actor::ApiKey(tenant.key_id), id, overlap).await?;
    tx.commit().await?;
    let body = RotatedApiKey { key: NewApiKey { key: ApiKeyView::of(&new.record, Utc::now()), token: new.token }, previous_expires_at };
    Ok(location((StatusCode::CREATED, Json(body)).into_response(), new.record.id))
}
