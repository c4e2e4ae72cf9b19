//! Web app sessions: server-side rows. The browser holds a random token; only its SHA-256 is
//! stored (`domain::account::token_hash`). A session names the user, the organization they are
//! working in, and the secret its forms carry against cross-site requests.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::error::StoreResult;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Session {
    pub id: Uuid,
    pub user_id: Uuid,
    pub current_org_id: Option<Uuid>,
    pub csrf_secret: Vec<u8>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, user_id, current_org_id, csrf_secret, last_seen_at, expires_at";

/// Starts a session. `client_hash` identifies the browser (its user agent's hash) for the
/// "login from a new client" audit entry.
pub async fn create(
    db: impl PgExecutor<'_>,
    token_hash: &[u8; 32],
    user_id: Uuid,
    current_org_id: Option<Uuid>,
    csrf_secret: &[u8; 32],
    user_agent: Option<&str>,
    client_hash: &[u8; 32],
    expires_at: DateTime<Utc>,
) -> StoreResult<Session> {
    Ok(sqlx::query_as(&format!(
        "INSERT INTO sessions (token_hash, user_id, current_org_id, csrf_secret, user_agent, client_hash, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    ))
    .bind(&token_hash[..])
    .bind(user_id)
    .bind(current_org_id)
    .bind(&csrf_secret[..])
    .bind(user_agent.map(|ua| ua.chars().take(300).collect::<String>()))
    .bind(&client_hash[..])
    .bind(expires_at)
    .fetch_one(db)
    .await?)
}

/// Whether the user has had a session from this client before (any, expired ones included).
pub async fn known_client(db: impl PgExecutor<'_>, user_id: Uuid, client_hash: &[u8; 32]) -> StoreResult<bool> {
    Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM sessions WHERE user_id = $1 AND client_hash = $2)")
        .bind(user_id)
        .bind(&client_hash[..])
        .fetch_one(db)
        .await?)
}

/// The live session whose token hashes to `token_hash`, with its user (one query: every page
/// asks this first).
pub async fn find_with_user(db: impl PgExecutor<'_>, token_hash: &[u8; 32], now: DateTime<Utc>) -> StoreResult<Option<(Session, crate::users::User)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        session: Session,
        email: String,
        name: Option<String>,
        password_hash: Option<String>,
        email_verified_at: Option<DateTime<Utc>>,
        user_created_at: DateTime<Utc>,
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT s.id, s.user_id, s.current_org_id, s.csrf_secret, s.last_seen_at, s.expires_at,
                u.email, u.name, u.password_hash, u.email_verified_at, u.created_at AS user_created_at
           FROM sessions s JOIN users u ON u.id = s.user_id
          WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(&token_hash[..])
    .bind(now)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| {
        let user = crate::users::User {
            id: r.session.user_id,
            email: r.email,
            name: r.name,
            password_hash: r.password_hash,
            email_verified_at: r.email_verified_at,
            created_at: r.user_created_at,
        };
        (r.session, user)
    }))
}

/// Records use and moves the idle expiry to `now + idle` (at most once a minute per session:
/// callers skip it when `last_seen_at` is fresher than that).
pub async fn touch(db: impl PgExecutor<'_>, id: Uuid, now: DateTime<Utc>, idle: Duration) -> StoreResult<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id = $1 AND last_seen_at < $2 - interval '60 seconds'")
        .bind(id)
        .bind(now)
        .bind(now + idle)
        .execute(db)
        .await?;
    Ok(())
}

/// The organization the session works in.
pub async fn set_current_org(db: impl PgExecutor<'_>, id: Uuid, org_id: Option<Uuid>) -> StoreResult<()> {
    sqlx::query("UPDATE sessions SET current_org_id = $2 WHERE id = $1").bind(id).bind(org_id).execute(db).await?;
    Ok(())
}

/// Ends one session (logout).
pub async fn delete(db: impl PgExecutor<'_>, id: Uuid) -> StoreResult<()> {
    sqlx::query("DELETE FROM sessions WHERE id = $1").bind(id).execute(db).await?;
    Ok(())
}

/// Ends every session of a user (a password change); returns how many.
pub async fn delete_all_for_user(db: impl PgExecutor<'_>, user_id: Uuid) -> StoreResult<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(db).await?.rows_affected())
}
