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
    /// When it stopped (or, for a rotated key in its overlap, will stop) working.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The key this one replaced, when it was made by a rotation.
    pub rotated_from: Option<Uuid>,
}

impl ApiKeyRecord {
    /// Whether it still authenticates at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none_or(|at| at > now)
    }
}

const RECORD: &str = "id, org_id, public_id, name, created_at, last_used_at, revoked_at, rotated_from";
/// The condition of a key that authenticates now: not revoked, or in a rotation's overlap.
const ACTIVE: &str = "(revoked_at IS NULL OR revoked_at > now())";

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
    Ok(sqlx::query_as(&format!(
        "INSERT INTO api_keys (org_id, public_id, name, secret_hash, created_by, rotated_from)
         VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING {RECORD}"
    ))
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
    Ok(sqlx::query_as(&format!("SELECT id, org_id, secret_hash, last_used_at FROM api_keys WHERE public_id = $1 AND {ACTIVE}"))
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
    /// The organization is scheduled for deletion (`store::erasure`): its keys are refused.
    pub org_deleting: bool,
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
        org_deleting: bool,
    }
    const COLUMNS: &str = "SELECT k.id, k.org_id, k.public_id, o.tier, k.secret_hash, k.last_used_at, o.purge_after IS NOT NULL AS org_deleting
           FROM api_keys k JOIN organizations o ON o.id = k.org_id";
    // One id (a lone request, or a burst from one key) is looked up by equality: the plan
    // Postgres caches for `= ANY($1)` assumes ten ids, and one id planned afresh looks cheaper
    // to it than that, so the array form was planned again for every batch (8 % of the CPU of
    // a create storm from one key).
    let rows: Vec<Row> = match public_ids {
        [one] => sqlx::query_as(&format!("{COLUMNS} WHERE k.public_id = $1 AND {ACTIVE}")).bind(one).fetch_all(db).await?,
        many => sqlx::query_as(&format!("{COLUMNS} WHERE k.public_id = ANY($1) AND {ACTIVE}")).bind(many).fetch_all(db).await?,
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
                org_deleting: r.org_deleting,
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
    list_page(db, org_id, None, i64::MAX).await
}

/// A page of the organization's keys, newest first, after the `(created_at, id)` of the
/// previous page's last.
pub async fn list_page(db: impl PgExecutor<'_>, org_id: Uuid, before: Option<(DateTime<Utc>, Uuid)>, limit: i64) -> StoreResult<Vec<ApiKeyRecord>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {RECORD} FROM api_keys
          WHERE org_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
          ORDER BY created_at DESC, id DESC LIMIT $4"
    ))
    .bind(org_id)
    .bind(before.map(|b| b.0))
    .bind(before.map(|b| b.1))
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// One key of the organization.
pub async fn get(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid) -> StoreResult<Option<ApiKeyRecord>> {
    Ok(sqlx::query_as(&format!("SELECT {RECORD} FROM api_keys WHERE org_id = $1 AND id = $2")).bind(org_id).bind(id).fetch_optional(db).await?)
}

/// How many of the organization's keys work now; the organization row is locked first (until
/// the transaction ends), so concurrent creates cannot both pass a limit.
pub async fn count_active_locked(conn: &mut sqlx::PgConnection, org_id: Uuid) -> StoreResult<i64> {
    sqlx::query("SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE").bind(org_id).execute(&mut *conn).await?;
    Ok(sqlx::query_scalar(&format!("SELECT count(*) FROM api_keys WHERE org_id = $1 AND {ACTIVE}")).bind(org_id).fetch_one(&mut *conn).await?)
}

/// Revokes a key of `org_id` at `now` (a rotated key in its overlap stops at once too). None when
/// the organization has no such working key; else the key as revoked.
pub async fn revoke(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid, now: DateTime<Utc>) -> StoreResult<Option<ApiKeyRecord>> {
    Ok(sqlx::query_as(&format!(
        "UPDATE api_keys SET revoked_at = $3 WHERE org_id = $1 AND id = $2 AND (revoked_at IS NULL OR revoked_at > $3)
         RETURNING {RECORD}"
    ))
    .bind(org_id)
    .bind(id)
    .bind(now)
    .fetch_optional(db)
    .await?)
}

/// Replaces a working key of `org_id` with a new one of the same name (`public_id`,
/// `secret_hash`, made by `created_by`), the old one working until `old_until` (or its own end,
/// when that is sooner), in one statement. None when the organization has no such working key.
pub async fn rotate(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
    public_id: &str,
    secret_hash: &[u8; 32],
    created_by: Option<Uuid>,
    now: DateTime<Utc>,
    old_until: DateTime<Utc>,
) -> StoreResult<Option<ApiKeyRecord>> {
    Ok(sqlx::query_as(&format!(
        "WITH old AS (
             UPDATE api_keys SET revoked_at = least(coalesce(revoked_at, $7), $7)
              WHERE org_id = $1 AND id = $2 AND (revoked_at IS NULL OR revoked_at > $6)
             RETURNING id, name
         )
         INSERT INTO api_keys (org_id, public_id, name, secret_hash, created_by, rotated_from)
         SELECT $1, $3, old.name, $4, $5, old.id FROM old
         RETURNING {RECORD}"
    ))
    .bind(org_id)
    .bind(id)
    .bind(public_id)
    .bind(&secret_hash[..])
    .bind(created_by)
    .bind(now)
    .bind(old_until)
    .fetch_optional(db)
    .await?)
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

        let t0 = chrono::SubsecRound::trunc_subsecs(Utc::now(), 6);
        assert!(touch_last_used(&pool, key.id, t0).await.unwrap());
        assert!(!touch_last_used(&pool, key.id, t0 + Duration::seconds(30)).await.unwrap(), "throttled");
        assert!(touch_last_used(&pool, key.id, t0 + Duration::seconds(61)).await.unwrap());

        assert!(revoke(&pool, other.id, key.id, t0).await.unwrap().is_none(), "another tenant cannot revoke it");
        assert_eq!(revoke(&pool, org.id, key.id, t0).await.unwrap().unwrap().revoked_at, Some(t0));
        assert!(revoke(&pool, org.id, key.id, t0).await.unwrap().is_none(), "already revoked");
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
    async fn a_rotated_key_works_through_its_overlap_and_its_successor_from_the_start(pool: PgPool) {
        let org = organizations::insert(&pool, "O", "o", Tier::Pro).await.unwrap();
        let other = organizations::insert(&pool, "P", "p", Tier::Pro).await.unwrap();
        let old = insert(&pool, org.id, "old", "deploys", &[1; 32], None, None).await.unwrap();
        let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 6); // as Postgres keeps it
        let until = now + Duration::hours(1);
        assert!(rotate(&pool, other.id, old.id, "x", &[2; 32], None, now, until).await.unwrap().is_none(), "not another tenant's");
        let new = rotate(&pool, org.id, old.id, "new", &[2; 32], None, now, until).await.unwrap().unwrap();
        assert_eq!((new.name.as_str(), new.rotated_from, new.revoked_at), ("deploys", Some(old.id), None));
        assert!(authenticate(&pool, "old").await.unwrap().is_some(), "the old key works through the overlap");
        assert!(authenticate(&pool, "new").await.unwrap().is_some());
        let mut conn = pool.acquire().await.unwrap();
        assert_eq!(count_active_locked(&mut conn, org.id).await.unwrap(), 2);
        // rotating again (during the overlap) never lengthens the old key's life
        let newer = rotate(&pool, org.id, old.id, "newer", &[3; 32], None, now, now + Duration::hours(5)).await.unwrap().unwrap();
        assert_eq!(get(&pool, org.id, old.id).await.unwrap().unwrap().revoked_at, Some(until));
        assert_eq!(newer.rotated_from, Some(old.id));
        // revoking a key in its overlap ends it at once; an ended key cannot be rotated
        assert_eq!(revoke(&pool, org.id, old.id, now).await.unwrap().unwrap().revoked_at, Some(now));
        assert!(authenticate(&pool, "old").await.unwrap().is_none());
        assert!(rotate(&pool, org.id, old.id, "late", &[4; 32], None, now, until).await.unwrap().is_none());
        let page = list_page(&pool, org.id, None, 2).await.unwrap();
        assert_eq!(page.iter().map(|k| k.public_id.as_str()).collect::<Vec<_>>(), vec!["newer", "new"]);
        let rest = list_page(&pool, org.id, Some((page[1].created_at, page[1].id)), 10).await.unwrap();
        assert_eq!(rest.iter().map(|k| k.public_id.as_str()).collect::<Vec<_>>(), vec!["old"]);
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn public_ids_are_unique(pool: PgPool) {
        let org = organizations::insert(&pool, "O", "o", Tier::Free).await.unwrap();
        insert(&pool, org.id, "dup", "a", &[1; 32], None, None).await.unwrap();
        let err = insert(&pool, org.id, "dup", "b", &[2; 32], None, None).await.unwrap_err();
        assert!(err.is_conflict_on("api_keys_public_id_key"), "{err:?}");
    }
}
