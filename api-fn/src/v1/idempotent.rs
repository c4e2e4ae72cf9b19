//! `Idempotency-Key` on POST endpoints. The key is claimed inside the transaction that does the
//! work, and the response is stored in it before commit: a retried request replays the
//! committed response (`Idempotent-Replayed: true`), a request that failed left nothing behind,
//! and the same key with a different request is refused. Keys are per organization, kept 24 h.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use store::idempotency::Claim;

use super::auth::Tenant;
use super::extract::IdempotencyKey;
use crate::problem::Problem;

/// The request's fingerprint: method, path and body.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(body);
    h.finalize().into()
}

/// Claims the key (when one was sent). `Ok(Some(response))` is a replay to send as it is.
pub async fn begin(
    conn: &mut PgConnection,
    tenant: &Tenant,
    key: &IdempotencyKey,
    fingerprint: &[u8; 32],
) -> Result<Option<Response>, Problem> {
    let Some(key) = &key.0 else { return Ok(None) };
    let now = Utc::now();
    match store::idempotency::claim(conn, tenant.org_id, key, fingerprint, now, now - domain::lifetimes::IDEMPOTENCY_KEY).await? {
        Claim::New => Ok(None),
        Claim::Replay { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut res = (status, Json(body)).into_response();
            res.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(Some(res))
        }
        Claim::Mismatch => Err(Problem::idempotency_key_reused()),
        Claim::Incomplete => Err(Problem::conflict("a request with this Idempotency-Key is still being processed")),
    }
}

/// Stores the response under the key (when one was sent) and builds it.
pub async fn finish<T: Serialize>(
    conn: &mut PgConnection,
    tenant: &Tenant,
    key: &IdempotencyKey,
    status: StatusCode,
    body: &T,
) -> Result<Response, Problem> {
    let value = serde_json::to_value(body).map_err(|e| Problem::internal(&e))?;
    if let Some(key) = &key.0 {
        store::idempotency::complete(conn, tenant.org_id, key, status.as_u16(), &value).await?;
    }
    Ok((status, Json(value)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_differ_by_method_path_and_body() {
        let base = fingerprint("POST", "/api/v1/queue", b"{}");
        assert_eq!(base, fingerprint("POST", "/api/v1/queue", b"{}"));
        assert_ne!(base, fingerprint("POST", "/api/v1/jobs", b"{}"));
        assert_ne!(base, fingerprint("PUT", "/api/v1/queue", b"{}"));
        assert_ne!(base, fingerprint("POST", "/api/v1/queue", b"{ }"));
    }
}
