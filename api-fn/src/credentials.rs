//! An organization's credentials, changed the same way from the API and the web app: API keys
//! (create, revoke, rotate with an overlap) and the signing secrets (rotate). Each change is
//! written to the audit log in the caller's transaction, naming who made it.

use chrono::{DateTime, TimeDelta, Utc};
use domain::api_key::{ApiKey, KeyName, MAX_ACTIVE_KEYS};
use domain::audit::{Actor, AuditAction};
use domain::signing::SigningSecret;
use sqlx::PgConnection;
use store::api_keys::ApiKeyRecord;
use uuid::Uuid;

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("an organization may have {MAX_ACTIVE_KEYS} API keys in use at once; revoke one you no longer need first")]
    KeyLimit,
    #[error("no such API key in use in this organization")]
    NoSuchKey,
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

/// A key just made, and its token (shown once).
pub struct NewKey {
    pub record: ApiKeyRecord,
    pub token: String,
}

fn generate() -> domain::api_key::GeneratedApiKey {
    ApiKey::generate(rand::random::<[u8; 12]>(), rand::random::<[u8; 32]>())
}

fn prefix(k: &ApiKeyRecord) -> String {
    format!("pk_live_{}", k.public_id)
}

/// Makes a key named `name`, within the organization's limit (checked under a lock).
pub async fn create_key(tx: &mut PgConnection, org_id: Uuid, actor: Actor, name: &KeyName) -> Result<NewKey, CredentialError> {
    if store::api_keys::count_active_locked(&mut *tx, org_id).await? >= MAX_ACTIVE_KEYS as i64 {
        return Err(CredentialError::KeyLimit);
    }
    let key = generate();
    let record = store::api_keys::insert(&mut *tx, org_id, key.id.as_str(), name.as_str(), &key.secret_hash, actor.user_id(), None).await?;
    let details = serde_json::json!({"name": record.name, "prefix": prefix(&record)});
    store::audit::record(&mut *tx, org_id, actor, AuditAction::ApiKeyCreated, Some(("api_key", &record.id.to_string())), details).await?;
    tracing::info!(%org_id, key_id = %record.id, "API key created");
    Ok(NewKey { record, token: key.token })
}

/// Revokes a key now (a rotated one in its overlap too).
pub async fn revoke_key(tx: &mut PgConnection, org_id: Uuid, actor: Actor, id: Uuid) -> Result<ApiKeyRecord, CredentialError> {
    let key = store::api_keys::revoke(&mut *tx, org_id, id, Utc::now()).await?.ok_or(CredentialError::NoSuchKey)?;
    let details = serde_json::json!({"name": key.name, "prefix": prefix(&key)});
    store::audit::record(&mut *tx, org_id, actor, AuditAction::ApiKeyRevoked, Some(("api_key", &id.to_string())), details).await?;
    tracing::info!(%org_id, key_id = %id, "API key revoked");
    Ok(key)
}

/// Replaces a key with a new one of the same name; the old one works for `overlap_secs` more
/// (or until its own end, when sooner). Returns the new key and when the old one stops.
pub async fn rotate_key(tx: &mut PgConnection, org_id: Uuid, actor: Actor, id: Uuid, overlap_secs: u32) -> Result<(NewKey, DateTime<Utc>), CredentialError> {
    let now = Utc::now();
    let until = now + TimeDelta::seconds(i64::from(overlap_secs));
    let key = generate();
    let new = store::api_keys::rotate(&mut *tx, org_id, id, key.id.as_str(), &key.secret_hash, actor.user_id(), now, until)
        .await?
        .ok_or(CredentialError::NoSuchKey)?;
    let old = store::api_keys::get(&mut *tx, org_id, id).await?.ok_or(CredentialError::NoSuchKey)?;
    let old_until = old.revoked_at.unwrap_or(until);
    let details = serde_json::json!({"name": new.name, "new_key_id": new.id, "prefix": prefix(&new), "old_expires_at": old_until});
    store::audit::record(&mut *tx, org_id, actor, AuditAction::ApiKeyRotated, Some(("api_key", &id.to_string())), details).await?;
    tracing::info!(%org_id, key_id = %id, new_key_id = %new.id, overlap_secs, "API key rotated");
    Ok((NewKey { record: new, token: key.token }, old_until))
}

/// A new signing secret; the others keep signing for `overlap_secs`. Returns its id, its value
/// (shown once) and when the others stop.
pub async fn rotate_signing_secret(tx: &mut PgConnection, org_id: Uuid, key: &store::keyring::OrgKey, actor: Actor, overlap_secs: u32) -> Result<(Uuid, String, DateTime<Utc>), CredentialError> {
    let previous_expire_at = Utc::now() + TimeDelta::seconds(i64::from(overlap_secs));
    let secret = SigningSecret::generate(rand::random::<[u8; 32]>()).to_string();
    let id = store::signing_secrets::insert(&mut *tx, org_id, key, &secret).await?;
    store::signing_secrets::expire_all_but(&mut *tx, org_id, id, previous_expire_at).await?;
    let details = serde_json::json!({"overlap_secs": overlap_secs, "previous_expire_at": previous_expire_at});
    store::audit::record(&mut *tx, org_id, actor, AuditAction::SigningSecretRotated, Some(("signing_secret", &id.to_string())), details).await?;
    tracing::info!(%org_id, secret_id = %id, overlap_secs, "signing secret rotated");
    Ok((id, secret, previous_expire_at))
}
