//! Erasure (GDPR): deleting an organization, with a grace period, and deleting a user's account.
//!
//! # An organization's deletion
//!
//! ```text
//!   live ── request (owner) ──► deleting ── purge_after passes ──► purging (leader, in batches) ──► gone
//!     ▲                            │
//!     └──────── restore (owner) ───┘
//! ```
//!
//! The request, in one transaction: the organization is marked (`deletion_requested_at`,
//! `purge_after`), its enabled jobs are paused with the reason `org_deletion`, every run not yet
//! finished (pending, or claimed and not yet reported) is cancelled with its payload dropped, its
//! pending alert notifications and account e-mails are given up, and `prikke_org_deleted` is
//! announced at commit, so each dispatcher stops sending the runs it already holds. While it is
//! marked, its API keys and ping URLs are refused and its monitors do not go down. A restore
//! (before `purge_after`) unmarks it and resumes the jobs it paused; cancelled runs stay
//! cancelled. The purge deletes the large tables in batches of at most `limit` rows (each its own
//! short statement, skipping rows locked by a claim), then the organization row, whose cascade
//! takes the small ones, and records `organization.purged` with no organization.

use chrono::{DateTime, Utc};
use domain::audit::{Actor, AuditAction};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::error::StoreResult;

/// The channel announcing that an organization's runs must no longer be sent (payload: its id).
macro_rules! deleted_channel {
    () => {
        "prikke_org_deleted"
    };
}

pub const DELETED_CHANNEL: &str = deleted_channel!();

/// Why runs, notifications and mails of a deleted organization were not sent.
pub const NOT_SENT: &str = "organization scheduled for deletion; not delivered";

/// What a deletion request changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requested {
    pub jobs_paused: u64,
    pub runs_cancelled: u64,
}

/// Marks `org_id` for deletion at `purge_after` and stops everything it would send (see the
/// module's doc). `None` when it is already marked (or does not exist): nothing changes.
pub async fn request(tx: &mut PgConnection, org_id: Uuid, now: DateTime<Utc>, purge_after: DateTime<Utc>) -> StoreResult<Option<Requested>> {
    let marked: Option<Uuid> = sqlx::query_scalar(
        "UPDATE organizations SET deletion_requested_at = $2, purge_after = $3, updated_at = now()
          WHERE id = $1 AND deletion_requested_at IS NULL RETURNING id",
    )
    .bind(org_id)
    .bind(now)
    .bind(purge_after)
    .fetch_optional(&mut *tx)
    .await?;
    if marked.is_none() {
        return Ok(None);
    }
    let jobs_paused = sqlx::query("UPDATE jobs SET enabled = false, paused_reason = 'org_deletion', updated_at = now() WHERE org_id = $1 AND enabled")
        .bind(org_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let runs_cancelled = sqlx::query(
        "UPDATE executions SET status = 'cancelled', status_reason = $3, finished_at = $2, body = NULL, leased_by = NULL, lease_expires_at = NULL
          WHERE org_id = $1 AND status IN ('pending', 'running', 'waiting')",
    )
    .bind(org_id)
    .bind(now)
    .bind(NOT_SENT)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query("UPDATE alert_events SET processed_at = $2 WHERE org_id = $1 AND processed_at IS NULL").bind(org_id).bind(now).execute(&mut *tx).await?;
    sqlx::query("UPDATE notification_deliveries SET status = 'failed', last_error = $2, leased_by = NULL, lease_expires_at = NULL WHERE org_id = $1 AND status = 'pending'")
        .bind(org_id)
        .bind(NOT_SENT)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE outgoing_mail SET status = 'failed', last_error = $2, body_text = NULL, body_html = NULL, leased_by = NULL, lease_expires_at = NULL WHERE org_id = $1 AND status = 'pending'")
        .bind(org_id)
        .bind(NOT_SENT)
        .execute(&mut *tx)
        .await?;
    sqlx::query(concat!("SELECT pg_notify('", deleted_channel!(), "', $1)")).bind(org_id.to_string()).execute(&mut *tx).await?;
    Ok(Some(Requested { jobs_paused, runs_cancelled }))
}

/// Cancels the deletion of `org_id` while its grace period lasts (`purge_after` later than
/// `now`) and resumes the jobs the request paused. Returns how many it resumed; `None` when the
/// organization is not marked or its grace period is over (nothing changes).
pub async fn restore(tx: &mut PgConnection, org_id: Uuid, now: DateTime<Utc>) -> StoreResult<Option<u64>> {
    let unmarked: Option<Uuid> = sqlx::query_scalar(
        "UPDATE organizations SET deletion_requested_at = NULL, purge_after = NULL, updated_at = now()
          WHERE id = $1 AND purge_after > $2 RETURNING id",
    )
    .bind(org_id)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    if unmarked.is_none() {
        return Ok(None);
    }
    // The cursor stayed where it was: the occurrences missed meanwhile go through each job's
    // missed-run policy, as after any pause.
    let resumed = sqlx::query("UPDATE jobs SET enabled = true, paused_reason = NULL, updated_at = now() WHERE org_id = $1 AND paused_reason = 'org_deletion'")
        .bind(org_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    Ok(Some(resumed))
}

/// The organizations marked for deletion (whose runs must not be sent).
pub async fn deleting(db: impl PgExecutor<'_>) -> StoreResult<Vec<Uuid>> {
    Ok(sqlx::query_scalar("SELECT id FROM organizations WHERE purge_after IS NOT NULL").fetch_all(db).await?)
}

/// Organizations whose grace period ended by `now`, first ended first.
pub async fn due_for_purge(db: impl PgExecutor<'_>, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Uuid>> {
    Ok(sqlx::query_scalar("SELECT id FROM organizations WHERE purge_after <= $1 ORDER BY purge_after LIMIT $2").bind(now).bind(limit).fetch_all(db).await?)
}

/// One step of a purge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeStep {
    /// A batch of this many rows of the named table was deleted; call again.
    Deleted(&'static str, u64),
    /// The organization row (and by cascade its small tables) is gone, and the purge recorded.
    Done,
    /// Not due (restored, never marked, or already gone): nothing was deleted.
    NotDue,
}

/// The large tables of an organization, emptied a batch at a time before its row is deleted
/// (their rows would otherwise all go in the one cascading statement). Each statement picks its
/// batch with `SKIP LOCKED`, so it never waits on a claim.
const BATCHED: [(&str, &str); 7] = [
    ("executions", "DELETE FROM executions WHERE id = ANY(ARRAY(SELECT id FROM executions WHERE org_id = $1 LIMIT $2 FOR UPDATE SKIP LOCKED))"),
    ("pings", "DELETE FROM pings WHERE id = ANY(ARRAY(SELECT p.id FROM pings p JOIN monitors m ON m.id = p.monitor_id WHERE m.org_id = $1 LIMIT $2 FOR UPDATE OF p SKIP LOCKED))"),
    ("alert_events", "DELETE FROM alert_events WHERE id = ANY(ARRAY(SELECT id FROM alert_events WHERE org_id = $1 LIMIT $2 FOR UPDATE SKIP LOCKED))"),
    ("notification_deliveries", "DELETE FROM notification_deliveries WHERE id = ANY(ARRAY(SELECT id FROM notification_deliveries WHERE org_id = $1 LIMIT $2 FOR UPDATE SKIP LOCKED))"),
    ("audit_log", "DELETE FROM audit_log WHERE id = ANY(ARRAY(SELECT id FROM audit_log WHERE org_id = $1 LIMIT $2 FOR UPDATE SKIP LOCKED))"),
    ("idempotency_keys", "DELETE FROM idempotency_keys WHERE (org_id, key) IN (SELECT org_id, key FROM idempotency_keys WHERE org_id = $1 LIMIT $2 FOR UPDATE SKIP LOCKED)"),
    ("outgoing_mail", "DELETE FROM outgoing_mail WHERE id = ANY(ARRAY(SELECT id FROM outgoing_mail WHERE org_id = $1 LIMIT $2 FOR UPDATE SKIP LOCKED))"),
];

/// Deletes the next batch of `org_id`'s rows, if its grace period ended by `now`; when only
/// the small tables are left, deletes the organization and records the purge (one transaction).
pub async fn purge_step(conn: &mut PgConnection, org_id: Uuid, now: DateTime<Utc>, limit: i64) -> StoreResult<PurgeStep> {
    let due: Option<Uuid> = sqlx::query_scalar("SELECT id FROM organizations WHERE id = $1 AND purge_after <= $2").bind(org_id).bind(now).fetch_optional(&mut *conn).await?;
    if due.is_none() {
        return Ok(PurgeStep::NotDue);
    }
    for (table, sql) in BATCHED {
        let n = sqlx::query(sql).bind(org_id).bind(limit).execute(&mut *conn).await?.rows_affected();
        if n > 0 {
            return Ok(PurgeStep::Deleted(table, n));
        }
    }
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let gone = sqlx::query("DELETE FROM organizations WHERE id = $1 AND purge_after <= $2").bind(org_id).bind(now).execute(&mut *tx).await?.rows_affected();
    if gone == 0 {
        return Ok(PurgeStep::NotDue);
    }
    sqlx::query(
        "INSERT INTO audit_log (org_id, action, target_type, target_id, details) VALUES (NULL, $1, 'organization', $2, '{}')",
    )
    .bind(AuditAction::OrganizationPurged.as_str())
    .bind(org_id.to_string())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(PurgeStep::Done)
}

/// Why a user's account cannot be deleted yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserDeletion {
    Deleted,
    /// The user is the only owner of these organizations (not being deleted): someone else must
    /// own them first, or they must be deleted.
    SoleOwner(Vec<(Uuid, String)>),
    NotFound,
}

/// Deletes a user's account: `user.deleted` in the audit log of each organization they belonged
/// to, then the user (by cascade their memberships, sessions and sign-in tokens) and every other
/// row that names their address (account e-mails, invitations, the waitlist, the e-mail in audit
/// details). Refused, changing nothing, while they are an organization's only owner.
pub async fn delete_user(tx: &mut PgConnection, user_id: Uuid) -> StoreResult<UserDeletion> {
    let email: Option<String> = sqlx::query_scalar("SELECT email FROM users WHERE id = $1 FOR UPDATE").bind(user_id).fetch_optional(&mut *tx).await?;
    let Some(email) = email else { return Ok(UserDeletion::NotFound) };
    // The owners of the user's organizations are locked, so no one leaves or is demoted meanwhile.
    let sole: Vec<(Uuid, String)> = sqlx::query_as(
        "WITH owners AS (
             SELECT m.org_id, m.user_id FROM memberships m
              WHERE m.role = 'owner' AND m.org_id IN (SELECT org_id FROM memberships WHERE user_id = $1)
              FOR UPDATE
         )
         SELECT o.id, o.name FROM organizations o
          WHERE o.deletion_requested_at IS NULL
            AND EXISTS (SELECT 1 FROM owners w WHERE w.org_id = o.id AND w.user_id = $1)
            AND NOT EXISTS (SELECT 1 FROM owners w WHERE w.org_id = o.id AND w.user_id <> $1)
          ORDER BY o.name",
    )
    .bind(user_id)
    .fetch_all(&mut *tx)
    .await?;
    if !sole.is_empty() {
        return Ok(UserDeletion::SoleOwner(sole));
    }
    let orgs: Vec<Uuid> = sqlx::query_scalar("SELECT org_id FROM memberships WHERE user_id = $1").bind(user_id).fetch_all(&mut *tx).await?;
    for org in orgs {
        crate::audit::record(&mut *tx, org, Actor::User(user_id), AuditAction::UserDeleted, Some(("user", &user_id.to_string())), serde_json::json!({})).await?;
    }
    for sql in [
        "DELETE FROM outgoing_mail WHERE lower(to_address) = lower($1)",
        "DELETE FROM invites WHERE lower(email) = lower($1)",
        "DELETE FROM email_tokens WHERE lower(email) = lower($1)",
        "DELETE FROM waitlist WHERE lower(email) = lower($1)",
        "UPDATE audit_log SET details = details - 'email' WHERE lower(details->>'email') = lower($1)",
    ] {
        sqlx::query(sql).bind(&email).execute(&mut *tx).await?;
    }
    sqlx::query("DELETE FROM users WHERE id = $1").bind(user_id).execute(&mut *tx).await?;
    Ok(UserDeletion::Deleted)
}

#[cfg(test)]
#[path = "erasure_tests.rs"]
mod tests;
