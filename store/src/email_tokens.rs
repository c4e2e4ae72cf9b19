//! Single-use e-mailed links (confirmation, magic link, password reset): only the token's
//! SHA-256 is stored; a link works once, before it expires.

use chrono::{DateTime, Utc};
use domain::account::LinkPurpose;
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::error::StoreResult;

/// Stores a link for `email` (and its user, when there is one).
pub async fn issue(
    db: impl PgExecutor<'_>,
    token_hash: &[u8; 32],
    purpose: LinkPurpose,
    email: &str,
    user_id: Option<Uuid>,
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO email_tokens (token_hash, purpose, email, user_id, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&token_hash[..])
        .bind(purpose.as_str())
        .bind(email)
        .bind(user_id)
        .bind(expires_at)
        .execute(db)
        .await?;
    Ok(())
}

/// Uses a link: the first use before it expires gets its address and user, every other gets None.
pub async fn consume(db: impl PgExecutor<'_>, token_hash: &[u8; 32], purpose: LinkPurpose, now: DateTime<Utc>) -> StoreResult<Option<(String, Option<Uuid>)>> {
    Ok(sqlx::query_as(
        "UPDATE email_tokens SET consumed_at = $3
          WHERE token_hash = $1 AND purpose = $2 AND consumed_at IS NULL AND expires_at > $3
         RETURNING email, user_id",
    )
    .bind(&token_hash[..])
    .bind(purpose.as_str())
    .bind(now)
    .fetch_optional(db)
    .await?)
}

/// Whether a link would still work (for the page that asks to confirm before using it).
pub async fn usable(db: impl PgExecutor<'_>, token_hash: &[u8; 32], purpose: LinkPurpose, now: DateTime<Utc>) -> StoreResult<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM email_tokens WHERE token_hash = $1 AND purpose = $2 AND consumed_at IS NULL AND expires_at > $3)",
    )
    .bind(&token_hash[..])
    .bind(purpose.as_str())
    .bind(now)
    .fetch_one(db)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use sqlx::PgPool;

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn a_link_works_once_for_its_purpose_before_it_expires(pool: PgPool) {
        let now = Utc::now();
        issue(&pool, &[1; 32], LinkPurpose::MagicLink, "a@example.com", None, now + Duration::minutes(15)).await.unwrap();
        issue(&pool, &[2; 32], LinkPurpose::PasswordReset, "a@example.com", None, now + Duration::minutes(15)).await.unwrap();
        assert!(consume(&pool, &[1; 32], LinkPurpose::PasswordReset, now).await.unwrap().is_none(), "another purpose");
        assert!(usable(&pool, &[1; 32], LinkPurpose::MagicLink, now).await.unwrap());
        assert_eq!(consume(&pool, &[1; 32], LinkPurpose::MagicLink, now).await.unwrap(), Some(("a@example.com".into(), None)));
        assert!(consume(&pool, &[1; 32], LinkPurpose::MagicLink, now).await.unwrap().is_none(), "used");
        assert!(!usable(&pool, &[1; 32], LinkPurpose::MagicLink, now).await.unwrap());
        assert!(consume(&pool, &[2; 32], LinkPurpose::PasswordReset, now + Duration::minutes(16)).await.unwrap().is_none(), "expired");
        assert!(consume(&pool, &[9; 32], LinkPurpose::MagicLink, now).await.unwrap().is_none(), "unknown");
    }
}
