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

/// Sets (or replaces) a user's password hash.
pub async fn set_password(db: impl PgExecutor<'_>, id: Uuid, password_hash: &str) -> StoreResult<()> {
    sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1").bind(id).bind(password_hash).execute(db).await?;
    Ok(())
}

/// Marks the address confirmed (the first time only) and records a sign-in at `now`.
pub async fn signed_in(db: impl PgExecutor<'_>, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
    sqlx::query("UPDATE users SET email_verified_at = coalesce(email_verified_at, $2), last_login_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}

/// One member of an organization.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub user: User,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

/// The organization's members, owners first, then by when they joined.
pub async fn members(db: impl PgExecutor<'_>, org_id: Uuid) -> StoreResult<Vec<Member>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        user: User,
        role: String,
        joined_at: DateTime<Utc>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT u.id, u.email, u.name, u.password_hash, u.email_verified_at, u.created_at, m.role, m.created_at AS joined_at
           FROM memberships m JOIN users u ON u.id = m.user_id
          WHERE m.org_id = $1
          ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, m.created_at",
    )
    .bind(org_id)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(|r| Ok(Member { user: r.user, role: parse_column("memberships.role", r.role)?, joined_at: r.joined_at })).collect()
}

/// Removes a member. False when they were not one.
pub async fn remove_membership(db: impl PgExecutor<'_>, org_id: Uuid, user_id: Uuid) -> StoreResult<bool> {
    let n = sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2").bind(org_id).bind(user_id).execute(db).await?.rows_affected();
    Ok(n == 1)
}

/// How many owners the organization has; its rows are locked until the transaction ends, so
/// two owners leaving at once cannot leave it with none.
pub async fn owners_locked(conn: &mut sqlx::PgConnection, org_id: Uuid) -> StoreResult<i64> {
    let owners: Vec<Uuid> = sqlx::query_scalar("SELECT user_id FROM memberships WHERE org_id = $1 AND role = 'owner' FOR UPDATE")
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await?;
    Ok(owners.len() as i64)
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
