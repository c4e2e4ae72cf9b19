//! Retention: deleting history older than each tier keeps it, in bounded batches so a large
//! backlog never becomes one long transaction; and expiring short-lived bookkeeping rows.

use chrono::{DateTime, Utc};
use domain::tier::Tier;
use sqlx::PgExecutor;

use crate::error::StoreResult;

/// Deletes up to `limit` finished executions of `tier` organizations created before `cutoff`.
/// Returns how many went; call again while it returns `limit`.
pub async fn delete_old_executions(db: impl PgExecutor<'_>, tier: Tier, cutoff: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
    delete_batch(
        db,
        "DELETE FROM executions WHERE id IN (
             SELECT e.id FROM organizations o
               JOIN executions e ON e.org_id = o.id AND e.created_at < $2
              WHERE o.tier = $1 AND e.status NOT IN ('pending', 'running', 'waiting')
              LIMIT $3)",
        tier,
        cutoff,
        limit,
    )
    .await
}

/// Deletes up to `limit` monitor pings of `tier` organizations received before `cutoff`.
pub async fn delete_old_pings(db: impl PgExecutor<'_>, tier: Tier, cutoff: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
    delete_batch(
        db,
        "DELETE FROM pings WHERE id IN (
             SELECT p.id FROM organizations o
               JOIN monitors m ON m.org_id = o.id
               JOIN pings p ON p.monitor_id = m.id AND p.received_at < $2
              WHERE o.tier = $1 LIMIT $3)",
        tier,
        cutoff,
        limit,
    )
    .await
}

/// Runs one bounded DELETE taking `$1` tier, `$2` cutoff and `$3` limit; how many rows went.
async fn delete_batch(db: impl PgExecutor<'_>, sql: &'static str, tier: Tier, cutoff: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
    Ok(sqlx::query(sql).bind(tier.as_str()).bind(cutoff).bind(limit).execute(db).await?.rows_affected())
}

/// Deletes idempotency keys created before `idempotency_cutoff`, and sessions and e-mailed
/// tokens that expired before `now`.
pub async fn delete_expired_bookkeeping(
    db: impl PgExecutor<'_>,
    idempotency_cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    Ok(sqlx::query_scalar::<_, i64>(
        "WITH a AS (DELETE FROM idempotency_keys WHERE created_at < $1 RETURNING 1),
              b AS (DELETE FROM sessions WHERE expires_at < $2 RETURNING 1),
              c AS (DELETE FROM email_tokens WHERE expires_at < $2 RETURNING 1)
         SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b) + (SELECT count(*) FROM c)",
    )
    .bind(idempotency_cutoff)
    .bind(now)
    .fetch_one(db)
    .await? as u64)
}
