//! `Idempotency-Key` records for POST endpoints: a key is claimed in the same transaction as the
//! work it guards and completed with the response before commit, so a retry either replays a
//! committed response or (when the first attempt rolled back) does the work afresh. Two
//! concurrent requests with one key serialise on the key's row: the second waits for the first
//! transaction and then replays its response. Records older than 24 h are taken over by a new
//! claim, and deleted by the dispatcher's retention (`crate::dispatch::retention`).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::error::StoreResult;

/// What a request carrying an idempotency key should do.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The key is fresh (or its old record expired): do the work, then `complete`.
    New,
    /// The same request was already answered: send this response again.
    Replay { status: u16, body: serde_json::Value },
    /// The key was used for a different request.
    Mismatch,
    /// A committed claim without a response (not produced by this module's protocol).
    Incomplete,
}

/// Claims `key` for the request whose hash is `request_hash`. Records created before
/// `expired_before` are taken over as if absent.
pub async fn claim(
    conn: &mut PgConnection,
    org_id: Uuid,
    key: &str,
    request_hash: &[u8; 32],
    now: DateTime<Utc>,
    expired_before: DateTime<Utc>,
) -> StoreResult<Claim> {
    let claimed: Option<bool> = sqlx::query_scalar(
        "INSERT INTO idempotency_keys AS k (org_id, key, request_hash, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (org_id, key) DO UPDATE
            SET request_hash = EXCLUDED.request_hash, response_status = NULL, response_body = NULL,
                created_at = EXCLUDED.created_at
          WHERE k.created_at < $5
         RETURNING true",
    )
    .bind(org_id)
    .bind(key)
    .bind(&request_hash[..])
    .bind(now)
    .bind(expired_before)
    .fetch_optional(&mut *conn)
    .await?;
    if claimed.is_some() {
        return Ok(Claim::New);
    }
    let (hash, status, body): (Vec<u8>, Option<i16>, Option<serde_json::Value>) = sqlx::query_as(
        "SELECT request_hash, response_status, response_body FROM idempotency_keys WHERE org_id = $1 AND key = $2",
    )
    .bind(org_id)
    .bind(key)
    .fetch_one(&mut *conn)
    .await?;
    Ok(match (hash.as_slice() == &request_hash[..], status, body) {
        (false, _, _) => Claim::Mismatch,
        (true, Some(status), Some(body)) => Claim::Replay { status: status as u16, body },
        (true, _, _) => Claim::Incomplete,
    })
}

/// Stores the response of a claimed key (same transaction as `claim`).
pub async fn complete(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    key: &str,
    status: u16,
    body: &serde_json::Value,
) -> StoreResult<()> {
    sqlx::query("UPDATE idempotency_keys SET response_status = $3, response_body = $4 WHERE org_id = $1 AND key = $2")
        .bind(org_id)
        .bind(key)
        .bind(status as i16)
        .bind(body)
        .execute(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::organizations;
    use chrono::Duration;
    use domain::tier::Tier;
    use sqlx::PgPool;

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn claim_complete_replay_and_mismatch(pool: PgPool) {
        let org = organizations::insert(&pool, "O", "o", Tier::Free).await.unwrap();
        let other = organizations::insert(&pool, "P", "p", Tier::Free).await.unwrap();
        let now = Utc::now();
        let old = now - Duration::hours(24);
        let mut tx = pool.begin().await.unwrap();
        assert_eq!(claim(&mut tx, org.id, "k1", &[1; 32], now, old).await.unwrap(), Claim::New);
        complete(&mut *tx, org.id, "k1", 202, &serde_json::json!({"id": 1})).await.unwrap();
        tx.commit().await.unwrap();

        let mut conn = pool.acquire().await.unwrap();
        assert_eq!(
            claim(&mut conn, org.id, "k1", &[1; 32], now, old).await.unwrap(),
            Claim::Replay { status: 202, body: serde_json::json!({"id": 1}) }
        );
        assert_eq!(claim(&mut conn, org.id, "k1", &[2; 32], now, old).await.unwrap(), Claim::Mismatch);
        assert_eq!(claim(&mut conn, other.id, "k1", &[2; 32], now, old).await.unwrap(), Claim::New, "keys are per tenant");
        // a day later the key is free again
        let later = now + Duration::hours(25);
        assert_eq!(claim(&mut conn, org.id, "k1", &[2; 32], later, later - Duration::hours(24)).await.unwrap(), Claim::New);
        let mine: chrono::DateTime<Utc> =
            sqlx::query_scalar("SELECT created_at FROM idempotency_keys WHERE org_id = $1").bind(org.id).fetch_one(&mut *conn).await.unwrap();
        assert_eq!(mine.timestamp_micros(), later.timestamp_micros(), "the expired record was taken over");
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn a_rolled_back_claim_leaves_the_key_free(pool: PgPool) {
        let org = organizations::insert(&pool, "O", "o", Tier::Free).await.unwrap();
        let now = Utc::now();
        let mut tx = pool.begin().await.unwrap();
        assert_eq!(claim(&mut tx, org.id, "k", &[1; 32], now, now - Duration::hours(24)).await.unwrap(), Claim::New);
        tx.rollback().await.unwrap();
        let mut conn = pool.acquire().await.unwrap();
        assert_eq!(claim(&mut conn, org.id, "k", &[3; 32], now, now - Duration::hours(24)).await.unwrap(), Claim::New);
        assert_eq!(claim(&mut conn, org.id, "k", &[3; 32], now, now - Duration::hours(24)).await.unwrap(), Claim::Incomplete);
    }
}
