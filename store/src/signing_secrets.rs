//! Per-organization Standard Webhooks signing secrets and their rotation overlap.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::error::{StoreError, StoreResult};
use crate::keyring::OrgKey;

/// Stores a new secret of the organization, sealed with its data key `key`.
pub async fn insert(db: impl PgExecutor<'_>, org_id: Uuid, key: &OrgKey, secret: &str) -> StoreResult<Uuid> {
    Ok(sqlx::query_scalar("INSERT INTO signing_secrets (org_id, secret) VALUES ($1, $2) RETURNING id")
        .bind(org_id)
        .bind(key.seal(secret, ""))
        .fetch_one(db)
        .await?)
}

/// Secrets that sign requests at `now`, newest first, opened with the organization's data key.
pub async fn active(db: impl PgExecutor<'_>, org_id: Uuid, key: &OrgKey, now: DateTime<Utc>) -> StoreResult<Vec<String>> {
    active_for(db, &[org_id], now).await?.into_iter().map(|(_, secret)| key.open(&secret).map_err(StoreError::Sealed)).collect()
}

/// A signing secret without its value: what listings show.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SecretInfo {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// The organization's secrets still signing at `now`, newest first, without their values.
pub async fn list_active(db: impl PgExecutor<'_>, org_id: Uuid, now: DateTime<Utc>) -> StoreResult<Vec<SecretInfo>> {
    Ok(sqlx::query_as(
        "SELECT id, created_at, expires_at FROM signing_secrets
          WHERE org_id = $1 AND (expires_at IS NULL OR expires_at > $2)
          ORDER BY created_at DESC, id DESC",
    )
    .bind(org_id)
    .bind(now)
    .fetch_all(db)
    .await?)
}

/// The live secrets of several organizations at once (the dispatcher's cache fill), newest
/// first within each organization, as stored (sealed: open each with its organization's key).
pub async fn active_for(db: impl PgExecutor<'_>, org_ids: &[Uuid], now: DateTime<Utc>) -> StoreResult<Vec<(Uuid, String)>> {
    Ok(sqlx::query_as(
        "SELECT org_id, secret FROM signing_secrets
          WHERE org_id = ANY($1) AND (expires_at IS NULL OR expires_at > $2)
          ORDER BY org_id, created_at DESC, id DESC",
    )
    .bind(org_ids)
    .bind(now)
    .fetch_all(db)
    .await?)
}

/// Rotation: every other still-live secret of the organization expires at `overlap_until`
/// (the old and the new secret both sign until then). Call in the same transaction as `insert`.
pub async fn expire_all_but(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    keep: Uuid,
    overlap_until: DateTime<Utc>,
) -> StoreResult<u64> {
    Ok(sqlx::query(
        "UPDATE signing_secrets SET expires_at = LEAST(coalesce(expires_at, $3), $3)
          WHERE org_id = $1 AND id <> $2 AND (expires_at IS NULL OR expires_at > $3)",
    )
    .bind(org_id)
    .bind(keep)
    .bind(overlap_until)
    .execute(db)
    .await?
    .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::organizations;
    use chrono::Duration;
    use domain::tier::Tier;
    use sqlx::PgPool;

    const OLD: &str = "whsec_b2xkb2xkb2xkb2xkb2xkb2xkb2xkb2xk";
    const NEW: &str = "whsec_bmV3bmV3bmV3bmV3bmV3bmV3bmV3bmV3";

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn rotation_keeps_both_secrets_until_the_overlap_ends(pool: PgPool) {
        let org = organizations::insert(&pool, "O", "o", Tier::Free).await.unwrap();
        let key = crate::keyring::Keyring::development().org_key(&pool, org.id).await.unwrap();
        insert(&pool, org.id, &key, OLD).await.unwrap();
        let now = Utc::now();
        assert_eq!(active(&pool, org.id, &key, now).await.unwrap(), vec![OLD]);

        let mut tx = pool.begin().await.unwrap();
        let new_id = insert(&mut *tx, org.id, &key, NEW).await.unwrap();
        assert_eq!(expire_all_but(&mut *tx, org.id, new_id, now + Duration::hours(24)).await.unwrap(), 1);
        tx.commit().await.unwrap();

        assert_eq!(active(&pool, org.id, &key, now + Duration::hours(1)).await.unwrap(), vec![NEW, OLD]);
        assert_eq!(active(&pool, org.id, &key, now + Duration::hours(25)).await.unwrap(), vec![NEW]);
        let other = organizations::insert(&pool, "P", "p", Tier::Free).await.unwrap();
        let many = active_for(&pool, &[org.id, other.id], now + Duration::hours(1)).await.unwrap();
        let opened: Vec<(Uuid, String)> = many.into_iter().map(|(o, s)| (o, key.open(&s).unwrap())).collect();
        assert_eq!(opened, vec![(org.id, NEW.to_owned()), (org.id, OLD.to_owned())], "the other org has none");
        // at rest they are sealed: the table holds neither secret
        let stored: Vec<String> = sqlx::query_scalar("SELECT secret FROM signing_secrets").fetch_all(&pool).await.unwrap();
        assert!(stored.iter().all(|s| domain::sealed::is_sealed(s) && !s.contains("whsec_")), "{stored:?}");
        let listed = list_active(&pool, org.id, now + Duration::hours(1)).await.unwrap();
        assert_eq!(listed.iter().map(|s| s.id).next(), Some(new_id));
        assert_eq!(listed.len(), 2);
        assert!(listed[1].expires_at.is_some() && listed[0].expires_at.is_none());
        assert_eq!(list_active(&pool, org.id, now + Duration::hours(25)).await.unwrap().len(), 1);
    }
}
