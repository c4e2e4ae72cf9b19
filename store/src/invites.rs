//! Invitations to an organization: a link (only its hash kept), a role, seven days to answer.
//! Open invitations count against the plan's member limit (`users::seats_used`).

use chrono::{DateTime, Utc};
use domain::account::Role;
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::error::{StoreError, StoreResult, parse_column};

#[derive(Debug, Clone, PartialEq)]
pub struct Invite {
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub role: Role,
    pub invited_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    org_id: Uuid,
    email: String,
    role: String,
    invited_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl TryFrom<Row> for Invite {
    type Error = StoreError;
    fn try_from(r: Row) -> StoreResult<Invite> {
        Ok(Invite {
            id: r.id,
            org_id: r.org_id,
            email: r.email,
            role: parse_column("invites.role", r.role)?,
            invited_by: r.invited_by,
            created_at: r.created_at,
            expires_at: r.expires_at,
        })
    }
}

const COLUMNS: &str = "id, org_id, email, role, invited_by, created_at, expires_at";
const OPEN: &str = "accepted_at IS NULL AND declined_at IS NULL AND revoked_at IS NULL";

/// Invites `email`. An open invitation for the address already is
/// `StoreError::Conflict { constraint: "invites_open_key" }`.
pub async fn create(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    email: &str,
    role: Role,
    token_hash: &[u8; 32],
    invited_by: Uuid,
    expires_at: DateTime<Utc>,
) -> StoreResult<Invite> {
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO invites (org_id, email, role, token_hash, invited_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    ))
    .bind(org_id)
    .bind(email)
    .bind(role.as_str())
    .bind(&token_hash[..])
    .bind(invited_by)
    .bind(expires_at)
    .fetch_one(db)
    .await?;
    row.try_into()
}

/// The open, unexpired invitation behind a link.
pub async fn by_token(db: impl PgExecutor<'_>, token_hash: &[u8; 32], now: DateTime<Utc>) -> StoreResult<Option<Invite>> {
    let row: Option<Row> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM invites WHERE token_hash = $1 AND {OPEN} AND expires_at > $2"))
        .bind(&token_hash[..])
        .bind(now)
        .fetch_optional(db)
        .await?;
    row.map(Invite::try_from).transpose()
}

/// The organization's open invitations (expired ones too, marked by `expires_at`), newest first.
pub async fn open_for(db: impl PgExecutor<'_>, org_id: Uuid) -> StoreResult<Vec<Invite>> {
    let rows: Vec<Row> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM invites WHERE org_id = $1 AND {OPEN} ORDER BY created_at DESC"))
        .bind(org_id)
        .fetch_all(db)
        .await?;
    rows.into_iter().map(Invite::try_from).collect()
}

/// Answers an open invitation (`accepted`: accepted, else declined) at `now`. False when it is no
/// longer open.
pub async fn answer(db: impl PgExecutor<'_>, id: Uuid, accepted: bool, now: DateTime<Utc>) -> StoreResult<bool> {
    let column = if accepted { "accepted_at" } else { "declined_at" };
    let n = sqlx::query(&format!("UPDATE invites SET {column} = $2 WHERE id = $1 AND {OPEN} AND expires_at > $2"))
        .bind(id)
        .bind(now)
        .execute(db)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Withdraws an open invitation of the organization. False when there is none.
pub async fn revoke(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid, now: DateTime<Utc>) -> StoreResult<Option<Invite>> {
    let row: Option<Row> = sqlx::query_as(&format!("UPDATE invites SET revoked_at = $3 WHERE org_id = $1 AND id = $2 AND {OPEN} RETURNING {COLUMNS}"))
        .bind(org_id)
        .bind(id)
        .bind(now)
        .fetch_optional(db)
        .await?;
    row.map(Invite::try_from).transpose()
}

/// An invitation with how it was answered (for the organization's export).
#[derive(Debug, Clone, PartialEq)]
pub struct InviteRecord {
    pub invite: Invite,
    pub accepted_at: Option<DateTime<Utc>>,
    pub declined_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A page of all of the organization's invitations (answered ones too; never the link's hash), by
/// id after `after`.
pub async fn page(db: impl PgExecutor<'_>, org_id: Uuid, after: Option<Uuid>, limit: i64) -> StoreResult<Vec<InviteRecord>> {
    #[derive(sqlx::FromRow)]
    struct Full {
        #[sqlx(flatten)]
        row: Row,
        accepted_at: Option<DateTime<Utc>>,
        declined_at: Option<DateTime<Utc>>,
        revoked_at: Option<DateTime<Utc>>,
    }
    let rows: Vec<Full> = sqlx::query_as(&format!(
        "SELECT {COLUMNS}, accepted_at, declined_at, revoked_at FROM invites
          WHERE org_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3"
    ))
    .bind(org_id)
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|f| Ok(InviteRecord { invite: f.row.try_into()?, accepted_at: f.accepted_at, declined_at: f.declined_at, revoked_at: f.revoked_at }))
        .collect()
}
