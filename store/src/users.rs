//! Dashboard users and their memberships in organizations.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::error::{StoreResult, parse_column};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: Option<String>,
    /// argon2id PHC string; never leaves the API process.
    pub password_hash: Option<String>,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pub use domain::account::Role;

/// Creates a user. An address already registered (in any letter case) is
/// `StoreError::Conflict { constraint: "users_email_key" }`.
pub async fn insert(
    db: impl PgExecutor<'_>,
    email: &str,
    name: Option<&str>,
    password_hash: Option<&str>,
) -> StoreResult<User> {
    Ok(sqlx::query_as(
        "INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3)
         RETURNING id, email, name, password_hash, email_verified_at, created_at",
    )
    .bind(email)
    .bind(name)
    .bind(password_hash)
    .fetch_one(db)
    .await?)
}

pub async fn by_email(db: impl PgExecutor<'_>, email: &str) -> StoreResult<Option<User>> {
    Ok(sqlx::query_as(
        "SELECT id, email, name, password_hash, email_verified_at, created_at FROM users WHERE lower(email) = lower($1)",
    )
    .bind(email)
    .fetch_optional(db)
    .await?)
}

pub async fn get(db: impl PgExecutor<'_>, id: Uuid) -> StoreResult<Option<User>> {
    Ok(sqlx::query_as(
        "SELECT id, email, name, password_hash, email_verified_at, created_at FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?)
}

/// Adds `user_id` to `org_id` with `role`, or changes the role of an existing member.
pub async fn upsert_membership(db: impl PgExecutor<'_>, org_id: Uuid, user_id: Uuid, role: Role) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (org_id, user_id) DO UPDATE SET role = EXCLUDED.role",
    )
    .bind(org_id)
    .bind(user_id)
    .bind(role.as_str())
    .execute(db)
    .await?;
    Ok(())
}

/// The user's role in the organization, or None when not a member.
pub async fn role_in(db: impl PgExecutor<'_>, org_id: Uuid, user_id: Uuid) -> StoreResult<Option<Role>> {
    let role: Option<String> = sqlx::query_scalar("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
        .bind(org_id)
        .bind(user_id)
        .fetch_optional(db)
        .await?;
    role.map(|r| parse_column("memberships.role", r)).transpose()
}

/// Members plus open (unanswered, unexpired at `now`) invitations: what the tier's member limit counts.
pub async fn seats_used(db: impl PgExecutor<'_>, org_id: Uuid, now: DateTime<Utc>) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM memberships WHERE org_id = $1)
              + (SELECT count(*) FROM invites WHERE org_id = $1 AND accepted_at IS NULL
                   AND declined_at IS NULL AND revoked_at IS NULL AND expires_at > $2)",
    )
    .bind(org_id)
    .bind(now)
    .fetch_one(db)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::organizations;
    use domain::tier::Tier;
    use sqlx::PgPool;

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn email_is_unique_case_insensitively(pool: PgPool) {
        let u = insert(&pool, "Kari@Example.no", Some("Kari"), None).await.unwrap();
        assert_eq!(by_email(&pool, "kari@example.NO").await.unwrap().map(|x| x.id), Some(u.id));
        assert_eq!(get(&pool, u.id).await.unwrap(), Some(u));
        let err = insert(&pool, "kari@example.no", None, None).await.unwrap_err();
        assert!(err.is_conflict_on("users_email_key"), "{err:?}");
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn memberships_roles_and_seats(pool: PgPool) {
        let org = organizations::insert(&pool, "O", "o", Tier::Free).await.unwrap();
        let a = insert(&pool, "a@x.eu", None, Some("$argon2id$stub")).await.unwrap();
        let b = insert(&pool, "b@x.eu", None, None).await.unwrap();
        upsert_membership(&pool, org.id, a.id, Role::Owner).await.unwrap();
        assert_eq!(role_in(&pool, org.id, a.id).await.unwrap(), Some(Role::Owner));
        assert_eq!(role_in(&pool, org.id, b.id).await.unwrap(), None);
        upsert_membership(&pool, org.id, b.id, Role::Member).await.unwrap();
        upsert_membership(&pool, org.id, b.id, Role::Admin).await.unwrap();
        assert_eq!(role_in(&pool, org.id, b.id).await.unwrap(), Some(Role::Admin));
        let orgs = organizations::for_user(&pool, b.id).await.unwrap();
        assert_eq!(orgs.len(), 1);
        assert_eq!(orgs[0].1, "admin");

        let now = Utc::now();
        sqlx::query("INSERT INTO invites (org_id, email, role, token_hash, expires_at) VALUES ($1, 'c@x.eu', 'member', '\\x01', $2), ($1, 'd@x.eu', 'member', '\\x02', $3)")
            .bind(org.id)
            .bind(now + chrono::Duration::days(7))
            .bind(now - chrono::Duration::days(1))
            .execute(&pool)
            .await
            .unwrap();
        // two members + one open invite; the expired one does not count
        assert_eq!(seats_used(&pool, org.id, now).await.unwrap(), 3);
    }
}
