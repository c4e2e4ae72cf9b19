//! The organization's Standard Webhooks signing secrets: list them (without their values) and
//! rotate. Rotation creates a new `whsec_` secret, shown once, and lets the others keep signing
//! for an overlap (default 24 h) so receivers can switch without dropping a delivery.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::Tenant;
use super::extract::{ApiQuery, RotateQuery};
use crate::AppState;
use crate::problem::Problem;


#[derive(Debug, Serialize, ToSchema)]
pub struct SecretInfo {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    /// When it stops signing (null: until the next rotation).
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecretList {
    /// The secrets signing deliveries now, newest first; every one of them signs each request.
    pub data: Vec<SecretInfo>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedSecret {
    pub id: Uuid,
    /// The new secret. Shown once: store it now.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
    pub created_at: DateTime<Utc>,
    /// When the previous secrets stop signing.
    pub previous_expire_at: DateTime<Utc>,
}

/// List signing secrets.
///
/// The Standard Webhooks secrets signing deliveries now, newest first; their values are never
/// shown again after they were made.
#[utoipa::path(get, path = "/api/v1/signing-secrets", tag = "account", operation_id = "listSigningSecrets", responses((status = 200, description = "Active secrets", body = SecretList, example = json!(crate::v1::examples::secret_list()))), security(("api_key" = [])))]
pub async fn list(State(state): State<AppState>, tenant: Tenant) -> Result<Json<SecretList>, Problem> {
    let rows = store::signing_secrets::list_active(&state.pool, tenant.org_id, Utc::now()).await?;
    Ok(Json(SecretList { data: rows.into_iter().map(|s| SecretInfo { id: s.id, created_at: s.created_at, expires_at: s.expires_at }).collect() }))
}

/// Rotate the signing secret.
///
/// Creates a new `whsec_` secret, shown once; the others keep signing for `overlap_secs`
/// (default 24 h) so receivers can switch without dropping a delivery.
#[utoipa::path(post, path = "/api/v1/signing-secrets/rotate", tag = "account", operation_id = "rotateSigningSecret", params(RotateQuery),
    responses((status = 201, description = "The new secret (shown once)", body = RotatedSecret, example = json!(crate::v1::examples::rotated_secret()))),
    security(("api_key" = [])))]
pub async fn rotate(State(state): State<AppState>, tenant: Tenant, ApiQuery(q): ApiQuery<RotateQuery>) -> Result<(StatusCode, Json<RotatedSecret>), Problem> {
    let overlap = q.overlap()?;
    let key = state.keyring.org_key(&state.pool, tenant.org_id).await?;
    let mut tx = state.pool.begin().await?;
    let (id, secret, previous_expire_at) = crate::credentials::rotate_signing_secret(&mut tx, tenant.org_id, &key, domain::audit::Actor::ApiKey(tenant.key_id), overlap).await?;
    tx.commit().await?;
    let now = Utc::now();
    Ok((StatusCode::CREATED, Json(RotatedSecret { id, secret, created_at: now, previous_expire_at })))
}
