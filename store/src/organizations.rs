//! Organizations: the tenant boundary. Deleting one deletes all of its data (GDPR erasure; the
//! owner's request, its grace period and the batched purge are in `crate::erasure`).

use chrono::{DateTime, Utc};
use domain::tier::Tier;
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::error::{StoreResult, parse_column};

#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub tier: Tier,
    pub created_at: DateTime<Utc>,
    /// Set while the organization is scheduled for deletion: when it will be erased
    /// (`crate::erasure`).
    pub purge_after: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct OrganizationRow {
    id: Uuid,
    name: String,
    slug: String,
    tier: String,
    created_at: DateTime<Utc>,
    purge_after: Option<DateTime<Utc>>,
}

impl TryFrom<OrganizationRow> for Organization {
    type Error = crate::StoreError;
    fn try_from(row: OrganizationRow) -> StoreResult<Self> {
        Ok(Organization {
            id: row.id,
            name: row.name,
            slug: row.slug,
            tier: parse_column("organizations.tier", row.tier)?,
            created_at: row.created_at,
            purge_after: row.purge_after,
        })
    }
}

/// Creates an organization. A taken slug is `StoreError::Conflict { constraint: "organizations_slug_key" }`.
pub async fn insert(db: impl PgExecutor<'_>, name: &str, slug: &str, tier: Tier) -> StoreResult<Organization> {
    let row: OrganizationRow = sqlx::query_as(
        "INSERT INTO organizations (name, slug, tier) VALUES ($1, $2, $3) RETURNING id, name, slug, tier, created_at, purge_after",
    )
    .bind(name)
    .bind(slug)
    .bind(tier.to_string())
    .fetch_one(db)
    .await?;
    row.try_into()
}

pub async fn get(db: impl PgExecutor<'_>, id: Uuid) -> StoreResult<Option<Organization>> {
    let row: Option<OrganizationRow> =
        sqlx::query_as("SELECT id, name, slug, tier, created_at, purge_after FROM organizations WHERE id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?;
    row.map(TryInto::try_into).transpose()
}

pub async fn by_slug(db: impl PgExecutor<'_>, slug: &str) -> StoreResult<Option<Organization>> {
    let row: Option<OrganizationRow> =
        sqlx::query_as("SELECT id, name, slug, tier, created_at, purge_after FROM organizations WHERE slug = $1")
            .bind(slug)
            .fetch_optional(db)
            .await?;
    row.map(TryInto::try_into).transpose()
}

/// The organization, locked until the transaction ends: writes that check a plan limit (job
/// count) take this lock first, so concurrent requests cannot pass the check together.
pub async fn lock(db: impl PgExecutor<'_>, id: Uuid) -> StoreResult<Option<Organization>> {
    let row: Option<OrganizationRow> =
        sqlx::query_as("SELECT id, name, slug, tier, created_at, purge_after FROM organizations WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(db)
            .await?;
    row.map(TryInto::try_into).transpose()
}

/// Organizations a user belongs to, with the user's role in each, oldest first.
pub async fn for_user(db: impl PgExecutor<'_>, user_id: Uuid) -> StoreResult<Vec<(Organization, String)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        org: OrganizationRow,
        role: String,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT o.id, o.name, o.slug, o.tier, o.created_at, o.purge_after, m.role
           FROM organizations o JOIN memberships m ON m.org_id = o.id
          WHERE m.user_id = $1 ORDER BY o.created_at, o.id",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(|r| Ok((r.org.try_into()?, r.role))).collect()
}

/// Changes the plan. Returns false when no such organization exists.
pub async fn set_tier(db: impl PgExecutor<'_>, id: Uuid, tier: Tier) -> StoreResult<bool> {
    let n = sqlx::query("UPDATE organizations SET tier = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(tier.to_string())
        .execute(db)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Renames an organization. False when no such organization exists.
pub async fn rename(db: impl PgExecutor<'_>, id: Uuid, name: &str) -> StoreResult<bool> {
    let n = sqlx::query("UPDATE organizations SET name = $2, updated_at = now() WHERE id = $1").bind(id).bind(name).execute(db).await?.rows_affected();
    Ok(n == 1)
}

/// Erases the organization and, by cascade, every row that belongs to it.
pub async fn delete(db: impl PgExecutor<'_>, id: Uuid) -> StoreResult<bool> {
    let n = sqlx::query("DELETE FROM organizations WHERE id = $1").bind(id).execute(db).await?.rows_affected();
    Ok(n == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreError;
    use sqlx::PgPool;

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn insert_get_and_change_tier(pool: PgPool) {
        let org = insert(&pool, "Fjord AS", "fjord", Tier::Free).await.unwrap();
        assert_eq!(org.tier, Tier::Free);
        assert_eq!(get(&pool, org.id).await.unwrap(), Some(org.clone()));
        assert_eq!(by_slug(&pool, "fjord").await.unwrap().map(|o| o.id), Some(org.id));
        assert!(set_tier(&pool, org.id, Tier::Pro).await.unwrap());
        assert_eq!(get(&pool, org.id).await.unwrap().unwrap().tier, Tier::Pro);
        assert!(!set_tier(&pool, Uuid::new_v4(), Tier::Pro).await.unwrap());
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn lock_holds_until_commit(pool: PgPool) {
        let org = insert(&pool, "L", "l", Tier::Free).await.unwrap();
        let mut tx = pool.begin().await.unwrap();
        assert_eq!(lock(&mut *tx, org.id).await.unwrap().map(|o| o.id), Some(org.id));
        let mut other = pool.begin().await.unwrap();
        sqlx::query("SET LOCAL lock_timeout = '50ms'").execute(&mut *other).await.unwrap();
        assert!(lock(&mut *other, org.id).await.is_err(), "a second locker waits (and times out here)");
        other.rollback().await.unwrap();
        tx.commit().await.unwrap();
        assert!(lock(&pool, Uuid::new_v4()).await.unwrap().is_none());
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn duplicate_slug_is_a_named_conflict(pool: PgPool) {
        insert(&pool, "A", "same", Tier::Free).await.unwrap();
        let err = insert(&pool, "B", "same", Tier::Free).await.unwrap_err();
        assert!(err.is_conflict_on("organizations_slug_key"), "{err:?}");
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn invalid_slug_is_refused_by_the_schema(pool: PgPool) {
        let err = insert(&pool, "A", "Not A Slug", Tier::Free).await.unwrap_err();
        assert!(matches!(err, StoreError::Database(_)), "{err:?}");
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn delete_cascades_to_tenant_rows(pool: PgPool) {
        let org = insert(&pool, "Gone", "gone", Tier::Free).await.unwrap();
        let key = crate::keyring::Keyring::development().org_key(&pool, org.id).await.unwrap();
        crate::signing_secrets::insert(&pool, org.id, &key, "whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0").await.unwrap();
        assert!(delete(&pool, org.id).await.unwrap());
        let left: i64 = sqlx::query_scalar("SELECT (SELECT count(*) FROM signing_secrets) + (SELECT count(*) FROM org_data_keys)").fetch_one(&pool).await.unwrap();
        assert_eq!(left, 0);
        assert!(get(&pool, org.id).await.unwrap().is_none());
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn unknown_tier_in_the_table_is_reported_as_corrupt(pool: PgPool) {
        let org = insert(&pool, "X", "x", Tier::Free).await.unwrap();
        sqlx::query("ALTER TABLE organizations DROP CONSTRAINT organizations_tier_check").execute(&pool).await.unwrap();
        sqlx::query("UPDATE organizations SET tier = 'gold' WHERE id = $1").bind(org.id).execute(&pool).await.unwrap();
        let err = get(&pool, org.id).await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { column: "organizations.tier", .. }), "{err:?}");
    }
}
