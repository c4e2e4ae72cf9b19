//! API keys: only the public id and the SHA-256 of the secret are stored; the full key is shown
//! once at creation. `last_used_at` is refreshed at most once a minute per key, so a storm of
//! requests does not become a storm of writes.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::error::StoreResult;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ApiKeyRecord {
    pub id: Uuid,
    pub org_id: Uuid,
    pub public_id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What authentication needs: the owner and the hash to compare against in constant time.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyCredentials {
    pub id: Uuid,
    pub org_id: Uuid,
    pub secret_hash: Vec<u8>,
    pub last_used_at: Option<DateTime<Utc>>,
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    public_id: &str,
    name: &str,
    secret_hash: &[u8; 32],
    created_by: Option<Uuid>,
    rotated_from: Option<Uuid>,
) -> StoreResult<ApiKeyRecord> {
    Ok(sqlx::query_as(
        "INSERT INTO api_keys (org_id, public_id, name, secret_hash, created_by, rotated_from)
         VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING id, org_id, public_id, name, created_at, last_used_at, revoked_at",
    )
    .bind(org_id)
    .bind(public_id)
    .bind(name)
    .bind(&secret_hash[..])
    .bind(created_by)
    .bind(rotated_from)
    .fetch_one(db)
    .await?)
}

/// The credentials of a key that exists and is not revoked.
pub async fn active_credentials(db: impl PgExecutor<'_>, public_id: &str) -> StoreResult<Option<ApiKeyCredentials>> {
    Ok(sqlx::query_as(
        "SELECT id, org_id, secret_hash, last_used_at FROM api_keys WHERE public_id = $1 AND revoked_at IS NULL",
    )
    .bind(public_id)
    .fetch_optional(db)
    .await?)
}

/// A key as authentication sees it: its owner, the owner's plan and the hash to compare.
#[derive(Debug, Clone)]
pub struct KeyOwner {
    pub id: Uuid,
    pub org_id: Uuid,
    pub public_id: String,
    pub tier: domain::tier::Tier,
    pub secret_hash: Vec<u8>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The active (not revoked) key with this public id, with its organization's tier.
pub async fn authenticate(db: impl PgExecutor<'_>, public_id: &str) -> StoreResult<Option<KeyOwner>> {
    Ok(authenticate_many(db, &[public_id.to_owned()]).await?.pop())
}

/// [`authenticate`] for several public ids in one query (the API coalesces the lookups of
/// concurrent requests): the active keys among them, in no particular order.
pub async fn authenticate_many(db: impl PgExecutor<'_>, public_ids: &[String]) -> StoreResult<Vec<KeyOwner>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: Uuid,
        org_id: Uuid,
        public_id: String,
        tier: String,
        secret_hash: Vec<u8>,
        last_used_at: Option<DateTime<Utc>>,
    }
    const COLUMNS: &str = "SELECT k.id, k.org_id, k.public_id, o.tier, k.secret_hash, k.last_used_at
           FROM api_keys k JOIN organizations o ON o.id = k.org_id";
    // One id (a lone request, or a burst from one key) is looked up by equality: the plan
    // Postgres caches for `= ANY($1)` assumes ten ids, and one id planned afresh looks cheaper
    // to it than that, so the array form was planned again for every batch (8 % of the CPU of
    // a create storm from one key).
    let rows: Vec<Row> = match public_ids {
        [one] => sqlx::query_as(&format!("{COLUMNS} WHERE k.public_id = $1 AND k.revoked_at IS NULL")).bind(one).fetch_all(db).await?,
        many => sqlx::query_as(&format!("{COLUMNS} WHERE k.public_id = ANY($1) AND k.revoked_at IS NULL")).bind(many).fetch_all(db).await?,
    };
    rows.into_iter()
        .map(|r| {
            Ok(KeyOwner {
                id: r.id,
                org_id: r.org_id,
                public_id: r.public_id,
                tier: crate::error::parse_column("organizations.tier", r.tier)?,
                secret_hash: r.secret_hash,
                last_used_at: r.last_used_at,
            })
        })
        .collect()
}

/// Records use at `now`, unless the key was already marked within the last minute.
/// Returns whether a write happened.
pub async fn touch_last_used(db: impl PgExecutor<'_>, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
    let sql = "UPDATE api_keys SET last_used_at = $2
                WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2 - interval '60 seconds')";
    Ok(sqlx::query(sql).bind(id).bind(now).execute(db).await?.rows_affected() == 1)
}

/// All keys of an organization, newest first (revoked ones included, for the audit trail).
pub async fn list(db: impl PgExecutor<'_>, org_id: Uuid) -> StoreResult<Vec<ApiKeyRecord>> {
    Ok(sqlx::query_as(
        "SELECT id, org_id, public_id, name, created_at, last_used_at, revoked_at
           FROM api_keys WHERE org_id = $1 ORDER BY created_at DESC, id DESC",
    )
    .bind(org_id)
    .fetch_all(db)
    .await?)
}

/// Revokes a key of `org_id` at `now`. False when there is no such active key in that organization.
pub async fn revoke(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
    let sql = "UPDATE api_keys SET revoked_at = $3 WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL";
    Ok(sqlx::query(sql).bind(org_id).bind(id).bind(now).execute(db).await?.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::organizations;
    use chrono::Duration;
    use domain::tier::Tier;
    use sqlx::PgPool;

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn lifecycle_insert_authenticate_touch_revoke(pool: PgPool) {
        let org = organizations::insert(&pool, "O", "o", Tier::Free).await.unwrap();
        let other = organizations::insert(&pool, "P", "p", Tier::Free).await.unwrap();
        let key = insert(&pool, org.id, "abc123", "ci", &[7; 32], None, None).await.unwrap();
        let creds = active_credentials(&pool, "abc123").await.unwrap().unwrap();
        assert_eq!((creds.org_id, creds.secret_hash.as_slice()), (org.id, &[7u8; 32][..]));
        assert!(active_credentials(&pool, "nope").await.unwrap().is_none());

        let t0 = Utc::now();
        assert!(touch_last_used(&pool, key.id, t0).await.unwrap());
        assert!(!touch_last_used(&pool, key.id, t0 + Duration::seconds(30)).await.unwrap(), "throttled");
        assert!(touch_last_used(&pool, key.id, t0 + Duration::seconds(61)).await.unwrap());

        assert!(!revoke(&pool, other.id, key.id, t0).await.unwrap(), "another tenant cannot revoke it");
        assert!(revoke(&pool, org.id, key.id, t0).await.unwrap());
        assert!(!revoke(&pool, org.id, key.id, t0).await.unwrap(), "already revoked");
        assert!(active_credentials(&pool, "abc123").await.unwrap().is_none());
        assert_eq!(list(&pool, org.id).await.unwrap().len(), 1);
        assert!(list(&pool, other.id).await.unwrap().is_empty());
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn authenticate_returns_the_owner_and_tier_of_active_keys_only(pool: PgPool) {
        let org = organizations::insert(&pool, "O", "o", Tier::Pro).await.unwrap();
        let key = insert(&pool, org.id, "pub1", "ci", &[9; 32], None, None).await.unwrap();
        let owner = authenticate(&pool, "pub1").await.unwrap().unwrap();
        assert_eq!((owner.id, owner.org_id, owner.tier, owner.secret_hash), (key.id, org.id, Tier::Pro, vec![9; 32]));
        assert!(authenticate(&pool, "pub2").await.unwrap().is_none());
        let other = organizations::insert(&pool, "P", "p", Tier::Free).await.unwrap();
        let second = insert(&pool, other.id, "pub3", "ci", &[3; 32], None, None).await.unwrap();
        let mut many = authenticate_many(&pool, &["pub1".into(), "pub2".into(), "pub3".into(), "pub1".into()]).await.unwrap();
        many.sort_by_key(|o| o.public_id.clone());
        let found: Vec<_> = many.iter().map(|o| (o.public_id.as_str(), o.id, o.org_id, o.tier)).collect();
        assert_eq!(found, vec![("pub1", key.id, org.id, Tier::Pro), ("pub3", second.id, other.id, Tier::Free)], "each active key once");
        revoke(&pool, org.id, key.id, Utc::now()).await.unwrap();
        assert!(authenticate(&pool, "pub1").await.unwrap().is_none(), "revoked keys do not authenticate");
        let many = authenticate_many(&pool, &["pub1".into(), "pub3".into()]).await.unwrap();
        assert_eq!(many.iter().map(|o| o.id).collect::<Vec<_>>(), vec![second.id], "nor in a batch");
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn public_ids_are_unique(pool: PgPool) {
        let org = organizations::insert(&pool, "O", "o", Tier::Free).await.unwrap();
        insert(&pool, org.id, "dup", "a", &[1; 32], None, None).await.unwrap();
        let err = insert(&pool, org.id, "dup", "b", &[2; 32], None, None).await.unwrap_err();
        assert!(err.is_conflict_on("api_keys_public_id_key"), "{err:?}");
    }
}
