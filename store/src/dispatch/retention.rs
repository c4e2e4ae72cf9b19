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

/// Records with one lifetime for everyone ([`domain::lifetimes`]): each names its table and
/// the condition under which a row is past its end, for a cutoff. Deleted in bounded batches
/// by [`delete_expired`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiring {
    /// Idempotency keys created before the cutoff.
    IdempotencyKeys,
    /// Sessions that expired before the cutoff.
    Sessions,
    /// E-mailed tokens (confirmation, magic link, reset) that expired before the cutoff.
    EmailTokens,
    /// Alert events processed before the cutoff with no send still pending, with their sends.
    AlertEvents,
    /// Test notifications made before the cutoff and no longer pending.
    TestNotifications,
    /// Account e-mails sent (or given up on) before the cutoff.
    SentMail,
    /// Invitations that ended (accepted, declined, revoked or expired) before the cutoff.
    Invites,
    /// Waitlist sign-ups made before the cutoff.
    Waitlist,
    /// Audit-log entries written before the cutoff.
    AuditLog,
    /// Usage counters of months that began before the cutoff.
    UsageCounters,
    /// Payment provider events received before the cutoff.
    BillingEvents,
}

impl Expiring {
    pub const ALL: [Expiring; 11] = [
        Expiring::IdempotencyKeys,
        Expiring::Sessions,
        Expiring::EmailTokens,
        Expiring::AlertEvents,
        Expiring::TestNotifications,
        Expiring::SentMail,
        Expiring::Invites,
        Expiring::Waitlist,
        Expiring::AuditLog,
        Expiring::UsageCounters,
        Expiring::BillingEvents,
    ];

    /// One bounded DELETE: `$1` the cutoff, `$2` the most rows it deletes.
    fn sql(self) -> &'static str {
        match self {
            Expiring::IdempotencyKeys => "DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(SELECT ctid FROM idempotency_keys WHERE created_at < $1 LIMIT $2))",
            Expiring::Sessions => "DELETE FROM sessions WHERE ctid = ANY(ARRAY(SELECT ctid FROM sessions WHERE expires_at < $1 LIMIT $2))",
            Expiring::EmailTokens => "DELETE FROM email_tokens WHERE ctid = ANY(ARRAY(SELECT ctid FROM email_tokens WHERE expires_at < $1 LIMIT $2))",
            Expiring::AlertEvents => {
                "DELETE FROM alert_events WHERE id = ANY(ARRAY(
                     SELECT e.id FROM alert_events e
                      WHERE e.processed_at < $1
                        AND NOT EXISTS (SELECT 1 FROM notification_deliveries d WHERE d.alert_event_id = e.id AND d.status = 'pending')
                      LIMIT $2))"
            }
            Expiring::TestNotifications => "DELETE FROM notification_deliveries WHERE id = ANY(ARRAY(SELECT id FROM notification_deliveries WHERE is_test AND status <> 'pending' AND created_at < $1 LIMIT $2))",
            Expiring::SentMail => "DELETE FROM outgoing_mail WHERE id = ANY(ARRAY(SELECT id FROM outgoing_mail WHERE status <> 'pending' AND coalesce(sent_at, created_at) < $1 LIMIT $2))",
            Expiring::Invites => "DELETE FROM invites WHERE id = ANY(ARRAY(SELECT id FROM invites WHERE coalesce(accepted_at, declined_at, revoked_at, expires_at) < $1 LIMIT $2))",
            Expiring::Waitlist => "DELETE FROM waitlist WHERE id = ANY(ARRAY(SELECT id FROM waitlist WHERE created_at < $1 LIMIT $2))",
            Expiring::AuditLog => "DELETE FROM audit_log WHERE id = ANY(ARRAY(SELECT id FROM audit_log WHERE created_at < $1 LIMIT $2))",
            Expiring::UsageCounters => "DELETE FROM usage_counters WHERE ctid = ANY(ARRAY(SELECT ctid FROM usage_counters WHERE month < ($1 AT TIME ZONE 'UTC')::date LIMIT $2))",
            Expiring::BillingEvents => "DELETE FROM billing_events WHERE id = ANY(ARRAY(SELECT id FROM billing_events WHERE received_at < $1 LIMIT $2))",
        }
    }

    /// The name logs and metrics use.
    pub fn name(self) -> &'static str {
        match self {
            Expiring::IdempotencyKeys => "idempotency_keys",
            Expiring::Sessions => "sessions",
            Expiring::EmailTokens => "email_tokens",
            Expiring::AlertEvents => "alert_events",
            Expiring::TestNotifications => "test_notifications",
            Expiring::SentMail => "outgoing_mail",
            Expiring::Invites => "invites",
            Expiring::Waitlist => "waitlist",
            Expiring::AuditLog => "audit_log",
            Expiring::UsageCounters => "usage_counters",
            Expiring::BillingEvents => "billing_events",
        }
    }
}

/// Deletes up to `limit` rows of `what` past their end for `cutoff`; call again while it
/// returns `limit`.
pub async fn delete_expired(db: impl PgExecutor<'_>, what: Expiring, cutoff: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
    Ok(sqlx::query(what.sql()).bind(cutoff).bind(limit).execute(db).await?.rows_affected())
}
